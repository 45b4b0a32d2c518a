"""PMS sources: bookings (reference layout or a YAML mapping), guests, rooms, folio lines."""

from __future__ import annotations

from datetime import datetime, timezone

import polars as pl

from lake.contracts import Col, Contract, Reference, Rule
from lake.sources.base import Source, known_hotel, stable_hash

I32, F64, STR, BOOL, DATE = pl.Int32, pl.Float64, pl.String, pl.Boolean, pl.Date
TS = pl.Datetime("us", "UTC")
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]

# The 32 columns of the real extract, in its order and spelling.
REFERENCE_LAYOUT = [
    "hotel", "is_canceled", "lead_time", "arrival_date_year", "arrival_date_month",
    "arrival_date_week_number", "arrival_date_day_of_month", "stays_in_weekend_nights",
    "stays_in_week_nights", "adults", "children", "babies", "meal", "country",
    "market_segment", "distribution_channel", "is_repeated_guest", "previous_cancellations",
    "previous_bookings_not_canceled", "reserved_room_type", "assigned_room_type",
    "booking_changes", "deposit_type", "agent", "company", "days_in_waiting_list",
    "customer_type", "adr", "required_car_parking_spaces", "total_of_special_requests",
    "reservation_status", "reservation_status_date",
]
# Written by the synthetic chain and by PMSs that have ids; absent from the real extract.
OPTIONAL_COLUMNS = ["booking_id", "guest_id", "room_number", "arrival_date", "departure_date"]

# What is known when the booking is made: the derived key, stable when the status changes.
BOOKING_TIME_ATTRIBUTES = [
    "hotel", "arrival_date", "lead_time", "stays_in_weekend_nights", "stays_in_week_nights",
    "adults", "children", "babies", "meal", "country", "market_segment",
    "distribution_channel", "is_repeated_guest", "previous_cancellations",
    "previous_bookings_not_canceled", "reserved_room_type", "deposit_type", "agent",
    "company", "customer_type", "adr", "required_car_parking_spaces",
    "total_of_special_requests",
]


def _count(name: str, required: bool = False, max: float | None = None) -> Col:
    return Col(name, I32, required=required, min=0, max=max)


# A nightly rate above this many times the hotel's dearest base rate is a typo (an extra
# digit, cents for units), in any currency; the bundled extract's highest is 28 times.
RATE_CEILING = 50

BOOKINGS_CONTRACT = Contract(
    columns=[
        Col("hotel", STR, required=True),
        Col("is_canceled", BOOL, required=True),
        _count("lead_time", required=True, max=1500),
        Col("arrival_date_year", I32, min=2000, max=2100),
        Col("arrival_date_month", STR, allowed=frozenset(MONTHS)),
        Col("arrival_date_week_number", I32, min=1, max=53),
        Col("arrival_date_day_of_month", I32, min=1, max=31),
        _count("stays_in_weekend_nights", max=365),
        _count("stays_in_week_nights", max=365),
        _count("adults", required=True, max=60),
        _count("children", max=20),
        _count("babies", max=20),
        Col("meal", STR, allowed=frozenset({"BB", "FB", "HB", "SC", "Undefined"})),
        Col("country", STR),
        Col("market_segment", STR, required=True, allowed=frozenset({
            "Direct", "Corporate", "Online TA", "Offline TA/TO", "Complementary", "Groups",
            "Undefined", "Aviation"})),
        Col("distribution_channel", STR, allowed=frozenset({
            "Direct", "Corporate", "TA/TO", "Undefined", "GDS"})),
        Col("is_repeated_guest", BOOL),
        _count("previous_cancellations"),
        _count("previous_bookings_not_canceled"),
        Col("reserved_room_type", STR, required=True),
        Col("assigned_room_type", STR),
        _count("booking_changes"),
        Col("deposit_type", STR, allowed=frozenset({"No Deposit", "Refundable", "Non Refund"})),
        Col("agent", STR),
        Col("company", STR),
        _count("days_in_waiting_list"),
        Col("customer_type", STR, allowed=frozenset({
            "Transient", "Contract", "Transient-Party", "Group"})),
        Col("adr", F64, required=True, min=0),  # the ceiling is the hotel's own (rules)
        _count("required_car_parking_spaces", max=20),
        _count("total_of_special_requests", max=20),
        Col("reservation_status", STR, allowed=frozenset({"Check-Out", "Canceled", "No-Show"})),
        Col("reservation_status_date", DATE),
        Col("booking_id", STR),
        Col("guest_id", STR),
        Col("room_number", STR),
        Col("arrival_date", DATE),
        Col("departure_date", DATE),
    ],
    rules=[
        known_hotel(),
        Rule(reason=lambda: pl.format("invalid arrival date {}-{}-{}", pl.col("arrival_date_year"),
                                      pl.col("arrival_date_month"), pl.col("arrival_date_day_of_month")),
             ok=lambda ref: pl.col("arrival_date").is_not_null()),
        Rule(reason=lambda: pl.format("negative nights ({})", pl.col("nights")),
             ok=lambda ref: pl.col("nights") >= 0),
        Rule(reason=lambda: pl.format("adr {} is over {} times the hotel's highest base rate in "
                                      "the property master", pl.col("adr"), pl.lit(RATE_CEILING)),
             ok=lambda ref: pl.col("adr").is_null() | (pl.col("adr") <= pl.col("hotel").replace_strict(
                 ref.properties.rate_ceilings(RATE_CEILING), default=float("inf"), return_dtype=pl.Float64))),
    ],
)

