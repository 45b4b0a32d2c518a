"""Entities, feature views and feature services of the Innsight feature repository.

Built by a function, not at import time, because the sources' paths follow the store's
folder. Entities and their join keys:

=========  ==============  ==========================================
entity     join key        value
=========  ==============  ==========================================
booking    booking_id      fct_bookings.booking_id
guest      guest_id        dim_guests.guest_id
hotel      hotel_code      dim_hotels.hotel_code (RH, CH, HAN, ...)
room_type  room_type       room type code (A, B, ...)
date       stay_date       the night, ISO string ``YYYY-MM-DD``
=========  ==============  ==========================================

Feature services, one per model: ``cancellation`` (the booking-time fields the cancellation model reads;
``booking`` has them all), ``clv``
(``guest_clv_inputs``: the CLV model's input, ``features.inputs.guest_features`` as of the data's
end), ``pricing`` (room-type night and hotel night actuals); and ``guest_360`` (guest
profile + RFM value of the marts), a guest's picture for the assistant, no model's input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
from feast.types import Bool, Float64, Int32, Int64, String

from features.config import StoreConfig
from features.inputs import BOOKING_COLUMNS, CATEGORICAL_FEATURES, NUMERIC_FEATURES

OWNER = "data-platform@innsight"

booking = Entity(
    name="booking", join_keys=["booking_id"], value_type=ValueType.STRING,
    description="A booking of fct_bookings.",
)
guest = Entity(
    name="guest", join_keys=["guest_id"], value_type=ValueType.STRING,
    description="A guest of the guest master (dim_guests).",
)
hotel = Entity(
    name="hotel", join_keys=["hotel_code"], value_type=ValueType.STRING,
    description="A property, by its code (dim_hotels.hotel_code).",
)
room_type = Entity(
    name="room_type", join_keys=["room_type"], value_type=ValueType.STRING,
    description="A room type code of a property's inventory.",
)
date = Entity(
    name="date", join_keys=["stay_date"], value_type=ValueType.STRING,
    description="A night, as an ISO date string YYYY-MM-DD (the night starting that day).",
)
ENTITIES = [booking, guest, hotel, room_type, date]


def _source(name: str, config: StoreConfig) -> FileSource:
    return FileSource(
        name=f"{name}_source",
        path=str(config.source_path(name)),
        timestamp_field="event_timestamp",
        created_timestamp_column="created_at",
        description=f"Parquet export of the marts: {name} (features.export).",
    )


BOOKING_FIELDS = [
    Field(name="hotel", dtype=String),
    Field(name="hotel_code", dtype=String),
    Field(name="booking_date", dtype=String),  # ISO dates: the cancellation model's input
    Field(name="arrival_date", dtype=String),
    Field(name="guest_id", dtype=String),
    Field(name="lead_time", dtype=Int32),
    Field(name="lead_time_bucket", dtype=String),
    Field(name="arrival_year", dtype=Int64),
    Field(name="arrival_month", dtype=Int64),
    Field(name="arrival_week", dtype=Int32),
    Field(name="arrival_day_of_week", dtype=Int32),
    Field(name="season", dtype=String),
    Field(name="nights", dtype=Int32),
    Field(name="stays_in_weekend_nights", dtype=Int32),
    Field(name="stays_in_week_nights", dtype=Int32),
    Field(name="adults", dtype=Int32),
    Field(name="children", dtype=Int32),
    Field(name="babies", dtype=Int32),
    Field(name="party_size", dtype=Int32),
    Field(name="meal", dtype=String),
    Field(name="country", dtype=String),
    Field(name="market_segment", dtype=String),
    Field(name="distribution_channel", dtype=String),
    Field(name="customer_type", dtype=String),
    Field(name="deposit_type", dtype=String),
    Field(name="agent", dtype=String),
    Field(name="company", dtype=String),
    Field(name="reserved_room_type", dtype=String),
    Field(name="is_repeated_guest", dtype=Bool),
    Field(name="previous_cancellations", dtype=Int32),
    Field(name="previous_bookings_not_canceled", dtype=Int32),
    Field(name="required_car_parking_spaces", dtype=Int32),
    Field(name="total_of_special_requests", dtype=Int32),
    Field(name="adr", dtype=Float64),
    Field(name="booked_revenue", dtype=Float64),
]

GUEST_PROFILE_FIELDS = [
    Field(name="segment", dtype=String),
    Field(name="loyalty_tier", dtype=String),
    Field(name="guest_country", dtype=String),
    Field(name="birth_year", dtype=Int32),
    Field(name="email_domain", dtype=String),
]

GUEST_VALUE_FIELDS = [
    Field(name=name, dtype=Int64)
    for name in ("bookings", "stays", "cancellations", "nights", "frequency", "recency_days",
                 "tenure_days", "r_score", "f_score", "m_score")
] + [
    Field(name=name, dtype=Float64)
    for name in ("room_revenue", "ancillary_revenue", "folio_fnb_amount", "folio_spa_amount",
                 "folio_minibar_amount", "monetary", "avg_spend_per_stay", "avg_spend_per_night")
]

# features.inputs.FEATURES, in its order: the CLV model reads these columns by name.
GUEST_CLV_INPUT_FIELDS = [Field(name=name, dtype=Float64) for name in NUMERIC_FEATURES] + [
    Field(name=name, dtype=String) for name in CATEGORICAL_FEATURES
]

ROOM_TYPE_DAILY_FIELDS = [
    Field(name="season", dtype=String),
    Field(name="is_weekend", dtype=Bool),
    Field(name="rooms_available", dtype=Int32),
    Field(name="rooms_sold", dtype=Int64),
    Field(name="room_revenue", dtype=Float64),
    Field(name="occupancy", dtype=Float64),
    Field(name="adr", dtype=Float64),
    Field(name="revpar", dtype=Float64),
]

HOTEL_DAILY_FIELDS = [
    Field(name="hotel_rooms_available", dtype=Int64),
    Field(name="hotel_rooms_sold", dtype=Int64),
    Field(name="hotel_room_revenue", dtype=Float64),
    Field(name="hotel_occupancy", dtype=Float64),
    Field(name="hotel_adr", dtype=Float64),
    Field(name="hotel_revpar", dtype=Float64),
]


@dataclass
class Repository:
    entities: list[Entity]
    views: dict[str, FeatureView]
    services: dict[str, FeatureService]
    objects: list[Any] = field(default_factory=list)


def build(config: StoreConfig) -> Repository:
    """Every Feast object of the repository, its sources in the store's folder."""
    views = {
        "booking_features": FeatureView(
            name="booking_features",
            entities=[booking],
            ttl=timedelta(0),  # a booking's booking-time fields never expire
            schema=BOOKING_FIELDS,
            source=_source("booking_features", config),
            online=True,
            description="What is known of a booking when it is made (fct_bookings); "
                        "event time = booking_date. No outcome, no later change.",
            owner=OWNER,
        ),
        "guest_profile": FeatureView(
            name="guest_profile",
            entities=[guest],
            ttl=timedelta(0),
            schema=GUEST_PROFILE_FIELDS,
            source=_source("guest_profile", config),
            description="Guest master attributes (dim_guests); event time = profile creation.",
            owner=OWNER,
        ),
        "guest_value": FeatureView(
            name="guest_value",
            entities=[guest],
            ttl=timedelta(0),
            schema=GUEST_VALUE_FIELDS,
            source=_source("guest_value", config),
            description="RFM and value of a guest (fct_guest_value); event time = as_of_date "
                        "of the snapshot.",
            owner=OWNER,
        ),
        "guest_clv_inputs": FeatureView(
            name="guest_clv_inputs",
            entities=[guest],
            ttl=timedelta(0),
            schema=GUEST_CLV_INPUT_FIELDS,
            source=_source("guest_clv_inputs", config),
            description="The CLV model's input: features.inputs.guest_features as of the data's end "
                        "(the day after the last arrival; event time = that day), so that "
                        "training and serving share one definition.",
            owner=OWNER,
        ),
        "room_type_daily": FeatureView(
            name="room_type_daily",
            entities=[hotel, room_type, date],
            ttl=timedelta(0),
            schema=ROOM_TYPE_DAILY_FIELDS,
            source=_source("room_type_daily", config),
            description="Occupancy, ADR and RevPAR of a hotel x room type x night "
                        "(fct_daily_occupancy); event time = the morning after the night.",
            owner=OWNER,
        ),
        "hotel_daily": FeatureView(
            name="hotel_daily",
            entities=[hotel, date],
            ttl=timedelta(0),
            schema=HOTEL_DAILY_FIELDS,
            source=_source("hotel_daily", config),
            description="Hotel-level night (sums over room types of fct_daily_occupancy); "
                        "event time = the morning after the night.",
            owner=OWNER,
        ),
    }
    services = {
        "booking": FeatureService(
            name="booking", features=[views["booking_features"]],
            description="Every booking-time field of a booking (entity: booking_id).", owner=OWNER,
        ),
        "cancellation": FeatureService(
            # only what the cancellation model reads: each online read converts every feature
            name="cancellation", features=[views["booking_features"][BOOKING_COLUMNS]],
            description="The cancellation model's input (entity: booking_id).", owner=OWNER,
        ),
        "clv": FeatureService(
            name="clv", features=[views["guest_clv_inputs"]],
            description="12-month guest value, retention and segment: the CLV model's input "
                        "(entity: guest_id).", owner=OWNER,
        ),
        "guest_360": FeatureService(
            name="guest_360", features=[views["guest_profile"], views["guest_value"]],
            description="A guest's profile and RFM value from the marts (entity: guest_id).",
            owner=OWNER,
        ),
        "pricing": FeatureService(
            name="pricing", features=[views["room_type_daily"], views["hotel_daily"]],
            description="Demand and price per hotel x room type x night "
                        "(entities: hotel_code, room_type, stay_date).", owner=OWNER,
        ),
    }
    objects = [*ENTITIES, *views.values(), *services.values()]
    return Repository(entities=list(ENTITIES), views=views, services=services, objects=objects)
