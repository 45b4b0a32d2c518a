"""``generate_chain``: the whole synthetic chain as landing files, live up to an end day."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

from lake.synthetic import writer
from lake.synthetic.bookings import bookings_frame, day_number, generate_bookings
from lake.synthetic.calibration import BUNDLED_EXTRACT, load_calibration
from lake.synthetic.camera_feed import generate_anomalies, generate_inspections
from lake.synthetic.folio import DAY, folio_frame
from lake.synthetic.guests import guests_frame
from lake.synthetic.property_master import BUNDLED_PROPERTIES, load_properties, select_properties
from lake.synthetic.randomness import stream
from lake.synthetic.rooms import build_inventory, rooms_frame
from lake.synthetic.staff import activity_window, generate_shifts, generate_staff
from lake.synthetic.writer import PartWriter, clear_previous, write_all

AHEAD_DAYS = 120


def today() -> date:
    """Today: the earlier of the local and the UTC date, so that nothing stamped before
    today's 00:00 UTC is later than now, wherever the clock is."""
    return min(date.today(), datetime.now(timezone.utc).date())


def generate_chain(
    out_dir: Path,
    bookings: int = 20_000,
    seed: int = 7,
    properties: list[str] | None = None,
    end: date | None = None,
    days: int = 730,
    ahead_days: int = AHEAD_DAYS,
    include_real_inventory: bool = True,
    properties_file: Path = BUNDLED_PROPERTIES,
    extract: Path = BUNDLED_EXTRACT,
) -> dict[str, int]:
    """Write a synthetic multi-property chain as landing files under out_dir (out_dir/pms,
    out_dir/attendance, out_dir/camera); return rows written per file kind.

    The chain as it stands on ``end`` (default today): ``bookings`` bookings, every one made
    on or before ``end``, arriving in the ``days`` days up to ``end`` or, on the books, in the
    ``ahead_days`` after it. A status (check-out, cancellation, no-show) dated after ``end``
    is not known yet: those bookings have no status and ``is_canceled`` 0. Time-stamped
    records (folio postings, shifts and attendance events, inspections, alerts) stop at
    ``end`` 00:00 UTC: a stay in progress has the nights posted so far, and staff and camera
    activity covers the last 60 days before ``end``.

    Deterministic: the same arguments (``end`` included) give byte-identical files.
    ``properties`` are names from the property master (default: every property with
    ``real: false``); the master's ``real: true`` properties are those of the extract whose
    bookings are the templates. The property master and the extract are the bundled ones
    unless given.
    """
    if bookings < 1:
        raise ValueError("bookings must be >= 1")
    if days < 1:
        raise ValueError("days must be >= 1")
    if ahead_days < 0:
        raise ValueError("ahead_days must be >= 0")
    end = today() if end is None else end
    cut = day_number(end) * DAY  # end 00:00 UTC, seconds since the epoch
    out_dir = Path(out_dir)
    pms, attendance, camera = out_dir / "pms", out_dir / "attendance", out_dir / "camera"
    for folder in (pms, attendance, camera):
        folder.mkdir(parents=True, exist_ok=True)
    clear_previous(pms, ["rooms", "guests", "bookings", "folio"])
    clear_previous(attendance, ["employees", "shifts", "events"])
    clear_previous(camera, ["inspections", "anomalies"])

    master = load_properties(properties_file)
    real = [p for p in master if p.real]
    calib = load_calibration(extract, tuple(p.name for p in real))
    props = select_properties(master, properties)
    extra = [p for p in real if p not in props] if include_real_inventory else []
    inv = build_inventory(props + extra)
    written: dict[str, int] = {}

    written["rooms"] = write_all(rooms_frame(inv, calib), pms, "rooms", float_precision=2)

    booked, guests = generate_bookings(
        inv, len(props), calib, bookings, stream(seed, "bookings"), end, days, ahead_days, real)
    written["guests"] = write_all(guests_frame(guests, calib, booked.countries, stream(seed, "guests")), pms, "guests")
    del guests
    # Bookings and their folio lines, a chunk of bookings at a time (bounded memory).
    folio_rng = stream(seed, "folio")
    bookings_out = PartWriter(pms, "bookings", float_precision=2)
    folio_out = PartWriter(pms, "folio", float_precision=2)
    for lo in range(0, bookings, writer.PART_ROWS):
        hi = min(bookings, lo + writer.PART_ROWS)
        bookings_out.write(bookings_frame(booked, inv, calib, lo, hi))
        folio_out.write(folio_frame(booked, inv, calib, lo, hi, folio_rng, folio_out.rows, cut))
    written["bookings"] = bookings_out.publish()
    written["folio"] = folio_out.publish()
    del booked

    first_day, n_days = activity_window(end, days)
    staff = generate_staff(props, stream(seed, "staff"), first_day)
    shifts, events = generate_shifts(staff, props, stream(seed, "shifts"), first_day, n_days, cut)
    written["employees"] = write_all(staff.employees, attendance, "employees")
    written["shifts"] = write_all(shifts, attendance, "shifts")
    written["events"] = write_all(events, attendance, "events", ext="jsonl")
    inspections = generate_inspections(inv, len(props), staff, stream(seed, "inspections"), first_day, n_days)
    written["inspections"] = write_all(inspections, camera, "inspections", ext="jsonl")
    anomalies = generate_anomalies(inv, len(props), stream(seed, "anomalies"), first_day, n_days)
    written["anomalies"] = write_all(anomalies, camera, "anomalies", ext="jsonl")
    return written
