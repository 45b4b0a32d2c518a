"""Model inputs defined once, for training and for serving: the booking-time fields the
cancellation model reads, and a guest's history as of a date (the CLV model's input), read
from nothing dated on or after that date (bookings made, statuses settled, extras served).

The feature store exports and serves exactly these; the models in ``ml`` train on them.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

EXTRA_CATEGORIES = ("fnb", "spa", "minibar")

# Booking fields the model reads (the booking-time columns of fct_bookings).
BOOKING_COLUMNS = [
    "hotel", "booking_date", "arrival_date", "lead_time", "stays_in_weekend_nights",
    "stays_in_week_nights", "adults", "children", "babies", "meal", "country",
    "market_segment", "distribution_channel", "customer_type", "deposit_type", "agent",
    "company", "reserved_room_type", "is_repeated_guest", "previous_cancellations",
    "previous_bookings_not_canceled", "required_car_parking_spaces",
    "total_of_special_requests", "adr",
]


NUMERIC_FEATURES = [
    "history_years", "tenure_days", "recency_days", "bookings_per_year", "stays_per_year",
    "cancellation_rate", "nights_per_year", "avg_nights", "avg_lead_time", "avg_party_size",
    "avg_adr", "room_revenue_per_year", "fnb_per_year", "spa_per_year", "minibar_per_year",
    "extras_share", "monetary_per_year", "avg_spend_per_stay", "hotels_visited",
    "upcoming_bookings", "upcoming_nights", "upcoming_revenue",
]
CATEGORICAL_FEATURES = ["segment", "home_hotel"]
FEATURES = NUMERIC_FEATURES + CATEGORICAL_FEATURES


def data_range(marts: duckdb.DuckDBPyConnection, as_of: date | None = None) -> tuple[date, date]:
    """First and last arrival, on or before ``as_of`` (default: yesterday), of the bookings
    made by then that carry a guest id: bookings still on the books for later arrivals are
    not data yet."""
    as_of = as_of or date.today() - timedelta(days=1)
    lo, hi = marts.execute(
        """select min(arrival_date), max(arrival_date) from fct_bookings
           where guest_id is not null and arrival_date <= $as_of
             and coalesce(booking_date, arrival_date) <= $as_of""", {"as_of": as_of}
    ).fetchone()
    if lo is None:
        raise ValueError(f"no booking with a guest_id arrived by {as_of}: guest value needs guest ids "
                         "(the synthetic chain, or a PMS that exports them)")
    return lo, hi


def guest_features(marts: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """One row per guest with a booking made before ``as_of``: features from what the PMS
    knew then (stays arrived before, cancellations dated before, bookings on the books for
    later arrivals, folio extras served before), keyed by guest_id. A cancellation settled
    later is not known: such a booking counts as booked."""
    start, _ = data_range(marts, as_of - timedelta(days=1))
    history_years = max((as_of - start).days / 365.25, 1 / 12)
    frame = marts.execute(
        """
        with b as (
            select guest_id, hotel, booking_date, arrival_date, nights, lead_time, party_size, adr,
                   booked_revenue,
                   arrival_date < $as_of as arrived,
                   is_canceled and reservation_status_date < $as_of as cancelled_known
            from fct_bookings
            where guest_id is not null and booking_date < $as_of
        ),
        past as (
            select guest_id,
                   count(*) filter (where arrived or cancelled_known) as bookings,
                   count(*) filter (where arrived and not cancelled_known) as stays,
                   count(*) filter (where cancelled_known) as cancellations,
                   coalesce(sum(nights) filter (where arrived and not cancelled_known), 0) as nights,
                   avg(nights) filter (where arrived and not cancelled_known) as avg_nights,
                   avg(lead_time) as avg_lead_time,
                   avg(party_size) as avg_party_size,
                   avg(adr) filter (where arrived and not cancelled_known) as avg_adr,
                   coalesce(sum(booked_revenue) filter (where arrived and not cancelled_known), 0)
                       as room_revenue,
                   min(booking_date) as first_booking,
                   max(arrival_date) filter (where arrived and not cancelled_known) as last_stay,
                   count(distinct hotel) as hotels_visited,
                   count(*) filter (where not arrived and not cancelled_known) as upcoming_bookings,
                   coalesce(sum(nights) filter (where not arrived and not cancelled_known), 0) as upcoming_nights,
                   coalesce(sum(booked_revenue) filter (where not arrived and not cancelled_known), 0)
                       as upcoming_revenue
            from b group by guest_id
        ),
        home as (
            -- The hotel booked most; a tie goes to the latest booked, then by name: the same
            -- answer whatever order the rows come in.
            select guest_id, hotel as home_hotel from (
                select guest_id, hotel, row_number() over (
                    partition by guest_id order by count(*) desc, max(booking_date) desc, hotel) as r
                from b group by guest_id, hotel)
            where r = 1
        ),
        folio as (
            select guest_id,
                   sum(amount) filter (where category = 'fnb') as fnb,
                   sum(amount) filter (where category = 'spa') as spa,
                   sum(amount) filter (where category = 'minibar') as minibar
            from staging.stg_pms_folio_lines
            where guest_id is not null and category <> 'room' and service_date < $as_of
            group by guest_id
        )
        select p.*, h.home_hotel, coalesce(f.fnb, 0) as fnb, coalesce(f.spa, 0) as spa,
               coalesce(f.minibar, 0) as minibar, g.segment
        from past p
        join home h using (guest_id)
        left join folio f using (guest_id)
        left join dim_guests g using (guest_id)
        order by guest_id
        """,
        {"as_of": as_of},
    ).df()
    y = history_years
    out = pd.DataFrame({"guest_id": frame["guest_id"].astype(str)})
    out["history_years"] = y
    out["tenure_days"] = (pd.Timestamp(as_of) - pd.to_datetime(frame["first_booking"])).dt.days.astype(float)
    out["recency_days"] = (pd.Timestamp(as_of) - pd.to_datetime(frame["last_stay"])).dt.days.astype(float)
    out["bookings_per_year"] = frame["bookings"] / y
    out["stays_per_year"] = frame["stays"] / y
    out["cancellation_rate"] = np.where(frame["bookings"] > 0, frame["cancellations"] / frame["bookings"].clip(lower=1), np.nan)
    out["nights_per_year"] = frame["nights"] / y
    out["avg_nights"] = frame["avg_nights"].astype(float)
    out["avg_lead_time"] = frame["avg_lead_time"].astype(float)
    out["avg_party_size"] = frame["avg_party_size"].astype(float)
    out["avg_adr"] = frame["avg_adr"].astype(float)
    out["room_revenue_per_year"] = frame["room_revenue"] / y
    extras = frame["fnb"] + frame["spa"] + frame["minibar"]
    for c in EXTRA_CATEGORIES:
        out[f"{c}_per_year"] = frame[c] / y
    monetary = frame["room_revenue"] + extras
    out["extras_share"] = np.where(monetary > 0, extras / monetary.where(monetary > 0, 1), np.nan)
    out["monetary_per_year"] = monetary / y
    out["avg_spend_per_stay"] = np.where(frame["stays"] > 0, monetary / frame["stays"].clip(lower=1), np.nan)
    out["hotels_visited"] = frame["hotels_visited"].astype(float)
    out["upcoming_bookings"] = frame["upcoming_bookings"].astype(float)
    out["upcoming_nights"] = frame["upcoming_nights"].astype(float)
    out["upcoming_revenue"] = frame["upcoming_revenue"].astype(float)
    out["segment"] = frame["segment"].fillna("leisure").astype(str)
    out["home_hotel"] = frame["home_hotel"].astype(str)
    return out.reset_index(drop=True)
