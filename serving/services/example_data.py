"""Real values for the OpenAPI page's request examples (``serving.schemas.request_examples``):
a booking and a guest the online feature store knows, the booking's hotel and room type, a
room of that type, an employee, all read from the published marts file; and an open task
of the lake's ops/tasks with someone who may take it.

The online store may hold only some bookings (a materialisation window), so the bookings
of the marts are tried against it in chunks, the ones still on the books first.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from lake.properties import PropertyMaster
from lake.tables import TASKS
from operations.tasks import TaskBoard
from serving.schemas.request_examples import PLACEHOLDER, Sample
from serving.services.online_features import OnlineFeatures

log = logging.getLogger("innsight.serving")

CANDIDATES = 5_000  # bookings (and guests) tried against the online store at most
CHUNK = 500
# What a new booking's example copies from the sample booking (BookingFields' names).
BOOKING_FIELDS = ("stays_in_weekend_nights", "stays_in_week_nights", "adults", "children",
                  "babies", "meal", "country", "market_segment", "distribution_channel",
                  "customer_type", "deposit_type", "agent", "adr", "total_of_special_requests")


def _first_known(features: OnlineFeatures, service: str, key: str, values: list[str]) -> str | None:
    for start in range(0, len(values), CHUNK):
        known = features.known(service, key, values[start:start + CHUNK])
        if known:
            return known[0]
    return None


def _booking_fields(row: dict[str, Any]) -> dict[str, Any]:
    fields = {k: row[k] for k in BOOKING_FIELDS if row.get(k) is not None}
    if "adr" in fields:
        fields["adr"] = round(float(fields["adr"]), 2)
    if "agent" in fields:
        fields["agent"] = str(fields["agent"])
    if fields.get("stays_in_weekend_nights", 0) + fields.get("stays_in_week_nights", 1) == 0:
        fields["stays_in_week_nights"] = 1  # a day use: the API scores stays of a night or more
    return fields


def read_sample(marts_path: Path, features: OnlineFeatures, properties: PropertyMaster,
                tasks: TaskBoard | None = None) -> Sample:
    """The examples' values from the data; ``PLACEHOLDER`` when there is none yet (marts
    file not built, online store empty). With the task board, an open task of the lake and
    someone who may take it (placeholders while the lake has none)."""
    if not Path(marts_path).exists():
        return PLACEHOLDER
    try:
        with duckdb.connect(str(marts_path), read_only=True) as con:
            sample = _sample(con, features, properties) or PLACEHOLDER
    except Exception as e:  # a half-built platform: the page still opens, with placeholders
        log.warning("no request examples from the data: %s", e)
        return PLACEHOLDER
    if tasks is not None and sample.from_data:
        try:
            found = _open_task(tasks)
        except Exception as e:  # the lake unreadable: the task examples stay placeholders
            log.warning("no task example from the lake: %s", e)
            found = None
        if found:
            sample = replace(sample, task_id=found[0], task_assignee_id=found[1])
    return sample


def _open_task(board: TaskBoard) -> tuple[str, str] | None:
    """The newest task still open or assigned whose hotel and department have staff: its
    id, and its assignee (else the first employee who may take it)."""
    if not board.lake.exists(TASKS.name):
        return None
    tasks = board.lake.read(TASKS.name, columns=["task_id", "created_at", "hotel", "department",
                                                  "assignee_id", "status"])
    staff = board.roster.employees()
    for task in tasks.filter(pl.col("status").is_in(["open", "assigned"])).sort(
            ["created_at", "task_id"], descending=True).iter_rows(named=True):
        team = staff.filter((pl.col("hotel") == task["hotel"])
                            & (pl.col("department") == task["department"]))
        if task["assignee_id"] in team["employee_id"]:
            return task["task_id"], task["assignee_id"]
        if team.height:
            return task["task_id"], team.sort("employee_id")["employee_id"][0]
    return None


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _sample(con: duckdb.DuckDBPyConnection, features: OnlineFeatures,
            properties: PropertyMaster) -> Sample | None:
    # Bookings of hotels with rooms (the room recommender and room events need them), a
    # guest and a room type the property master knows; on the books first, newest first.
    bookings = _rows(con, """
        select b.* from fct_bookings b
        where b.guest_id is not null and b.reserved_room_type is not null
          and b.hotel in (select hotel from dim_rooms)
        order by (b.arrival_date > current_date and not b.is_canceled) desc,
                 b.booking_date desc, b.booking_id
        limit ?""", [CANDIDATES])
    bookings = [b for b in bookings if (h := properties.find(b["hotel"])) is not None
                and b["reserved_room_type"] in h.room_types]
    booking_id = _first_known(features, "cancellation", "booking_id", [b["booking_id"] for b in bookings])
    if booking_id is None:
        return None
    booking = next(b for b in bookings if b["booking_id"] == booking_id)
    hotel = properties.find(booking["hotel"])
    # A guest with past stays (the services recommender knows those), most stays first.
    guests = [r["guest_id"] for r in _rows(
        con, "select guest_id from dim_guests where stays > 0 order by stays desc, guest_id limit ?",
        [CANDIDATES])] + [booking["guest_id"]]
    guest_id = _first_known(features, "clv", "guest_id", guests)
    rooms = _rows(con, """select room_number from dim_rooms where hotel = ?
                          order by room_type = ? desc, room_number limit 1""",
                  [booking["hotel"], booking["reserved_room_type"]])
    employees = _rows(con, "select employee_id from fct_attendance where hotel = ? "
                           "order by shift_date desc, employee_id limit 1", [booking["hotel"]])
    if guest_id is None or not rooms or not employees:
        return None
    return Sample(today=date.today(), hotel=hotel.code, hotel_name=hotel.name, currency=hotel.currency,
                  room_type=booking["reserved_room_type"],
                  booking_id=booking_id, guest_id=guest_id,
                  employee_id=employees[0]["employee_id"], room_number=str(rooms[0]["room_number"]),
                  booking=_booking_fields(booking))
