"""A booking as the API takes it: the fields known when it is made, in the PMS reference
layout's names, with the allowed values of the lake's bookings contract (one source of
truth: a value the lake would quarantine is refused here with a 422)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lake.sources.pms import BOOKINGS_CONTRACT
from serving.services import hotel_lookup


def allowed_values(contract, column: str):
    """A Literal of a contract column's allowed values (so the OpenAPI page lists them)."""
    values = next(c.allowed for c in contract.columns if c.name == column)
    return Literal[tuple(sorted(values))]


Meal = allowed_values(BOOKINGS_CONTRACT, "meal")
MarketSegment = allowed_values(BOOKINGS_CONTRACT, "market_segment")
DistributionChannel = allowed_values(BOOKINGS_CONTRACT, "distribution_channel")
DepositType = allowed_values(BOOKINGS_CONTRACT, "deposit_type")
CustomerType = allowed_values(BOOKINGS_CONTRACT, "customer_type")


class BookingFields(BaseModel):
    """What is known of a booking when it is made."""

    # No example here: churn/predict's "new booking" example is made of the served data.
    model_config = ConfigDict(extra="forbid")

    hotel: str = Field(description="Hotel code or name, as the property master lists them.")
    arrival_date: date
    booking_date: date | None = Field(None, description="Defaults to arrival_date - lead_time.")
    lead_time: int | None = Field(None, ge=0, le=1500,
                                  description="Days from booking to arrival; needed without booking_date.")
    stays_in_weekend_nights: int = Field(0, ge=0, le=365)
    stays_in_week_nights: int = Field(1, ge=0, le=365)
    adults: int = Field(2, ge=0, le=60)
    children: int = Field(0, ge=0, le=20)
    babies: int = Field(0, ge=0, le=20)
    meal: Meal | None = None
    country: str | None = Field(None, min_length=2, max_length=3, description="ISO 3166 alpha-3.")
    market_segment: MarketSegment = "Online TA"
    distribution_channel: DistributionChannel | None = None
    customer_type: CustomerType | None = None
    deposit_type: DepositType = "No Deposit"
    agent: str | None = Field(None, max_length=32, description="Travel agent id, if any.")
    company: str | None = Field(None, max_length=32, description="Company id, if any.")
    reserved_room_type: str | None = Field(None, max_length=8)
    is_repeated_guest: bool = False
    previous_cancellations: int = Field(0, ge=0, le=100)
    previous_bookings_not_canceled: int = Field(0, ge=0, le=100)
    required_car_parking_spaces: int = Field(0, ge=0, le=10)
    total_of_special_requests: int = Field(0, ge=0, le=10)
    adr: float | None = Field(None, ge=0, le=100_000, description="Average daily rate.")

    @field_validator("hotel")
    @classmethod
    def _known_hotel(cls, value: str) -> str:
        properties = hotel_lookup.current()
        hotel = properties.find(value)
        if hotel is None:
            raise ValueError(f"unknown hotel; known hotels: {properties.known()}")
        return hotel.name  # the model knows hotels by name

    @model_validator(mode="after")
    def _dates(self) -> "BookingFields":
        if self.booking_date is None and self.lead_time is None:
            raise ValueError("give booking_date or lead_time")
        if self.booking_date is not None and self.booking_date > self.arrival_date:
            raise ValueError("booking_date is after arrival_date")
        if (self.booking_date is not None and self.lead_time is not None
                and (self.arrival_date - self.booking_date).days != self.lead_time):
            raise ValueError("lead_time disagrees with booking_date and arrival_date")
        if self.stays_in_weekend_nights + self.stays_in_week_nights == 0:
            raise ValueError("a stay has at least one night")
        return self
