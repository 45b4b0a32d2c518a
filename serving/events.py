"""Events into the lake's landing zone: bookings, room status changes, staff attendance.

Each accepted event is one small file that an existing landing source reads unchanged, so
the landing sensor ingests it like any export (docs/data-contracts.md):

- attendance  -> ``landing/attendance/events-api-<ts>-<id>.jsonl`` (attendance_events)
- room_status -> ``landing/camera/inspections-api-<ts>-<id>.jsonl`` (room_inspections)
- booking     -> ``landing/pms/bookings-api-<ts>-<id>.csv`` (pms_bookings, reference layout)

``<ts>`` is the UTC time the event was received, ``<id>`` its event id: the client's
``event_id`` when it sends one, else a new uuid4. Re-posting an event id answers with the
file already written (nothing new lands); the same id with other content is a 409.

A file is written to a dot-named temp file in the same folder (no source reads it), read
back with the source's own reader and contract, and only then renamed into place: a file
the ingest would quarantine is never written (422 instead).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import threading
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import AwareDatetime, BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from lake.contracts import REASON
from lake.readers import read_csv, read_jsonl
from lake.sources import ATTENDANCE_EVENTS, PMS_BOOKINGS, ROOM_INSPECTIONS, Source
from lake.sources.pms import MONTHS, OPTIONAL_COLUMNS, REFERENCE_LAYOUT
from serving.auth import Principal, require
from serving.bookings import (CustomerType, DepositType, DistributionChannel, MarketSegment, Meal,
                              allowed_values)
from serving.hotels import find_hotel, known_hotels
from serving.errors import ApiError, ErrorDetail, ErrorResponse, InvalidRequest, error_responses

router = APIRouter(prefix="/api/v1/events", tags=["events"])

Kind = Literal["booking", "room_status", "attendance"]
# kind -> (landing folder, file-name prefix matching the source's pattern, extension, source)
LANDING: dict[str, tuple[str, str, str, Source]] = {
    "attendance": ("attendance", "events", "jsonl", ATTENDANCE_EVENTS),
    "room_status": ("camera", "inspections", "jsonl", ROOM_INSPECTIONS),
    "booking": ("pms", "bookings", "csv", PMS_BOOKINGS),
}
STAMP = "%Y%m%dT%H%M%S%fZ"
CLOCK_SKEW = timedelta(minutes=5)
BOOKING_COLUMNS = REFERENCE_LAYOUT + OPTIONAL_COLUMNS
RoomStatus = allowed_values(ROOM_INSPECTIONS.contract, "status")

_write_lock = threading.Lock()  # one find-or-write at a time in this process


class Conflict(ApiError):
    status_code = 409
    error = "conflict"


RESPONSES = {**error_responses(401, 403, 422, 429),
             409: {"model": ErrorResponse,
                   "description": "This event_id was already used for an event with other content."}}


def event_id_field():
    return Field(None, pattern=r"^[A-Za-z0-9_-]{1,64}$", examples=["pms-7f3a9c"], description=(
        "Your id for the event (letters, digits, _ and -): re-posting it is idempotent. "
        "Omitted: a new id is assigned."))


def timestamp_field(what: str):
    return Field(None, examples=["2025-01-17T08:30:00Z"],
                 description=f"When {what}, with a time zone; omitted: when it is received.")


def resolve_hotel(value: str) -> str:
    """The property master's name of a hotel given by name or code, case-insensitive."""
    hotel = find_hotel(value)
    if hotel is None:
        raise PydanticCustomError("unknown_hotel", "unknown hotel; known hotels: {known}",
                                  {"known": known_hotels()})
    return hotel.name


class EventAccepted(BaseModel):
    event_id: str = Field(description="The event's id (yours, or the one assigned).")
    kind: Kind
    received_at: datetime = Field(description="When the event was first received (UTC).")
    landing_file: str = Field(description="The file it landed in, relative to the landing zone.")
    status: Literal["accepted"] = "accepted"
    duplicate: bool = Field(False, description="True when this event_id had already landed.")

    model_config = {"json_schema_extra": {"examples": [{
        "event_id": "door-7", "kind": "attendance", "received_at": "2025-01-17T08:30:02.114Z",
        "landing_file": "attendance/events-api-20250117T083002114000Z-door-7.jsonl",
        "status": "accepted", "duplicate": False}]}}


class AttendanceEvent(BaseModel):
    """A check-in or check-out of an employee (face pipeline, door or desk)."""

    event_id: str | None = event_id_field()
    employee_id: str = Field(min_length=1, max_length=64)
    timestamp: AwareDatetime | None = timestamp_field("it happened")
    action: Literal["check_in", "check_out"]
    location: str | None = Field(None, max_length=128,
                                 description="The camera or door that saw it (camera_id in the lake).")
    confidence: float | None = Field(None, ge=0, le=1, description="Recognition confidence.")

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [{
        "employee_id": "EMP001", "timestamp": "2025-01-17T08:30:00Z", "action": "check_in",
        "location": "cam_lobby_01", "confidence": 0.98}]}}


