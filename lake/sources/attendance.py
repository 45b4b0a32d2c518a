"""Staff sources: employees, shift schedules and check-in/check-out events."""

from __future__ import annotations

import polars as pl

from lake.contracts import Col, Contract, Rule
from lake.sources.base import Source, known_hotel, stable_hash

STR, I32, F64, DATE = pl.String, pl.Int32, pl.Float64, pl.Date
TS = pl.Datetime("us", "UTC")
DEPARTMENTS = frozenset({"front_office", "housekeeping", "fnb", "spa", "maintenance",
                         "security", "management"})

EMPLOYEES = Source(
    name="employees",
    description="Employees of every property, with department and role.",
    folder="attendance",
    patterns=("employees*.csv", "employees*.csv.gz"),
    kind="csv",
    contract=Contract(
        columns=[Col("employee_id", STR, required=True), Col("hotel", STR, required=True),
                 Col("full_name", STR), Col("department", STR, required=True, allowed=DEPARTMENTS),
                 Col("role", STR), Col("hired_on", DATE)],
        rules=[known_hotel()],
    ),
    schema={"employee_id": STR, "hotel": STR, "full_name": STR, "department": STR,
            "role": STR, "hired_on": DATE},
    keys=["employee_id"],
)

SHIFTS = Source(
    name="shifts",
    description="Shift schedules: who is expected where and when.",
    folder="attendance",
    patterns=("shifts*.csv", "shifts*.csv.gz"),
    kind="csv",
    contract=Contract(
        columns=[Col("shift_id", STR, required=True), Col("employee_id", STR, required=True),
                 Col("hotel", STR, required=True), Col("shift_date", DATE, required=True),
                 Col("start_at", TS, required=True), Col("end_at", TS, required=True)],
        rules=[known_hotel(),
               Rule(reason="end_at is not after start_at",
                    ok=lambda ref: pl.col("end_at") > pl.col("start_at")),
               Rule(reason="shift longer than 16 hours",
                    ok=lambda ref: (pl.col("end_at") - pl.col("start_at")).dt.total_hours() <= 16)],
    ),
    schema={"shift_id": STR, "employee_id": STR, "hotel": STR, "shift_date": DATE,
            "start_at": TS, "end_at": TS},
    keys=["shift_id"],
)

EVENT_FIELDS = ["event_id", "employee_id", "timestamp", "action", "camera_id", "confidence", "source"]

ATTENDANCE_EVENTS = Source(
    name="attendance_events",
    description="Check-in / check-out events from the face pipeline or door systems.",
    folder="attendance",
    patterns=("events*.jsonl", "events*.jsonl.gz", "attendance*.jsonl"),
    kind="jsonl",
    json_fields=EVENT_FIELDS,
    contract=Contract(
        columns=[Col("event_id", STR), Col("employee_id", STR, required=True),
                 Col("timestamp", TS, required=True),
                 Col("action", STR, required=True, allowed=frozenset({"check_in", "check_out"})),
                 Col("camera_id", STR), Col("confidence", F64, min=0, max=1),
                 Col("source", STR, allowed=frozenset({"face", "door", "api"}))],
    ),
    schema={"event_id": STR, "employee_id": STR, "event_at": TS, "action": STR,
            "camera_id": STR, "confidence": F64, "source": STR},
    keys=["event_id"],
    insert_only=True,
    derive=lambda df, ref: df.rename({"timestamp": "event_at"}).with_columns(
        event_id=pl.coalesce("event_id", stable_hash(pl.col("employee_id"), pl.col("event_at"),
                                                     pl.col("action"))),
    ),
)
