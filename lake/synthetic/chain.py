"""``generate_chain``: the whole synthetic chain as landing files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from lake.synthetic import writer
from lake.synthetic.bookings import bookings_frame, generate_bookings
from lake.synthetic.calibration import BUNDLED_EXTRACT, load_calibration
from lake.synthetic.camera_feed import generate_anomalies, generate_inspections
from lake.synthetic.folio import folio_frame
from lake.synthetic.guests import guests_frame
from lake.synthetic.property_master import BUNDLED_PROPERTIES, load_properties, select_properties
from lake.synthetic.randomness import stream
from lake.synthetic.rooms import build_inventory, rooms_frame
from lake.synthetic.staff import activity_window, generate_shifts, generate_staff
from lake.synthetic.writer import PartWriter, clear_previous, write_all


def generate_chain(
    out_dir: Path,
    bookings: int = 20_000,
    seed: int = 7,
    properties: list[str] | None = None,
    start: date = date(2016, 1, 1),
    days: int = 730,
    include_real_inventory: bool = True,
    properties_file: Path = BUNDLED_PROPERTIES,
    extract: Path = BUNDLED_EXTRACT,
) -> dict[str, int]:
    """Write a synthetic multi-property chain as landing files under out_dir (out_dir/pms,
    out_dir/attendance, out_dir/camera); return rows written per file kind.

    Deterministic: the same arguments give byte-identical files. ``properties`` are names
    from the property master (default: every property with ``real: false``). Bookings
    arrive in [start, start + days); staff and camera activity covers the last 60 days.
    The property master and the real extract it is calibrated on are the bundled ones
    unless given.
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

    calib = load_calibration(extract)
    master = load_properties(properties_file)
    props = select_properties(master, properties)
    extra = [p for p in master if p.real and p not in props] if include_real_inventory else []
    inv = build_inventory(props + extra)
    written: dict[str, int] = {}

    written["rooms"] = write_all(rooms_frame(inv, calib), pms, "rooms", float_precision=2)

    booked, guests = generate_bookings(inv, len(props), calib, bookings, stream(seed, "bookings"), start, days)
    written["guests"] = write_all(guests_frame(guests, calib, booked.countries, stream(seed, "guests")), pms, "guests")
    del guests
    # Bookings and their folio lines, a chunk of bookings at a time (bounded memory).
    folio_rng = stream(seed, "folio")
    bookings_out = PartWriter(pms, "bookings", float_precision=2)
    folio_out = PartWriter(pms, "folio", float_precision=2)
    for lo in range(0, bookings, writer.PART_ROWS):
        hi = min(bookings, lo + writer.PART_ROWS)
        bookings_out.write(bookings_frame(booked, inv, calib, lo, hi))
        folio_out.write(folio_frame(booked, inv, calib, lo, hi, folio_rng, folio_out.rows))
    written["bookings"] = bookings_out.publish()
    written["folio"] = folio_out.publish()
    del booked

    first_day, n_days = activity_window(start, days)
    staff = generate_staff(props, stream(seed, "staff"), first_day)
    shifts, events = generate_shifts(staff, props, stream(seed, "shifts"), first_day, n_days)
    written["employees"] = write_all(staff.employees, attendance, "employees")
    written["shifts"] = write_all(shifts, attendance, "shifts")
    written["events"] = write_all(events, attendance, "events", ext="jsonl")
    inspections = generate_inspections(inv, len(props), staff, stream(seed, "inspections"), first_day, n_days)
    written["inspections"] = write_all(inspections, camera, "inspections", ext="jsonl")
    anomalies = generate_anomalies(inv, len(props), stream(seed, "anomalies"), first_day, n_days)
    written["anomalies"] = write_all(anomalies, camera, "anomalies", ext="jsonl")
    return written
