"""``generate_chain``: the whole synthetic chain as landing files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from lake.synthetic.bookings import generate_bookings, bookings_frame
from lake.synthetic.calibration import load_calibration
from lake.synthetic.camera import generate_anomalies, generate_inspections
from lake.synthetic.folio import folio_frame
from lake.synthetic.guests import guests_frame
from lake.synthetic.properties import load_properties, select_properties
from lake.synthetic.randomness import stream
from lake.synthetic.rooms import build_inventory, rooms_frame
from lake.synthetic.staff import activity_window, generate_shifts, generate_staff
from lake.synthetic.writer import PART_ROWS, clear_previous, part_paths, write_csv, write_jsonl


def generate_chain(
    out_dir: Path,
    bookings: int = 20_000,
    seed: int = 7,
    properties: list[str] | None = None,
    start: date = date(2016, 1, 1),
    days: int = 730,
    include_real_inventory: bool = True,
) -> dict[str, int]:
    """Write a synthetic multi-property chain as landing files under out_dir (out_dir/pms,
    out_dir/attendance, out_dir/camera); return rows written per file kind.

    Deterministic: the same arguments give byte-identical files. ``properties`` are names
    from the property master (default: every property with ``real: false``). Bookings
    arrive in [start, start + days); staff and camera activity covers the last 60 days.
    """
    if bookings < 1:
        raise ValueError("bookings must be >= 1")
    if days < 1:
        raise ValueError("days must be >= 1")
    out_dir = Path(out_dir)
    pms, attendance, camera = out_dir / "pms", out_dir / "attendance", out_dir / "camera"
    for folder in (pms, attendance, camera):
        folder.mkdir(parents=True, exist_ok=True)
    clear_previous(pms, ["rooms", "guests", "bookings", "folio"])
    clear_previous(attendance, ["employees", "shifts", "events"])
    clear_previous(camera, ["inspections", "anomalies"])

    calib = load_calibration()
    master = load_properties()
    props = select_properties(master, properties)
    extra = [p for p in master if p.real and p not in props] if include_real_inventory else []
    inv = build_inventory(props + extra)
    written: dict[str, int] = {}

    written["rooms"] = write_csv(rooms_frame(inv, calib), pms / "rooms_chain.csv", float_precision=2)

    booked, guests = generate_bookings(inv, len(props), calib, bookings, stream(seed, "bookings"), start, days)
    written["guests"] = write_csv(
        guests_frame(guests, calib, booked.countries, stream(seed, "guests")), pms / "guests_chain.csv"
    )
    folio_rng = stream(seed, "folio")
    written["bookings"] = written["folio"] = 0
    booking_paths = part_paths(pms, "bookings", bookings)
    folio_paths = part_paths(pms, "folio", bookings)  # one folio part per bookings part
    for k, (b_path, f_path) in enumerate(zip(booking_paths, folio_paths)):
        lo, hi = k * PART_ROWS, min(bookings, (k + 1) * PART_ROWS)
        written["bookings"] += write_csv(bookings_frame(booked, inv, calib, lo, hi), b_path, float_precision=2)
        lines = folio_frame(booked, inv, calib, lo, hi, folio_rng, written["folio"])
        written["folio"] += write_csv(lines, f_path, float_precision=2)
    del booked, guests

    first_day, n_days = activity_window(start, days)
    staff = generate_staff(props, stream(seed, "staff"), first_day)
    shifts, events = generate_shifts(staff, props, stream(seed, "shifts"), first_day, n_days)
    written["employees"] = write_csv(staff.employees, attendance / "employees_chain.csv")
    written["shifts"] = write_csv(shifts, attendance / "shifts_chain.csv")
    written["events"] = write_jsonl(events, attendance / "events_chain.jsonl")
    written["inspections"] = write_jsonl(
        generate_inspections(inv, len(props), staff, stream(seed, "inspections"), first_day, n_days),
        camera / "inspections_chain.jsonl",
    )
    written["anomalies"] = write_jsonl(
        generate_anomalies(inv, len(props), stream(seed, "anomalies"), first_day, n_days),
        camera / "anomalies_chain.jsonl",
    )
    return written