class RoomStatusEvent(BaseModel):
    """A room's housekeeping status changed (lands as a room inspection)."""

    event_id: str | None = event_id_field()
    hotel: str = Field(description="Name or code of the property master.", examples=["City Hotel"])
    room_number: str = Field(pattern=r"^[A-Za-z0-9-]{1,16}$", examples=["201"])
    old_status: RoomStatus | None = Field(None, description=(
        "The status before; checked, not stored (room_inspections has no column for it)."))
    new_status: RoomStatus
    updated_by: str | None = Field(None, max_length=64, description=(
        "Who changed it (inspector_id in the lake); omitted: the caller's subject."))
    timestamp: AwareDatetime | None = timestamp_field("the status changed")

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [{
        "hotel": "City Hotel", "room_number": "201", "old_status": "dirty",
        "new_status": "clean", "updated_by": "EMP005", "timestamp": "2025-01-17T11:00:00Z"}]}}

    @field_validator("hotel")
    @classmethod
    def known_hotel(cls, value: str) -> str:
        return resolve_hotel(value)


def _count(default: int | None = 0, le: int | None = None, description: str | None = None):
    return Field(default, ge=0, le=le, description=description)


class GuestData(BaseModel):
    guest_id: str | None = Field(None, max_length=64, description="The PMS guest id (pms_guests).")
    country: str | None = Field(None, pattern=r"^[A-Z]{2,3}$", description="ISO country code.",
                                examples=["PRT"])
    adults: int = _count(2, 60)
    children: int = _count(0, 20)
    babies: int = _count(0, 20)
    is_repeated_guest: bool = False
    previous_cancellations: int = _count()
    previous_bookings_not_canceled: int = _count()
    customer_type: CustomerType = "Transient"

    model_config = {"extra": "forbid"}


class RoomData(BaseModel):
    reserved_room_type: str = Field(pattern=r"^[A-Z]$", description="A room type of the hotel.",
                                    examples=["A"])
    assigned_room_type: str | None = Field(None, pattern=r"^[A-Z]$",
                                           description="Omitted: the reserved type.")
    room_number: str | None = Field(None, pattern=r"^[A-Za-z0-9-]{1,16}$")
    meal: Meal = "BB"
    adr: float = Field(ge=0, le=10_000, description="Average daily rate (room revenue per night).")
    required_car_parking_spaces: int = _count(0, 20)
    total_of_special_requests: int = _count(0, 20)

    model_config = {"extra": "forbid"}


class BookingEvent(BaseModel):
    """A booking as it now stands. The lake keeps one row per booking_id and each event's
    row replaces it, so a modification or cancellation carries the whole booking too."""

    event_id: str | None = event_id_field()
    booking_id: str = Field(pattern=r"^[A-Za-z0-9_.:/-]{1,64}$", examples=["BOOK001"])
    event_type: Literal["new_booking", "modification", "cancellation"]
    hotel: str = Field(description="Name or code of the property master.", examples=["Resort Hotel"])
    arrival_date: date
    booking_date: date | None = Field(None, description=(
        "When it was booked; or give lead_time; neither: the day it is received."))
    lead_time: int | None = _count(None, 1500, "Days from booking to arrival.")
    stays_in_weekend_nights: int = _count(0, 365, "Saturday and Sunday nights.")
    stays_in_week_nights: int = _count(1, 365, "Monday to Friday nights.")
    market_segment: MarketSegment = "Direct"
    distribution_channel: DistributionChannel = "Direct"
    deposit_type: DepositType = "No Deposit"
    agent: str | None = Field(None, max_length=32)
    company: str | None = Field(None, max_length=32)
    booking_changes: int = _count()
    days_in_waiting_list: int = _count()
    timestamp: AwareDatetime | None = timestamp_field("the event happened in the PMS "
                                                      "(a cancellation's date)")
    guest_data: GuestData = Field(default_factory=GuestData)  # type: ignore[arg-type]
    room_data: RoomData

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [{
        "booking_id": "BOOK001", "event_type": "new_booking", "hotel": "Resort Hotel",
        "arrival_date": "2025-03-14", "booking_date": "2025-01-17",
        "stays_in_weekend_nights": 2, "stays_in_week_nights": 3,
        "market_segment": "Online TA", "distribution_channel": "TA/TO", "agent": "240",
        "guest_data": {"guest_id": "G000123", "country": "PRT", "adults": 2, "children": 1},
        "room_data": {"reserved_room_type": "A", "meal": "HB", "adr": 98.5,
                      "total_of_special_requests": 1}}]}}

    @field_validator("hotel")
    @classmethod
    def known_hotel(cls, value: str) -> str:
        return resolve_hotel(value)


