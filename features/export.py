"""Feature sources: parquet exports of the marts that Feast's offline store reads.

Each source is one parquet file under ``<home>/feast/sources/``, written to a temporary file
and renamed over the previous one (a reader sees the old file or the new one, never a part).
Timestamps are microsecond UTC (``timestamp[us, tz=UTC]``), as the DuckDB offline store
needs. ``event_timestamp`` is when the row's values became known; ``created_at`` is when
the lake last wrote the underlying row (used by Feast to break ties).

A source is SQL over the marts, or a function of the marts connection that returns an Arrow
table (``guest_clv_inputs``: the CLV model's own feature code, so that training and serving
share one definition).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Callable

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from base.files import atomic_path
from features.config import StoreConfig
from features import inputs

# What a booking looks like when it is made: no outcome (is_canceled, reservation status and
# its date, no-show), nothing decided later (assigned room type, room change, booking
# changes, days on the waiting list) and no realised/lost revenue.
BOOKING_SQL = """
select
    booking_id,
    cast(booking_date as timestamptz) as event_timestamp,
    coalesce(_ingested_at, cast(booking_date as timestamptz)) as created_at,
    hotel,
    hotel_code,
    strftime(booking_date, '%Y-%m-%d') as booking_date,
    strftime(arrival_date, '%Y-%m-%d') as arrival_date,
    guest_id,
    lead_time,
    lead_time_bucket,
    arrival_year,
    arrival_month,
    arrival_week,
    cast(isodow(arrival_date) as integer) as arrival_day_of_week,
    season,
    nights,
    stays_in_weekend_nights,
    stays_in_week_nights,
    adults,
    children,
    babies,
    party_size,
    meal,
    country,
    market_segment,
    distribution_channel,
    customer_type,
    deposit_type,
    agent,
    company,
    reserved_room_type,
    is_repeated_guest,
    previous_cancellations,
    previous_bookings_not_canceled,
    required_car_parking_spaces,
    total_of_special_requests,
    adr,
    booked_revenue
from fct_bookings
where booking_id is not null and booking_date is not null
"""

# Profile attributes of the guest master, known from the profile's creation.
GUEST_PROFILE_SQL = """
select
    guest_id,
    cast(coalesce(created_at, date '1970-01-01') as timestamptz) as event_timestamp,
    cast(coalesce(created_at, date '1970-01-01') as timestamptz) as created_at,
    segment,
    loyalty_tier,
    country as guest_country,
    birth_year,
    email_domain
from dim_guests
where guest_id is not null
"""

# The RFM snapshot, valid as of its as_of_date (a training row dated before it gets nothing).
GUEST_VALUE_SQL = """
select
    guest_id,
    cast(as_of_date as timestamptz) as event_timestamp,
    cast(as_of_date as timestamptz) as created_at,
    bookings,
    stays,
    cancellations,
    cast(nights as bigint) as nights,
    room_revenue,
    ancillary_revenue,
    folio_fnb_amount,
    folio_spa_amount,
    folio_minibar_amount,
    monetary,
    frequency,
    recency_days,
    cast(as_of_date - first_stay_date as bigint) as tenure_days,
    avg_spend_per_stay,
    avg_spend_per_night,
    r_score,
    f_score,
    m_score
from fct_guest_value
where guest_id is not null and as_of_date is not null
"""

# A night's actuals are final once the night is over: event_timestamp = date + 1 day.
ROOM_TYPE_DAILY_SQL = """
select
    hotel_code,
    room_type,
    strftime(date, '%Y-%m-%d') as stay_date,
    cast(date + interval 1 day as timestamptz) as event_timestamp,
    cast(date + interval 1 day as timestamptz) as created_at,
    season,
    is_weekend,
    rooms_available,
    rooms_sold,
    room_revenue,
    occupancy,
    adr,
    revpar
from fct_daily_occupancy
where hotel_code is not null and room_type is not null and date is not null
"""

# Hotel-level night, rolled up as the mart says: ratios of sums, never averages of ratios.
HOTEL_DAILY_SQL = """
select
    hotel_code,
    strftime(date, '%Y-%m-%d') as stay_date,
    cast(date + interval 1 day as timestamptz) as event_timestamp,
    cast(date + interval 1 day as timestamptz) as created_at,
    cast(sum(rooms_available) as bigint) as hotel_rooms_available,
    cast(sum(rooms_sold) as bigint) as hotel_rooms_sold,
    sum(room_revenue) as hotel_room_revenue,
    sum(rooms_sold) / nullif(sum(rooms_available), 0) as hotel_occupancy,
    sum(room_revenue) / nullif(sum(rooms_sold), 0) as hotel_adr,
    sum(room_revenue) / nullif(sum(rooms_available), 0) as hotel_revpar
from fct_daily_occupancy
where hotel_code is not null and date is not null
group by hotel_code, date
"""

TIMESTAMP = pa.timestamp("us", tz="UTC")
GUEST_CLV_INPUTS_SCHEMA = pa.schema(
    [("guest_id", pa.string()), ("event_timestamp", TIMESTAMP), ("created_at", TIMESTAMP)]
    + [(name, pa.float64()) for name in inputs.NUMERIC_FEATURES]
    + [(name, pa.string()) for name in inputs.CATEGORICAL_FEATURES]
)


def guest_clv_inputs(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """``ml.inputs.guest_features`` as of the data's "now" (the day after the last arrival):
    exactly the CLV model's input, computed by the model's own code. Empty, with the same
    schema, when no booking carries a guest id (the real extract alone)."""
    try:
        as_of = inputs.data_range(con)[1] + timedelta(days=1)
    except ValueError:
        return GUEST_CLV_INPUTS_SCHEMA.empty_table()
    frame = inputs.guest_features(con, as_of)
    frame["event_timestamp"] = frame["created_at"] = pd.Timestamp(as_of, tz="UTC")
    return pa.Table.from_pandas(frame, schema=GUEST_CLV_INPUTS_SCHEMA, preserve_index=False)


SOURCES: dict[str, str | Callable[[duckdb.DuckDBPyConnection], pa.Table]] = {
    "booking_features": BOOKING_SQL,
    "guest_profile": GUEST_PROFILE_SQL,
    "guest_value": GUEST_VALUE_SQL,
    "room_type_daily": ROOM_TYPE_DAILY_SQL,
    "hotel_daily": HOTEL_DAILY_SQL,
    "guest_clv_inputs": guest_clv_inputs,
}


def export_sources(config: StoreConfig, marts_path: Path) -> dict[str, int]:
    """Write every feature source from the marts file; returns the row count per source."""
    marts_path = Path(marts_path)
    if not marts_path.exists():
        raise FileNotFoundError(f"Marts file {marts_path} not found: build the marts first.")
    config.sources_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    con = duckdb.connect(str(marts_path), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        for name, source in SOURCES.items():
            final = config.source_path(name)
            with atomic_path(final) as tmp:
                if isinstance(source, str):
                    con.execute(f"copy ({source}) to '{tmp}' (format parquet, compression zstd)")
                else:
                    pq.write_table(source(con), tmp, compression="zstd")
            row = con.execute(f"select count(*) from read_parquet('{final}')").fetchone()
            counts[name] = int(row[0]) if row else 0
    finally:
        con.close()
    return counts
