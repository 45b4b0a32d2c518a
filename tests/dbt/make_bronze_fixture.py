"""Scratch fixture: write the bronze Delta tables of docs/data-contracts.md for dbt tests.

    python tests/dbt/make_bronze_fixture.py LAKE_ROOT            # real extract + small synthetic tables
    python tests/dbt/make_bronze_fixture.py LAKE_ROOT --empty    # every table, 0 rows
    python tests/dbt/make_bronze_fixture.py LAKE_ROOT --real-only  # bookings only; other tables empty

Tables land in LAKE_ROOT/bronze/<table>. The real extract (data/hotel_bookings.csv.gz) has no
booking_id / guest_id / room_number; the fixture uses the row index as booking_id. A small
synthetic hotel (HAN, "Innsight Hanoi Old Quarter") gets bookings with guests and rooms so
that every join of the dbt project is exercised.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
from pathlib import Path

import polars as pl
from deltalake import write_deltalake

REPO = Path(__file__).resolve().parents[2]
EXTRACT = REPO / "data" / "hotel_bookings.csv.gz"
UTC = "UTC"
TS = pl.Datetime("us", UTC)

MONTHS = {m: i for i, m in enumerate(
    ["January", "February", "March", "April", "May", "June", "July", "August",
     "September", "October", "November", "December"], start=1)}

BOOKINGS_SCHEMA = {
    "booking_id": pl.String, "hotel": pl.String, "is_canceled": pl.Boolean,
    "lead_time": pl.Int32, "arrival_date": pl.Date, "booking_date": pl.Date,
    "arrival_week": pl.Int32, "stays_in_weekend_nights": pl.Int32,
    "stays_in_week_nights": pl.Int32, "nights": pl.Int32, "departure_date": pl.Date,
    "adults": pl.Int32, "children": pl.Int32, "babies": pl.Int32, "meal": pl.String,
    "country": pl.String, "market_segment": pl.String, "distribution_channel": pl.String,
    "is_repeated_guest": pl.Boolean, "previous_cancellations": pl.Int32,
    "previous_bookings_not_canceled": pl.Int32, "reserved_room_type": pl.String,
    "assigned_room_type": pl.String, "booking_changes": pl.Int32, "deposit_type": pl.String,
    "agent": pl.String, "company": pl.String, "days_in_waiting_list": pl.Int32,
    "customer_type": pl.String, "adr": pl.Float64, "required_car_parking_spaces": pl.Int32,
    "total_of_special_requests": pl.Int32, "reservation_status": pl.String,
    "reservation_status_date": pl.Date, "room_revenue": pl.Float64, "guest_id": pl.String,
    "room_number": pl.String,
}
SCHEMAS: dict[str, dict] = {
    "pms_bookings": BOOKINGS_SCHEMA,
    "pms_guests": {
        "guest_id": pl.String, "name_token": pl.String, "email_token": pl.String,
        "phone_token": pl.String, "email_domain": pl.String, "country": pl.String,
        "birth_year": pl.Int32, "segment": pl.String, "loyalty_tier": pl.String,
        "created_at": pl.Date,
    },
    "pms_rooms": {
        "hotel": pl.String, "room_number": pl.String, "room_type": pl.String,
        "floor": pl.Int32, "max_occupancy": pl.Int32, "base_rate": pl.Float64,
    },
    "pms_folio_lines": {
        "folio_line_id": pl.String, "booking_id": pl.String, "hotel": pl.String,
        "guest_id": pl.String, "posted_at": TS, "service_date": pl.Date, "category": pl.String,
        "description": pl.String, "quantity": pl.Int32, "unit_price": pl.Float64,
        "amount": pl.Float64,
    },
    "employees": {
        "employee_id": pl.String, "hotel": pl.String, "full_name": pl.String,
        "department": pl.String, "role": pl.String, "hired_on": pl.Date,
    },
    "shifts": {
        "shift_id": pl.String, "employee_id": pl.String, "hotel": pl.String,
        "shift_date": pl.Date, "start_at": TS, "end_at": TS,
    },
    "attendance_events": {
        "event_id": pl.String, "employee_id": pl.String, "event_at": TS, "action": pl.String,
        "camera_id": pl.String, "confidence": pl.Float64, "source": pl.String,
    },
    "room_inspections": {
        "inspection_id": pl.String, "hotel": pl.String, "room_number": pl.String,
        "inspected_at": TS, "camera_id": pl.String, "inspector_id": pl.String,
        "status": pl.String,
        "tags": pl.List(pl.Struct({"label": pl.String, "confidence": pl.Float64})),
        "image_id": pl.String,
    },
    "anomaly_alerts": {
        "alert_id": pl.String, "hotel": pl.String, "camera_id": pl.String,
        "detected_at": TS, "type": pl.String, "confidence": pl.Float64,
        "severity": pl.String, "box_x": pl.Int32, "box_y": pl.Int32, "box_w": pl.Int32,
        "box_h": pl.Int32,
    },
}
LINEAGE = {"_source_file": pl.String, "_batch_id": pl.String, "_ingested_at": TS,
           "_row_hash": pl.String}


def real_bookings() -> pl.DataFrame:
    raw = pl.read_csv(EXTRACT, infer_schema=False, null_values=["NULL", "NA"])
    i32 = pl.Int32
    df = raw.with_row_index("_idx").with_columns(
        booking_id=pl.col("_idx").cast(pl.String),
        is_canceled=pl.col("is_canceled") == "1",
        is_repeated_guest=pl.col("is_repeated_guest") == "1",
        arrival_date=pl.date(
            pl.col("arrival_date_year").cast(pl.Int32),
            pl.col("arrival_date_month").replace_strict(MONTHS, return_dtype=pl.Int8),
            pl.col("arrival_date_day_of_month").cast(pl.Int32),
        ),
        arrival_week=pl.col("arrival_date_week_number").cast(i32),
        reservation_status_date=pl.col("reservation_status_date").str.to_date("%Y-%m-%d"),
        adr=pl.col("adr").cast(pl.Float64),
        **{c: pl.col(c).cast(i32) for c in [
            "lead_time", "stays_in_weekend_nights", "stays_in_week_nights", "adults",
            "children", "babies", "previous_cancellations", "previous_bookings_not_canceled",
            "booking_changes", "days_in_waiting_list", "required_car_parking_spaces",
            "total_of_special_requests"]},
    ).filter(pl.col("adr") >= 0)  # the ingest quarantines the one negative adr
    df = df.with_columns(
        nights=(pl.col("stays_in_weekend_nights") + pl.col("stays_in_week_nights")).cast(i32),
        booking_date=pl.col("arrival_date") - pl.duration(days=pl.col("lead_time")),
    ).with_columns(
        departure_date=pl.col("arrival_date") + pl.duration(days=pl.col("nights")),
        room_revenue=pl.col("adr") * pl.col("nights"),
        guest_id=pl.lit(None, pl.String),
        room_number=pl.lit(None, pl.String),
    )
    return df.select([pl.col(c).cast(t) for c, t in BOOKINGS_SCHEMA.items()])


def synthetic(rng: random.Random) -> dict[str, pl.DataFrame]:
    hotel_name, hotel_code = "Innsight Hanoi Old Quarter", "HAN"
    inventory = {"A": (60, 70.0), "B": (20, 85.0), "D": (30, 105.0), "F": (8, 160.0)}
    rooms = []
    n = 0
    for rtype, (count, rate) in inventory.items():
        for _ in range(count):
            floor = 1 + n // 20
            rooms.append({"hotel": hotel_code, "room_number": f"{floor}{n % 20 + 1:02d}",
                          "room_type": rtype, "floor": floor, "max_occupancy": 2 + (rtype == "F"),
                          "base_rate": rate})
            n += 1
    segments = ["business", "leisure", "corporate", "group"]
    guests = [{
        "guest_id": f"G{i:05d}", "name_token": f"nt_{i:08x}", "email_token": f"et_{i:08x}",
        "phone_token": None if i % 7 == 0 else f"pt_{i:08x}", "email_domain": "example.com",
        "country": rng.choice(["VNM", "FRA", "USA", None]), "birth_year": 1950 + i % 50,
        "segment": segments[i % 4], "loyalty_tier": ["none", "silver", "gold", "platinum"][i % 4],
        "created_at": dt.date(2016, 1, 1) + dt.timedelta(days=i),
    } for i in range(60)]
    bookings, folio = [], []
    start = dt.date(2017, 3, 1)
    for i in range(400):
        room = rng.choice(rooms)
        arrival = start + dt.timedelta(days=rng.randrange(0, 60))
        lead = rng.randrange(0, 200)
        we, wk = rng.randrange(0, 3), rng.randrange(0, 5)
        nights = we + wk
        adr = round(room["base_rate"] * rng.uniform(0.8, 1.4), 2)
        canceled = rng.random() < 0.25
        guest = rng.choice(guests)["guest_id"] if i % 10 else None
        bid = f"HAN-{i:06d}"
        bookings.append({
            "booking_id": bid, "hotel": hotel_name, "is_canceled": canceled, "lead_time": lead,
            "arrival_date": arrival, "booking_date": arrival - dt.timedelta(days=lead),
            "arrival_week": arrival.isocalendar()[1], "stays_in_weekend_nights": we,
            "stays_in_week_nights": wk, "nights": nights,
            "departure_date": arrival + dt.timedelta(days=nights), "adults": 2, "children": 0,
            "babies": 0, "meal": "BB", "country": "VNM",
            "market_segment": rng.choice(["Online TA", "Direct", "Corporate", "Groups"]),
            "distribution_channel": "TA/TO", "is_repeated_guest": False,
            "previous_cancellations": 0, "previous_bookings_not_canceled": 0,
            "reserved_room_type": room["room_type"], "assigned_room_type": room["room_type"],
            "booking_changes": 0, "deposit_type": "No Deposit", "agent": None, "company": None,
            "days_in_waiting_list": 0, "customer_type": "Transient", "adr": adr,
            "required_car_parking_spaces": 0, "total_of_special_requests": 0,
            "reservation_status": "Canceled" if canceled else "Check-Out",
            "reservation_status_date": arrival, "room_revenue": adr * nights,
            "guest_id": guest, "room_number": room["room_number"],
        })
        if not canceled and nights:
            for k, cat in enumerate(["room", "fnb", "spa", "minibar"]):
                if cat != "room" and rng.random() < 0.5:
                    continue
                qty = nights if cat == "room" else rng.randrange(1, 4)
                price = adr if cat == "room" else round(rng.uniform(5, 60), 2)
                posted = dt.datetime.combine(arrival, dt.time(20, 0), dt.timezone.utc)
                folio.append({
                    "folio_line_id": f"F{i:06d}-{k}", "booking_id": bid, "hotel": hotel_code,
                    "guest_id": guest, "posted_at": posted, "service_date": arrival,
                    "category": cat, "description": cat, "quantity": qty, "unit_price": price,
                    "amount": round(qty * price, 2),
                })
    departments = ["front_office", "housekeeping", "fnb", "spa", "maintenance", "security",
                   "management"]
    employees = [{"employee_id": f"EMP{i:04d}", "hotel": hotel_code, "full_name": f"Emp {i}",
                  "department": departments[i % 7], "role": "staff",
                  "hired_on": dt.date(2015, 1, 1)} for i in range(1, 11)]
    shifts, events = [], []
    for d in range(7):
        day = dt.date(2017, 3, 1) + dt.timedelta(days=d)
        for e in employees:
            sid = f"S{e['employee_id']}-{day:%Y%m%d}"
            st = dt.datetime.combine(day, dt.time(7, 0), dt.timezone.utc)
            en = st + dt.timedelta(hours=8)
            shifts.append({"shift_id": sid, "employee_id": e["employee_id"], "hotel": hotel_code,
                           "shift_date": day, "start_at": st, "end_at": en})
            r = rng.random()
            if r < 0.1:
                continue  # absent
            late = dt.timedelta(minutes=rng.choice([-10, -3, 0, 2, 7, 25]))
            events.append({"event_id": f"E{sid}-in", "employee_id": e["employee_id"],
                           "event_at": st + late, "action": "check_in",
                           "camera_id": "cam_staff_entrance_01", "confidence": 0.95,
                           "source": "face"})
            if r < 0.2:
                continue  # forgot to check out
            events.append({"event_id": f"E{sid}-out", "employee_id": e["employee_id"],
                           "event_at": en + dt.timedelta(minutes=rng.randrange(-5, 30)),
                           "action": "check_out", "camera_id": "cam_staff_entrance_01",
                           "confidence": 0.9, "source": "door"})
    inspections = []
    labels = ["bed_unmade", "towel_on_floor", "trash", "bed_made"]
    for i in range(50):
        room = rooms[i % 12]
        tags = [{"label": rng.choice(labels), "confidence": round(rng.uniform(0.3, 1), 2)}
                for _ in range(rng.randrange(0, 3))]
        inspections.append({
            "inspection_id": f"I{i:05d}", "hotel": hotel_code, "room_number": room["room_number"],
            "inspected_at": dt.datetime(2017, 3, 1, 9, tzinfo=dt.timezone.utc)
            + dt.timedelta(hours=3 * i),
            "camera_id": "cam_room_01", "inspector_id": "EMP0002",
            "status": rng.choice(["clean", "dirty", "maintenance", "inspected"]),
            "tags": tags, "image_id": f"img{i}",
        })
    anomalies = [{
        "alert_id": f"A{i:04d}", "hotel": hotel_code, "camera_id": "cam_hallway_03",
        "detected_at": dt.datetime(2017, 3, 2, tzinfo=dt.timezone.utc) + dt.timedelta(hours=i),
        "type": ["fire", "flood", "intrusion", "smoke"][i % 4], "confidence": 0.8,
        "severity": ["low", "medium", "high", "critical"][i % 4], "box_x": 1, "box_y": 2,
        "box_w": 3, "box_h": 4} for i in range(8)]
    out = {"pms_bookings": bookings, "pms_guests": guests, "pms_rooms": rooms,
           "pms_folio_lines": folio, "employees": employees, "shifts": shifts,
           "attendance_events": events, "room_inspections": inspections,
           "anomaly_alerts": anomalies}
    return {k: pl.DataFrame(v, schema=SCHEMAS[k]) for k, v in out.items()}


def with_lineage(df: pl.DataFrame, table: str) -> pl.DataFrame:
    now = dt.datetime.now(dt.timezone.utc)
    return df.with_columns(
        _source_file=pl.lit(f"landing/fixture/{table}"), _batch_id=pl.lit("fixture-batch"),
        _ingested_at=pl.lit(now, dtype=TS),
    ).with_columns(_row_hash=pl.Series([str(hash(r)) for r in df.select(
        pl.exclude(pl.List(pl.Struct({"label": pl.String, "confidence": pl.Float64})))
    ).iter_rows()], dtype=pl.String))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("lake_root", type=Path)
    ap.add_argument("--empty", action="store_true")
    ap.add_argument("--real-only", action="store_true")
    args = ap.parse_args()
    rng = random.Random(7)
    tables = {k: pl.DataFrame(schema=s) for k, s in SCHEMAS.items()}
    if not args.empty:
        syn = synthetic(rng)
        if args.real_only:
            tables["pms_bookings"] = real_bookings()
        else:
            tables = syn
            tables["pms_bookings"] = pl.concat([real_bookings(), syn["pms_bookings"]])
    for name, df in tables.items():
        path = args.lake_root / "bronze" / name
        if path.exists():
            shutil.rmtree(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_deltalake(str(path), with_lineage(df, name).to_arrow(), mode="overwrite")
        print(f"{name}: {df.height} rows -> {path}")


if __name__ == "__main__":
    main()