# -- rendering: one event -> the text of its landing file ------------------------------------


def _utc(ts: datetime | None, received: datetime, field: str) -> datetime:
    if ts is None:
        return received
    if ts > received + CLOCK_SKEW:
        raise InvalidRequest(f"{field} {ts.isoformat()} is in the future", [ErrorDetail(
            field=f"body.{field}",
            problem=f"is after the time received ({received:%Y-%m-%dT%H:%M:%SZ})")])
    return ts.astimezone(timezone.utc)


def _iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def _json_line(row: dict) -> str:
    return json.dumps(row, ensure_ascii=False) + "\n"


def _cell(value) -> str:
    if value is None:
        return "NULL"  # as the real extract writes missing values
    if isinstance(value, bool):
        return str(int(value))
    return value.isoformat() if isinstance(value, date) else str(value)


def _booking_csv(e: BookingEvent, received: datetime) -> str:
    problems: list[ErrorDetail] = []
    booking_date = e.booking_date
    if booking_date is None:
        booking_date = (e.arrival_date - timedelta(days=e.lead_time) if e.lead_time is not None
                        else received.date())
    lead_time = (e.arrival_date - booking_date).days  # a given lead_time is within 0..1500
    field = "body.booking_date" if e.booking_date is not None else "body.arrival_date"
    if lead_time < 0:
        problems.append(ErrorDetail(field=field, problem=(
            f"arrival_date {e.arrival_date} is before the booking date {booking_date}"
            + ("" if e.booking_date else " (the day received: give booking_date or lead_time)"))))
    elif lead_time > 1500:
        problems.append(ErrorDetail(field=field, problem=(
            f"{lead_time} days before arrival: more than the 1500 the lake accepts")))
    if e.lead_time is not None and e.booking_date is not None and e.lead_time != lead_time:
        problems.append(ErrorDetail(field="body.lead_time", problem=(
            f"{e.lead_time} disagrees with booking_date and arrival_date ({lead_time} days)")))
    types = find_hotel(e.hotel).room_types
    for name in ("reserved_room_type", "assigned_room_type"):
        value = getattr(e.room_data, name)
        if value is not None and value not in types:
            problems.append(ErrorDetail(field=f"body.room_data.{name}", problem=(
                f"'{value}' is not a room type of {e.hotel} (one of {', '.join(types)})")))
    if problems:
        raise InvalidRequest("invalid booking: " + "; ".join(f"{d.field}: {d.problem}"
                                                              for d in problems), problems)
    at = _utc(e.timestamp, received, "timestamp")
    cancelled = e.event_type == "cancellation"
    nights = e.stays_in_weekend_nights + e.stays_in_week_nights
    g, r = e.guest_data, e.room_data
    row = {
        "hotel": e.hotel, "is_canceled": cancelled, "lead_time": lead_time,
        "arrival_date_year": e.arrival_date.year,
        "arrival_date_month": MONTHS[e.arrival_date.month - 1],
        "arrival_date_week_number": e.arrival_date.isocalendar().week,
        "arrival_date_day_of_month": e.arrival_date.day,
        "stays_in_weekend_nights": e.stays_in_weekend_nights,
        "stays_in_week_nights": e.stays_in_week_nights,
        **g.model_dump(exclude={"guest_id"}), **r.model_dump(exclude={"room_number"}),
        **e.model_dump(include={"market_segment", "distribution_channel", "deposit_type",
                                "agent", "company", "booking_changes", "days_in_waiting_list"}),
        # A live booking has no final status yet (the extract only knows concluded ones).
        "reservation_status": "Canceled" if cancelled else None,
        "reservation_status_date": at.date() if cancelled else None,
        "booking_id": e.booking_id, "guest_id": g.guest_id, "room_number": r.room_number,
        "arrival_date": e.arrival_date, "departure_date": e.arrival_date + timedelta(days=nights),
    }
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows([BOOKING_COLUMNS, [_cell(row[c]) for c in BOOKING_COLUMNS]])
    return out.getvalue()


# -- landing: find-or-write atomically -----------------------------------------------------


def _contract_problems(path: Path, source: Source) -> list[str]:
    """What the source's reader and contract would quarantine in this file."""
    parsed = read_jsonl(path, source.json_fields) if source.kind == "jsonl" else read_csv(path)[1]
    c = source.contract
    rows = c.apply_rules(source.derive(c.type_columns(parsed.rows)))
    return parsed.rejects["reason"].to_list() + rows[REASON].drop_nulls().to_list()


