"""Events into the lake's landing zone: bookings, room status changes, staff attendance.

Each accepted event is rendered as the text an existing landing source reads unchanged and
queued on the event bus (``serving.services.event_inbox``: the API's spool, or RabbitMQ),
which lands the events in batches, one file per kind and batch, that the landing sensor
ingests like any export (docs/data-contracts.md):

- attendance  -> ``landing/attendance/events-api-<ts>-<batch>.jsonl`` (attendance_events)
- room_status -> ``landing/camera/inspections-api-<ts>-<batch>.jsonl`` (room_inspections)
- booking     -> ``landing/pms/bookings-api-<ts>-<batch>.csv`` (pms_bookings, reference layout)

``<ts>`` is the UTC time the batch was landed. An event's id is the client's ``event_id``
when it sends one, else a new uuid4. Re-posting an event id answers the first acceptance
(nothing new is queued); the same id with other content is a 409. An event the ingest
would quarantine is refused before it is queued (422).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Callable

from fastapi import APIRouter, Body
from pydantic import BaseModel

from lake.properties import PropertyMaster
from lake.sources.pms import MONTHS, OPTIONAL_COLUMNS, REFERENCE_LAYOUT
from serving.core.error_docs import documented, error_responses, invalid
from serving.core.errors import ErrorDetail, InvalidRequest
from serving.core.observability import Metrics
from serving.deps import EventWriter, Events, MetricsDep, Properties
from serving.schemas.event_schemas import (AttendanceEvent, BookingEvent, EventAccepted, Kind,
                                           RoomStatusEvent)
from serving.schemas.request_examples import examples_for
from serving.services.event_inbox import EVENT_ID_TAKEN, Conflict, EventInbox

router = APIRouter(prefix="/api/v1/events", tags=["events"])

CLOCK_SKEW = timedelta(minutes=5)
BOOKING_COLUMNS = REFERENCE_LAYOUT + OPTIONAL_COLUMNS


def responses(event: type[BaseModel], kind: Kind) -> dict:
    """The documented errors of the route of an event kind."""
    received = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    return error_responses(
        "events:write", invalid(event, {}, "Required fields missing"),
        documented(Conflict, EVENT_ID_TAKEN, "An event_id used before", event_id="door-7",
                   received_at=received.replace("+00:00", "Z")))


# The bodies, with their examples offered on the OpenAPI page.
AttendanceBody = Annotated[AttendanceEvent, Body(openapi_examples=examples_for(AttendanceEvent))]
RoomStatusBody = Annotated[RoomStatusEvent, Body(openapi_examples=examples_for(RoomStatusEvent))]
BookingBody = Annotated[BookingEvent, Body(openapi_examples=examples_for(BookingEvent))]


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


def _booking_csv(e: BookingEvent, received: datetime, properties: PropertyMaster) -> str:
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
    types = properties.find(e.hotel).room_types
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


# -- landing ------------------------------------------------------------------------------


def land(inbox: EventInbox, metrics: Metrics, kind: Kind, event_id: str | None,
         render: Callable[[str, datetime], str], key: str | None = None) -> EventAccepted:
    landed = inbox.land(kind, event_id, render, key)
    return _accepted(metrics, kind, landed)


async def land_async(inbox: EventInbox, metrics: Metrics, kind: Kind, event_id: str | None,
                     render: Callable[[str, datetime], str],
                     key: str | None = None) -> EventAccepted:
    """``land`` in an async route: no worker thread is held while the group commit runs."""
    return _accepted(metrics, kind, await inbox.land_async(kind, event_id, render, key))


def _accepted(metrics: Metrics, kind: Kind, landed) -> EventAccepted:
    if not landed.duplicate:
        metrics.events.labels(kind).inc()
    return EventAccepted(event_id=landed.event_id, kind=kind, received_at=landed.received_at,
                         queued_to=landed.queued_to, duplicate=landed.duplicate)


# -- routes --------------------------------------------------------------------------------


@router.post("/attendance", status_code=202, response_model=EventAccepted,
             responses=responses(AttendanceEvent, "attendance"),
             summary="An employee checked in or out")
async def attendance(event: AttendanceBody, principal: EventWriter, inbox: Events,
                     metrics: MetricsDep) -> EventAccepted:
    """Queues the event for `landing/attendance/` and the **attendance_events** table
    (source `api`; `location` is stored as `camera_id`); it lands with the next batch.
    Needs `events:write`."""
    def render(event_id: str, received: datetime) -> str:
        return _json_line({
            "event_id": event_id, "employee_id": event.employee_id,
            "timestamp": _iso(_utc(event.timestamp, received, "timestamp")),
            "action": event.action, "camera_id": event.location,
            "confidence": event.confidence, "source": "api"})

    return await land_async(inbox, metrics, "attendance", event.event_id, render)


@router.post("/room_status", status_code=202, response_model=EventAccepted,
             responses=responses(RoomStatusEvent, "room_status"),
             summary="A room's housekeeping status changed")
async def room_status(event: RoomStatusBody, principal: EventWriter, inbox: Events,
                      metrics: MetricsDep) -> EventAccepted:
    """Queues the change for `landing/camera/` as a **room_inspections** row: inspection_id =
    event id, status = `new_status`, inspector_id = `updated_by` (default: the caller), no
    camera or tags. `old_status` is validated but not stored: the table has no column for
    it. Needs `events:write`."""
    def render(event_id: str, received: datetime) -> str:
        return _json_line({
            "inspection_id": event_id, "hotel": event.hotel, "room_number": event.room_number,
            "inspected_at": _iso(_utc(event.timestamp, received, "timestamp")),
            "camera_id": None, "inspector_id": event.updated_by or principal.subject,
            "status": event.new_status, "tags": [], "image_id": None})

    return await land_async(inbox, metrics, "room_status", event.event_id, render)


@router.post("/booking", status_code=202, response_model=EventAccepted,
             responses=responses(BookingEvent, "booking"),
             summary="A booking was made, modified or cancelled")
async def booking(event: BookingBody, principal: EventWriter, inbox: Events,
                  metrics: MetricsDep, properties: Properties) -> EventAccepted:
    """Queues the booking for `landing/pms/` as a CSV row in the real extract's layout
    (plus booking_id, guest_id, room_number, arrival and departure dates) for the
    **pms_bookings** table, merged by `booking_id`: the latest event's row wins (a batch's
    file holds one row per booking, later events of a booking go to the batch's next
    files, and the ingest reads files in name order, which is batch order).

    A cancellation sets is_canceled, reservation_status `Canceled` and its date (the
    event's `timestamp`); a new or modified booking is not cancelled and has no final
    status yet. Needs `events:write`."""
    return await land_async(inbox, metrics, "booking", event.event_id,
                            lambda _, at: _booking_csv(event, at, properties),
                            key=event.booking_id)