BOOKINGS_SCHEMA = {
    "booking_id": STR, "hotel": STR, "is_canceled": BOOL, "lead_time": I32,
    "arrival_date": DATE, "booking_date": DATE, "arrival_week": I32,
    "stays_in_weekend_nights": I32, "stays_in_week_nights": I32, "nights": I32,
    "departure_date": DATE, "adults": I32, "children": I32, "babies": I32, "meal": STR,
    "country": STR, "market_segment": STR, "distribution_channel": STR,
    "is_repeated_guest": BOOL, "previous_cancellations": I32,
    "previous_bookings_not_canceled": I32, "reserved_room_type": STR,
    "assigned_room_type": STR, "booking_changes": I32, "deposit_type": STR, "agent": STR,
    "company": STR, "days_in_waiting_list": I32, "customer_type": STR, "adr": F64,
    "required_car_parking_spaces": I32, "total_of_special_requests": I32,
    "reservation_status": STR, "reservation_status_date": DATE, "room_revenue": F64,
    "guest_id": STR, "room_number": STR,
}


def _weekend_nights(arrival: pl.Expr, nights: pl.Expr) -> pl.Expr:
    """Saturday and Sunday nights in a stay, as the reference layout counts them (for PMSs
    that give only a departure date)."""
    start = arrival.dt.weekday() - 1  # Monday = 0
    partial = [((nights % 7) > k) & ((start + k) % 7).is_in([5, 6]) for k in range(7)]
    return (2 * (nights // 7) + pl.sum_horizontal(p.cast(pl.Int32) for p in partial)).cast(I32)


def derive_bookings(df: pl.DataFrame, ref: Reference) -> pl.DataFrame:
    month = pl.col("arrival_date_month").replace_strict(
        MONTHS, list(range(1, 13)), default=None, return_dtype=pl.Int32)
    first_of_month = pl.date(pl.col("arrival_date_year"), month, 1)
    from_parts = first_of_month + pl.duration(days=pl.col("arrival_date_day_of_month") - 1)
    # 30 February rolls into March: such a date is invalid, not moved.
    valid = from_parts.dt.month() == month
    df = df.with_columns(arrival_date=pl.coalesce("arrival_date", pl.when(valid).then(from_parts)))
    if df["departure_date"].null_count() < df.height:  # a PMS that gives departure dates
        stay = (pl.col("departure_date") - pl.col("arrival_date")).dt.total_days().cast(I32)
        weekend = _weekend_nights(pl.col("arrival_date"), stay)
        df = df.with_columns(
            stays_in_weekend_nights=pl.coalesce("stays_in_weekend_nights", weekend),
            stays_in_week_nights=pl.coalesce("stays_in_week_nights", stay - weekend),
        )
    df = df.with_columns(nights=(pl.col("stays_in_weekend_nights") + pl.col("stays_in_week_nights")).cast(I32))
    df = df.with_columns(
        booking_date=pl.col("arrival_date") - pl.duration(days=pl.col("lead_time")),
        departure_date=pl.col("arrival_date") + pl.duration(days=pl.col("nights")),
        arrival_week=pl.col("arrival_date").dt.week().cast(I32),
        room_revenue=(pl.col("adr") * pl.col("nights")).round(2),
        assigned_room_type=pl.coalesce("assigned_room_type", "reserved_room_type"),
    )
    without_id = df.filter(pl.col("booking_id").is_null())
    if without_id.is_empty():
        return df
    return pl.concat([df.filter(pl.col("booking_id").is_not_null()), _derive_booking_ids(without_id, ref)]
                     ).sort("_line_number")


def _derive_booking_ids(df: pl.DataFrame, ref: Reference) -> pl.DataFrame:
    """Without a PMS id: hotel code + hash of booking-time attributes + occurrence in file."""
    digest = stable_hash(*[pl.col(c) for c in BOOKING_TIME_ATTRIBUTES], length=12)
    df = df.with_columns(_digest=digest)
    occurrence = pl.int_range(1, pl.len() + 1).over("_digest", order_by="_line_number")
    code = pl.col("hotel").replace_strict(ref.properties.codes(), default="UNK", return_dtype=STR)
    derived = pl.format("{}-{}-{}", code, pl.col("_digest"), occurrence)
    return df.with_columns(booking_id=derived).drop("_digest")


PMS_BOOKINGS = Source(
    name="pms_bookings",
    description="Bookings from PMS exports (the real extract's layout, or a YAML mapping).",
    folder="pms",
    patterns=("*.csv", "*.csv.gz"),
    kind="csv",
    contract=BOOKINGS_CONTRACT,
    schema=BOOKINGS_SCHEMA,
    keys=["booking_id"],
    derive=derive_bookings,
)


def _this_year() -> int:
    return datetime.now(timezone.utc).year


GUESTS_CONTRACT = Contract(
    columns=[
        Col("guest_id", STR, required=True),
        Col("first_name", STR), Col("last_name", STR), Col("email", STR), Col("phone", STR),
        Col("country", STR),
        Col("birth_year", I32, min=1900),
        Col("segment", STR, allowed=frozenset({"business", "leisure", "corporate", "group"})),
        Col("loyalty_tier", STR, allowed=frozenset({"none", "silver", "gold", "platinum"})),
        Col("created_at", DATE),
    ],
    rules=[Rule(reason="malformed email (no @)",
                ok=lambda ref: pl.col("email").is_null() | pl.col("email").str.contains("@", literal=True)),
           # no birth year after the year the row is checked in (whichever year that is)
           Rule(reason=lambda: pl.format("birth_year {} is after this year ({})",
                                         pl.col("birth_year"), pl.lit(_this_year())),
                ok=lambda ref: pl.col("birth_year") <= _this_year())],
)


def derive_guests(df: pl.DataFrame, ref: Reference) -> pl.DataFrame:
    full_name = pl.concat_str([pl.col("first_name"), pl.col("last_name")], separator=" ",
                              ignore_nulls=True)
    return df.with_columns(
        name_token=ref.pseudonymiser.expr(full_name),
        email_token=ref.pseudonymiser.expr(pl.col("email")),
        phone_token=ref.pseudonymiser.expr(pl.col("phone").str.replace_all(r"[^0-9+]", "")),
        email_domain=pl.col("email").str.split("@").list.get(1, null_on_oob=True).str.to_lowercase(),
    )


PMS_GUESTS = Source(
    name="pms_guests",
    description="Guest profiles; names, emails and phones are pseudonymised at ingest.",
    folder="pms",
    patterns=("guests*.csv", "guests*.csv.gz"),
    kind="csv",
    contract=GUESTS_CONTRACT,
    schema={"guest_id": STR, "name_token": STR, "email_token": STR, "phone_token": STR,
            "email_domain": STR, "country": STR, "birth_year": I32, "segment": STR,
            "loyalty_tier": STR, "created_at": DATE},
    keys=["guest_id"],
    derive=derive_guests,
    redact=("first_name", "last_name", "email", "phone"),
)

PMS_ROOMS = Source(
    name="pms_rooms",
    description="Room inventory: every room of every property with its type and base rate.",
    folder="pms",
    patterns=("rooms*.csv", "rooms*.csv.gz"),
    kind="csv",
    contract=Contract(
        columns=[Col("hotel", STR, required=True), Col("room_number", STR, required=True),
                 Col("room_type", STR, required=True), Col("floor", I32, min=-5, max=200),
                 Col("max_occupancy", I32, min=1, max=20), Col("base_rate", F64, min=0)],
        rules=[known_hotel()],
    ),
    schema={"hotel": STR, "room_number": STR, "room_type": STR, "floor": I32,
            "max_occupancy": I32, "base_rate": F64},
    keys=["hotel", "room_number"],
)

PMS_FOLIO_LINES = Source(
    name="pms_folio_lines",
    description="Folio lines: room, F&B, spa and minibar charges posted to stays.",
    folder="pms",
    patterns=("folio*.csv", "folio*.csv.gz"),
    kind="csv",
    contract=Contract(
        columns=[Col("folio_line_id", STR, required=True), Col("booking_id", STR, required=True),
                 Col("hotel", STR, required=True), Col("guest_id", STR),
                 Col("posted_at", TS, required=True),
                 Col("category", STR, required=True,
                     allowed=frozenset({"room", "fnb", "spa", "minibar"})),
                 Col("description", STR), Col("quantity", I32, required=True, min=1),
                 Col("unit_price", F64, required=True, min=0),
                 Col("amount", F64, required=True, min=0)],
        rules=[known_hotel(),
               Rule(reason=lambda: pl.format("amount {} does not equal quantity × unit_price",
                                             pl.col("amount")),
                    ok=lambda ref: (pl.col("amount") - pl.col("quantity") * pl.col("unit_price")).abs() <= 0.011)],
    ),
    schema={"folio_line_id": STR, "booking_id": STR, "hotel": STR, "guest_id": STR,
            "posted_at": TS, "service_date": DATE, "category": STR, "description": STR,
            "quantity": I32, "unit_price": F64, "amount": F64},
    keys=["folio_line_id"],
    derive=lambda df, ref: df.with_columns(service_date=pl.col("posted_at").dt.date()),
)
