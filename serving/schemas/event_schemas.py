"""Request and response bodies of the event endpoints (`/api/v1/events`)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from lake.sources import ROOM_INSPECTIONS
from serving.schemas.booking_fields import (CustomerType, DepositType, DistributionChannel,
                                            MarketSegment, Meal, allowed_values)
from serving.services import hotel_lookup

Kind = Literal["booking", "room_status", "attendance", "anomaly"]
RoomStatus = allowed_values(ROOM_INSPECTIONS.contract, "status")


def event_id_field():
    return Field(None, pattern=r"^[A-Za-z0-9_-]{1,64}$", examples=["pms-7f3a9c"], description=(
        "Your id for the event (letters, digits, _ and -): re-posting it is idempotent. "
        "Omitted: a new id is assigned."))


def timestamp_field(what: str):
    return Field(None, description=f"When {what}, with a time zone (e.g. `Z` for UTC); "
                                   "omitted: when it is received.")


def hotel_name(value: str) -> str:
    """The property master's name of a hotel given by name or code, case-insensitive."""
    properties = hotel_lookup.current()
    hotel = properties.find(value)
    if hotel is None:
        raise PydanticCustomError("unknown_hotel", "unknown hotel; known hotels: {known}",
                                  {"known": properties.known()})
    return hotel.name


# The example's reception time: now (no fixed day).
_RECEIVED = datetime.now(timezone.utc).replace(microsecond=114000)


class EventAccepted(BaseModel):
    event_id: str = Field(description="The event's id (yours, or the one assigned).")
    kind: Kind
    received_at: datetime = Field(description="When the event was first received (UTC).")
    queued_to: Literal["spool", "rabbitmq"] = Field(description=(
        "The durable queue that holds it (the API's spool, or RabbitMQ) until it lands in "
        "landing/ with the next batch (within `INNSIGHT_EVENT_BATCH_SECONDS` for the spool; "
        "the landing sensor then ingests it)."))
    status: Literal["accepted"] = "accepted"
    duplicate: bool = Field(False, description="True when this event_id had been accepted "
                                               "before (nothing new is queued).")

    model_config = {"json_schema_extra": {"examples": [{
        "event_id": "door-7", "kind": "attendance",
        "received_at": _RECEIVED.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "queued_to": "spool",
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

    model_config = {"extra": "forbid"}  # examples: the route's, made of the served data


class RoomStatusEvent(BaseModel):
    """A room's housekeeping status changed (lands as a room inspection)."""

    event_id: str | None = event_id_field()
    hotel: str = Field(description="Name or code of the property master.")
    room_number: str = Field(pattern=r"^[A-Za-z0-9-]{1,16}$")
    old_status: RoomStatus | None = Field(None, description=(
        "The status before; checked, not stored (room_inspections has no column for it)."))
    new_status: RoomStatus
    updated_by: str | None = Field(None, max_length=64, description=(
        "Who changed it (inspector_id in the lake); omitted: the caller's subject."))
    timestamp: AwareDatetime | None = timestamp_field("the status changed")

    model_config = {"extra": "forbid"}  # examples: the route's, made of the served data

    @field_validator("hotel")
    @classmethod
    def known_hotel(cls, value: str) -> str:
        return hotel_name(value)


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
    reserved_room_type: str = Field(pattern=r"^[A-Z]$", description="A room type of the hotel.")
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
    hotel: str = Field(description="Name or code of the property master.")
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

    model_config = {"extra": "forbid"}  # examples: the route's, made of the served data

    @field_validator("hotel")
    @classmethod
    def known_hotel(cls, value: str) -> str:
        return hotel_name(value)
