"""Every figure of the reports against an independent computation on the marts.

The reports read the aggregated marts (fct_daily_occupancy, fct_pace, fct_cancellations...)
in SQL; the checks here recompute each figure from the booking-level rows (fct_bookings) or
the event-level marts with polars, on days of the real extract and of the synthetic chain.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import polars as pl
import pytest

from reports.periods import containing
from reports.report_data import (LAST_YEAR, PACE_DAYS, ReportSources, build, model_health, psi,
                                 report_codes)
from reports.report_store import GROUP


@pytest.fixture(scope="module")
def tables(con) -> dict[str, pl.DataFrame]:
    return {name: pl.from_arrow(con.sql(f"select * from {name}").to_arrow_table())
            for name in ("fct_bookings", "dim_hotels", "dim_hotel_as_of", "fct_daily_occupancy",
                         "fct_room_inspections", "fct_attendance", "fct_anomaly_alerts")}


@pytest.fixture(scope="module")
def src(con) -> ReportSources:
    return ReportSources(con, now=datetime(2030, 1, 1, tzinfo=timezone.utc))


def real_hotel(tables) -> dict:
    """A property of the real extract (its own dates, years back) and a busy day of it."""
    real = tables["dim_hotels"].filter(pl.col("is_real")).sort("hotel_code").row(0, named=True)
    as_of = tables["dim_hotel_as_of"].filter(pl.col("hotel_code") == real["hotel_code"]).row(0, named=True)
    return {**real, "day": as_of["as_of_date"] - timedelta(days=45), "as_of": as_of["as_of_date"]}


def nights(bookings: pl.DataFrame) -> pl.DataFrame:
    """One row per booked night (stay_date) of each booking with at least one night."""
    return (bookings.filter(pl.col("nights") > 0)
            .with_columns(pl.date_ranges("arrival_date", pl.col("departure_date") - timedelta(days=1))
                          .alias("stay_date")).explode("stay_date"))


def sold(tables, codes: list[str], day: date) -> tuple[int, float]:
    stays = nights(tables["fct_bookings"].filter(pl.col("hotel_code").is_in(codes)
                                                 & ~pl.col("is_canceled")))
    on = stays.filter(pl.col("stay_date") == day)
    return on.height, float(on["adr"].sum())


def on_the_books(tables, codes: list[str], snapshot: date, first: date, last: date) -> int:
    b = tables["fct_bookings"].filter(
        pl.col("hotel_code").is_in(codes) & (pl.col("booking_date") <= snapshot)
        & (~pl.col("is_canceled") | (pl.col("reservation_status_date") > snapshot)))
    stays = nights(b)
    return stays.filter(pl.col("stay_date").is_between(first, last)).height


def check_day(report: dict, tables, codes: list[str], day: date) -> None:
    rooms, revenue = sold(tables, codes, day)
    k = report["kpis"]
    assert k["rooms_sold"]["actual"] == rooms
    assert k["room_revenue"]["actual"] == pytest.approx(revenue, rel=1e-9)
    available = float(tables["fct_daily_occupancy"].filter(
        pl.col("hotel_code").is_in(codes) & (pl.col("date") == day))["rooms_available"].sum())
    assert k["occupancy"]["actual"] == pytest.approx(rooms / available)
    assert k["adr"]["actual"] == pytest.approx(revenue / rooms)
    assert k["revpar"]["actual"] == pytest.approx(revenue / available)
    ly_rooms, ly_revenue = sold(tables, codes, day - LAST_YEAR)
    assert k["rooms_sold"]["last_year"] == (ly_rooms if ly_rooms else k["rooms_sold"]["last_year"])
    if ly_rooms:
        assert k["room_revenue"]["last_year"] == pytest.approx(ly_revenue)

    pace = report["pace"]
    window = (day + timedelta(days=1), day + timedelta(days=PACE_DAYS))
    assert pace["rooms"] == on_the_books(tables, codes, day, *window)
    ly = day - LAST_YEAR
    assert pace["rooms_last_year"] == on_the_books(
        tables, codes, ly, ly + timedelta(days=1), ly + timedelta(days=PACE_DAYS))
    assert pace["pickup_rooms"] == pace["rooms"] - on_the_books(tables, codes, day - timedelta(days=1), *window)
    assert sum(d["rooms"] for d in pace["by_day"]) == pace["rooms"]
    assert len(pace["by_day"]) == PACE_DAYS

    cancelled = tables["fct_bookings"].filter(
        pl.col("hotel_code").is_in(codes) & pl.col("is_canceled")
        & (pl.col("reservation_status_date") == day))
    c = report["cancellations"]
    assert (c["count"], c["room_nights"]) == (cancelled.height, int(cancelled["nights"].sum()))
    assert c["lost_revenue"] == pytest.approx(float(cancelled["revenue_lost"].sum()))

    seen = tables["fct_room_inspections"].filter(pl.col("hotel_code").is_in(codes)
                                                 & (pl.col("inspected_date") == day))
    claimed = seen.filter(pl.col("status").is_in(["clean", "inspected"]))
    cleaned = claimed.filter(pl.col("previous_status") == "dirty")
    h = report["housekeeping"]
    assert h["inspections"] == seen.height
    assert h["rooms_cleaned"] == cleaned.select(pl.struct("hotel_code", "room_number").n_unique()).item()
    if claimed.height:
        assert h["pass_rate"] == pytest.approx(claimed["ready_for_guest"].mean())
    if cleaned.height:
        minutes = (cleaned["inspected_at"] - cleaned["previous_inspected_at"]).dt.total_seconds() / 60
        assert h["mean_cleaning_minutes"] == pytest.approx(minutes.mean())

    shifts = tables["fct_attendance"].filter(pl.col("hotel_code").is_in(codes)
                                             & (pl.col("shift_date") == day))
    assert report["attendance"] == {"shifts": shifts.height, "late": shifts["is_late"].sum(),
                                    "absent": shifts["is_absent"].sum()}
    alerts = tables["fct_anomaly_alerts"].filter(pl.col("hotel_code").is_in(codes)
                                                 & (pl.col("detected_date") == day))
    assert report["anomalies"]["count"] == alerts.height
    assert report["anomalies"]["urgent"] == alerts["is_urgent"].sum()


def test_the_daily_flash_of_a_past_day_of_the_real_extract(src, tables):
    hotel = real_hotel(tables)
    period = containing("daily", hotel["day"])
    report = build(src, period, hotel["hotel_code"])
    assert report["has_data"] and report["stale"] == []
    assert report["property"] == {"code": hotel["hotel_code"], "name": hotel["hotel"],
                                  "currency": hotel["currency"]}
    assert report["kpis"]["rooms_sold"]["actual"] > 0 and report["pace"]["rooms"] > 0
    check_day(report, tables, [hotel["hotel_code"]], hotel["day"])
    json.dumps(report)  # plain values only: what the templates and the metadata take


def test_the_group_flash_covers_the_properties_reporting_that_day(src, tables):
    hotel = real_hotel(tables)
    period = containing("daily", hotel["day"])
    codes = report_codes(src, period)
    # the synthetic chain runs to yesterday, the extract years back: that day is the extract's
    real = sorted(tables["dim_hotels"].filter(pl.col("is_real"))["hotel_code"])
    assert codes == [*real, GROUP]
    report = build(src, period, GROUP)
    check_day(report, tables, real, hotel["day"])
    assert [p["code"] for p in report["by_property"]] == real
    assert sum(p["rooms_sold"] for p in report["by_property"]) == report["kpis"]["rooms_sold"]["actual"]


def test_the_daily_flash_of_the_live_chain(src, tables):
    """A property of the synthetic chain, whose data runs to yesterday (attendance,
    inspections and alerts included)."""
    chain = tables["dim_hotel_as_of"].join(tables["dim_hotels"].filter(~pl.col("is_real")),
                                            on="hotel_code").sort("hotel_code").row(0, named=True)
    day = chain["as_of_date"] - timedelta(days=3)
    report = build(src, containing("daily", day), chain["hotel_code"])
    assert report["has_data"] and report["stale"] == []
    assert report["attendance"]["shifts"] > 0 and report["housekeeping"]["inspections"] > 0
    check_day(report, tables, [chain["hotel_code"]], day)


def test_a_day_past_the_data_says_it_is_stale_and_has_no_data(src, tables):
    hotel = real_hotel(tables)
    day = hotel["as_of"] + timedelta(days=10)
    report = build(src, containing("daily", day), hotel["hotel_code"])
    assert report["stale"] == [{"property": hotel["hotel_code"], "what": "bookings",
                                "as_of": hotel["as_of"].isoformat()}]
    assert not report["has_data"]
    assert report["kpis"]["rooms_sold"]["actual"] is None
    assert report["pace"]["rooms"] == 0 and report["cancellations"]["count"] == 0
    # and the group of that day no longer counts it
    assert hotel["hotel_code"] not in report_codes(src, containing("daily", day + timedelta(days=30)))


def test_an_unknown_property_is_refused_with_the_known_ones(src):
    with pytest.raises(KeyError, match="known"):
        build(src, containing("daily", date(2016, 5, 1)), "NOPE")


@pytest.mark.parametrize("kind", ["weekly", "monthly"])
def test_the_weekly_and_monthly_figures(src, tables, kind):
    hotel = real_hotel(tables)
    period = containing(kind, hotel["day"]).previous()
    code = hotel["hotel_code"]
    report = build(src, period, code)
    assert report["has_data"] and len(report["daily"]) == period.days
    b = tables["fct_bookings"].filter(pl.col("hotel_code") == code)

    stays = nights(b.filter(~pl.col("is_canceled"))).filter(
        pl.col("stay_date").is_between(period.start, period.end))
    assert report["kpis"]["rooms_sold"]["actual"] == stays.height
    assert report["kpis"]["room_revenue"]["actual"] == pytest.approx(float(stays["adr"].sum()))
    by_segment = dict(stays.group_by("market_segment").agg(pl.col("adr").sum()).iter_rows())
    assert {s["segment"]: pytest.approx(s["room_revenue"]) for s in report["segments"]} == by_segment
    assert sum(s["share"] for s in report["segments"]) == pytest.approx(1.0)

    arriving = b.filter(pl.col("arrival_date").is_between(period.start, period.end))
    channels = dict(arriving.group_by("distribution_channel")
                    .agg(pl.col("revenue_realised").sum()).iter_rows())
    assert {c["channel"]: c["room_revenue"] for c in report["channels"]} == pytest.approx(channels)
    assert report["cancellation"]["bookings"] == arriving.height
    assert report["cancellation"]["rate"] == pytest.approx(arriving["is_canceled"].mean())

    booked = b.filter(pl.col("booking_date").is_between(period.start, period.end))
    assert {w["bucket"]: w["bookings"] for w in report["booking_window"]} == dict(
        booked.group_by("lead_time_bucket").len().iter_rows())
    leads = [booked.filter(pl.col("lead_time_bucket") == w["bucket"])["lead_time"].min()
             for w in report["booking_window"]]
    assert leads == sorted(leads)  # buckets in order of lead time

    previous = period.previous()
    before = nights(b.filter(~pl.col("is_canceled"))).filter(
        pl.col("stay_date").is_between(previous.start, previous.end))
    assert report["kpis"]["rooms_sold"]["previous"] == before.height


def test_punctuality_and_guest_segments_of_the_chain(src, tables):
    chain = tables["dim_hotels"].filter(~pl.col("is_real")).sort("hotel_code").row(0, named=True)
    as_of = tables["dim_hotel_as_of"].filter(pl.col("hotel_code") == chain["hotel_code"])["as_of_date"][0]
    period = containing("weekly", as_of).previous()
    report = build(src, period, chain["hotel_code"])
    shifts = tables["fct_attendance"].filter(
        (pl.col("hotel_code") == chain["hotel_code"])
        & pl.col("shift_date").is_between(period.start, period.end))
    p = report["punctuality"]
    assert (p["shifts"], p["late"], p["absent"]) == (shifts.height, shifts["is_late"].sum(),
                                                      shifts["is_absent"].sum())
    assert p["late_rate"] == pytest.approx(shifts["is_late"].mean())
    stayed = tables["fct_bookings"].filter(
        (pl.col("hotel_code") == chain["hotel_code"]) & pl.col("guest_id").is_not_null()
        & ~pl.col("is_canceled") & pl.col("arrival_date").is_between(period.start, period.end))
    assert sum(g["guests"] for g in report["guest_segments"]) == stayed["guest_id"].n_unique()
    assert sum(g["revenue"] for g in report["guest_segments"]) == pytest.approx(
        float(stayed["revenue_realised"].sum()))


def test_drift_of_live_inputs_against_the_training_mart(con, tables):
    """The prediction log's inputs against fct_bookings: the same population reads stable,
    a shifted one reads as drift, naming the input that moved."""
    bookings = tables["fct_bookings"].sample(400, seed=3)
    day = date(2030, 1, 6)

    def log(rows: list[dict]) -> pl.DataFrame:
        return pl.DataFrame({"model": ["cancellation"] * len(rows),
                             "predicted_at": [datetime(2030, 1, 6, 12, tzinfo=timezone.utc)] * len(rows),
                             "inputs": [json.dumps({"features": r}, default=str) for r in rows]})

    card = {"model": "cancellation", "version": "3", "metric": "auc", "value": 0.91,
            "baseline": 0.8, "higher_is_better": True, "trained_at": None}
    same = [{"lead_time": r["lead_time"], "adr": r["adr"]} for r in bookings.iter_rows(named=True)]
    moved = [{"lead_time": r["lead_time"] + 200, "adr": r["adr"]} for r in bookings.iter_rows(named=True)]
    week = containing("weekly", day)
    for rows, status in ((same, "stable"), (moved, "drift")):
        src = ReportSources(con, predictions=log(rows), models=[card])
        health = model_health(src, week)
        assert health[0]["value"] == 0.91 and health[0]["drift"]["requests"] == 400
        assert health[0]["drift"]["status"] == status
        if status == "drift":
            assert health[0]["drift"]["feature"] == "lead_time"
    quiet = model_health(ReportSources(con, models=[card]), week)[0]["drift"]
    assert quiet == {"status": "no traffic", "psi": None, "feature": None, "requests": 0}


def test_psi_reads_zero_for_the_same_distribution():
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.normal(size=5000)
    assert psi(x, x) == pytest.approx(0.0, abs=1e-9)
    assert psi(x, x + 2) > 0.25
    assert psi(x[:5], x) is None  # too little reference to bin