def land(request: Request, kind: Kind, event_id: str | None,
         render: Callable[[str, datetime], str]) -> EventAccepted:
    """Write the event's file (or find the one of an earlier post of the same event id);
    render(event_id, received_at) gives the file's text."""
    folder, prefix, ext, source = LANDING[kind]
    landing = request.app.state.settings.landing_dir
    directory = landing / folder
    given, event_id = event_id is not None, event_id or uuid.uuid4().hex
    named = re.compile(rf"{prefix}-api-(\d{{8}}T\d{{12}}Z)-{re.escape(event_id)}\.{ext}")
    with _write_lock:
        # Only a client's id can repeat: no folder scan for a fresh uuid.
        found = directory.glob(f"{prefix}-api-*-{event_id}.{ext}") if given else ()
        earlier = sorted(p for p in found if named.fullmatch(p.name))
        if earlier:
            path = earlier[0]
            stamp = named.fullmatch(path.name)[1]  # type: ignore[index]
            received = datetime.strptime(stamp, STAMP).replace(tzinfo=timezone.utc)
            # Rendered as of the first post (its defaults), so a true repeat is identical.
            if path.read_text(encoding="utf-8") != render(event_id, received):
                raise Conflict(f"event_id '{event_id}' already landed in "
                               f"{path.relative_to(landing)} with other content: "
                               "send a new event_id for a new event")
            return EventAccepted(event_id=event_id, kind=kind, received_at=received,
                                 landing_file=str(path.relative_to(landing)), duplicate=True)
        received = datetime.now(timezone.utc)
        text = render(event_id, received)
        path = directory / f"{prefix}-api-{received.strftime(STAMP)}-{event_id}.{ext}"
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            with tmp.open("w", encoding="utf-8", newline="") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            problems = _contract_problems(tmp, source)
            if problems:
                fields = [w for p in problems for w in re.findall(r"\w+", p)[:2]
                          if w in source.contract.names][:1] or ["body"]
                raise InvalidRequest(f"the event breaks the {source.name} contract: "
                                     + "; ".join(problems),
                                     [ErrorDetail(field=fields[0], problem="; ".join(problems))])
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    request.app.state.metrics.events.labels(kind).inc()
    return EventAccepted(event_id=event_id, kind=kind, received_at=received,
                         landing_file=str(path.relative_to(landing)), duplicate=False)


# -- routes --------------------------------------------------------------------------------


@router.post("/attendance", status_code=202, response_model=EventAccepted, responses=RESPONSES,
             summary="An employee checked in or out")
def attendance(event: AttendanceEvent, request: Request,
               principal: Principal = Depends(require("events:write"))) -> EventAccepted:
    """Lands the event in `landing/attendance/` for the **attendance_events** table (source
    `api`; `location` is stored as `camera_id`). Needs `events:write`."""
    def render(event_id: str, received: datetime) -> str:
        return _json_line({
            "event_id": event_id, "employee_id": event.employee_id,
            "timestamp": _iso(_utc(event.timestamp, received, "timestamp")),
            "action": event.action, "camera_id": event.location,
            "confidence": event.confidence, "source": "api"})

    return land(request, "attendance", event.event_id, render)


@router.post("/room_status", status_code=202, response_model=EventAccepted, responses=RESPONSES,
             summary="A room's housekeeping status changed")
def room_status(event: RoomStatusEvent, request: Request,
                principal: Principal = Depends(require("events:write"))) -> EventAccepted:
    """Lands the change in `landing/camera/` as a **room_inspections** row: inspection_id =
    event id, status = `new_status`, inspector_id = `updated_by` (default: the caller), no
    camera or tags. `old_status` is validated but not stored: the table has no column for
    it. Needs `events:write`."""
    def render(event_id: str, received: datetime) -> str:
        return _json_line({
            "inspection_id": event_id, "hotel": event.hotel, "room_number": event.room_number,
            "inspected_at": _iso(_utc(event.timestamp, received, "timestamp")),
            "camera_id": None, "inspector_id": event.updated_by or principal.subject,
            "status": event.new_status, "tags": [], "image_id": None})

    return land(request, "room_status", event.event_id, render)


@router.post("/booking", status_code=202, response_model=EventAccepted, responses=RESPONSES,
             summary="A booking was made, modified or cancelled")
def booking(event: BookingEvent, request: Request,
            principal: Principal = Depends(require("events:write"))) -> EventAccepted:
    """Lands the booking in `landing/pms/` as a one-row CSV in the real extract's layout
    (plus booking_id, guest_id, room_number, arrival and departure dates) for the
    **pms_bookings** table, merged by `booking_id`: the latest event's row wins (the
    ingest reads files in name order, and the name starts with the time received).

    A cancellation sets is_canceled, reservation_status `Canceled` and its date (the
    event's `timestamp`); a new or modified booking is not cancelled and has no final
    status yet. Needs `events:write`."""
    return land(request, "booking", event.event_id, lambda _, at: _booking_csv(event, at))
