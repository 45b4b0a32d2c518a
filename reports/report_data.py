"""Each report's figures, as SQL over the marts, into the plain dictionaries the templates
render (their shape: ``reports/CONTRACT.md``).

The marts file is read through one DuckDB connection; the lake tables a report needs (the
03:00 price schedule, the prediction log) are handed in as frames and registered on it, so
every figure is a query. The champion models answer what the marts cannot: the forecast a
day was expected to have, the next 14 days with their interval, and the cancellation risk
of the coming arrivals.

A report is for one property (its code) or for the group: every property whose data reaches
into the period (a property whose data ended more than ``GROUP_GRACE_DAYS`` before the
period is no longer reporting and is left out of the group). A property whose data stops
before the period's end is reported with a banner saying so, never as if the missing days
were empty.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import polars as pl

from ml.cancellation import booking_frame
from reports.periods import Period
from reports.report_store import GROUP

PACE_DAYS = 30  # the on-the-books window of the daily flash (fct_pace keeps var pace_days)
HIGH_RISK_DAYS = 7
FORECAST_DAYS = 14
GROUP_GRACE_DAYS = 7
TOP_ROWS = 10
LAST_YEAR = timedelta(weeks=52)  # the same weekday a year earlier
# Population stability index: below 0.1 the live inputs look like the training data, above
# 0.25 they have moved (the usual reading of PSI).
PSI_WATCH, PSI_DRIFT = 0.10, 0.25
PSI_BINS = 10
# The mart each model's inputs are drawn from, for the drift of its live inputs.
REFERENCE_MARTS = {"cancellation": ("fct_bookings", "arrival_date"),
                   "clv": ("fct_guest_value", "last_stay_date")}
READY = ("clean", "inspected")


@dataclass
class ReportSources:
    """What a report reads: the marts, two lake tables and the champions."""

    marts: duckdb.DuckDBPyConnection
    price_schedule: pl.DataFrame | None = None
    predictions: pl.DataFrame | None = None  # the prediction log (model, predicted_at, inputs)
    cancellation: Any | None = None  # the cancellation champion (predict on booking rows)
    forecasts: dict[str, Any] = field(default_factory=dict)  # target -> forecast champion
    models: list[dict] = field(default_factory=list)  # ModelRegistry.champion_card of each
    high_risk_threshold: float = 0.6
    now: datetime | None = None
    # model health is the group's, whatever the property: worked out once per period
    _health: dict[Period, list[dict]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self):
        # the lake's frames become tables of the connection: every figure is SQL
        for name, frame in (("price_schedule", self.price_schedule),
                            ("ml_predictions", self.predictions)):
            if frame is not None:
                self.marts.register(name, frame.to_arrow())

    def rows(self, sql: str, params: list | dict | None = None) -> list[dict]:
        rel = self.marts.execute(sql, params or [])
        names = [d[0] for d in rel.description]
        return [dict(zip(names, map(_plain, r))) for r in rel.fetchall()]

    def one(self, sql: str, params: list | dict | None = None) -> dict:
        found = self.rows(sql, params)
        return found[0] if found else {}


def _plain(v):
    """A DuckDB value as JSON-friendly Python: dates as ISO text, NaN as None."""
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "__float__") and not isinstance(v, (int, float, bool)):
        return float(v)  # Decimal
    return v


def _ratio(a, b):
    return None if a is None or not b else a / b


# -- which properties ------------------------------------------------------------------

def properties(src: ReportSources) -> list[dict]:
    """Every property of the group: code, name, currency, first and last day of its data."""
    return src.rows("""
        select h.hotel_code as code, h.hotel as name, h.currency,
               a.first_arrival, a.as_of_date
        from dim_hotels as h left join dim_hotel_as_of as a using (hotel_code)
        order by h.hotel_code""")


def reporting(src: ReportSources, period: Period) -> list[dict]:
    """The properties with data in the period: those a group report covers."""
    grace = period.start - timedelta(days=GROUP_GRACE_DAYS)
    return [p for p in properties(src)
            if p["first_arrival"] and p["as_of_date"]
            and date.fromisoformat(p["first_arrival"]) <= period.end
            and date.fromisoformat(p["as_of_date"]) >= grace]


def report_codes(src: ReportSources, period: Period) -> list[str]:
    """The reports a period has: one per reporting property, and the group's."""
    return [p["code"] for p in reporting(src, period)] + [GROUP]


def _scope(src: ReportSources, period: Period, prop: str) -> tuple[dict, list[dict]]:
    """The report's header property and the properties it covers."""
    every = properties(src)
    if prop == GROUP:
        members = reporting(src, period)
        currencies = {p["currency"] for p in members}
        return ({"code": GROUP, "name": "Group",
                 "currency": currencies.pop() if len(currencies) == 1 else None}, members)
    found = [p for p in every if p["code"] == prop]
    if not found:
        raise KeyError(f"unknown property {prop!r}; known: {', '.join(p['code'] for p in every)}")
    p = found[0]
    return {"code": p["code"], "name": p["name"], "currency": p["currency"]}, [p]


def _stale(members: list[dict], period: Period) -> list[dict]:
    return [{"property": p["code"], "what": "bookings", "as_of": p["as_of_date"]}
            for p in members if p["as_of_date"] and date.fromisoformat(p["as_of_date"]) < period.end]


# -- figures shared by every kind ------------------------------------------------------

def occupancy(src: ReportSources, codes: list[str], start: date, end: date) -> dict:
    """Rooms sold, available and revenue over the days start..end, with the ratios."""
    r = src.one("""
        select sum(rooms_sold)::double as rooms_sold, sum(rooms_available)::double as available,
               sum(room_revenue)::double as room_revenue, count(distinct date) as days
        from fct_daily_occupancy
        where hotel_code in (select unnest($codes)) and date between $start and $end""",
                {"codes": codes, "start": start, "end": end})
    if not r.get("days"):
        return {"rooms_sold": None, "occupancy": None, "adr": None, "revpar": None,
                "room_revenue": None, "rooms_available": None}
    return {"rooms_sold": r["rooms_sold"], "rooms_available": r["available"],
            "room_revenue": r["room_revenue"],
            "occupancy": _ratio(r["rooms_sold"], r["available"]),
            "adr": _ratio(r["room_revenue"], r["rooms_sold"]),
            "revpar": _ratio(r["room_revenue"], r["available"])}


KPIS = ("rooms_sold", "occupancy", "adr", "revpar", "room_revenue")


def _by_property(src: ReportSources, members: list[dict], period: Period) -> list[dict]:
    ly = period.last_year()
    out = []
    for p in members:
        now = occupancy(src, [p["code"]], period.start, period.end)
        before = occupancy(src, [p["code"]], ly.start, ly.end)
        out.append({"code": p["code"], "name": p["name"], "currency": p["currency"],
                    **{k: now[k] for k in KPIS}, "occupancy_last_year": before["occupancy"]})
    return out


def _money_ok(header: dict, kpis: dict) -> dict:
    """A group of several currencies has no group-level money: each is per property."""
    if header["currency"] is None:
        for k in ("adr", "revpar", "room_revenue"):
            kpis[k] = {key: None for key in kpis[k]}
    return kpis


# -- the daily flash -------------------------------------------------------------------

def _forecast_of(src: ReportSources, target: str, members: list[dict], day: date) -> float | None:
    """What the forecast champion expected of the day, summed over the properties (for
    occupancy: weighted by the rooms available that day)."""
    model = src.forecasts.get(target)
    if model is None:
        return None
    names = [p["name"] for p in members if p["name"] in model.hotels]
    if not names:
        return None
    fc = model.predict(pd.DataFrame({"hotel": names, "date": [day] * len(names)}))
    if target != "occupancy":
        return float(fc["value"].sum())
    rooms = {r["hotel"]: r["available"] for r in src.rows("""
        select hotel, sum(rooms_available)::double as available from fct_daily_occupancy
        where date = $day and hotel in (select unnest($names)) group by hotel""",
        {"day": day, "names": names})}
    weights = np.array([rooms.get(h) or 0.0 for h in fc["hotel"]])
    return float(np.dot(fc["value"], weights) / weights.sum()) if weights.sum() else None


def _forecast_days(src: ReportSources, members: list[dict], day: date) -> dict | None:
    """The occupancy forecast of the 14 days after the report day, with its interval (the
    properties' forecasts weighted by their inventory)."""
    model = src.forecasts.get("occupancy")
    if model is None:
        return None
    names = [p["name"] for p in members if p["name"] in model.hotels]
    if not names:
        return None
    fc = model.predict(pd.DataFrame({"hotel": names, "start_date": [day + timedelta(days=1)] * len(names),
                                     "horizon_days": [FORECAST_DAYS] * len(names)}))
    rooms = {r["hotel"]: r["rooms"] for r in src.rows("""
        select hotel, sum(rooms_available)::double as rooms from fct_daily_occupancy
        where date = (select max(date) from fct_daily_occupancy where date <= $day)
          and hotel in (select unnest($names)) group by hotel""", {"day": day, "names": names})}
    fc["w"] = fc["hotel"].map(lambda h: rooms.get(h) or 1.0)
    days = []
    for d, g in fc.groupby("date", sort=True):
        w = g["w"] / g["w"].sum()
        days.append({"date": d.isoformat(), **{k: float((g[k] * w).sum())
                                               for k in ("value", "lower", "upper")}})
    return {"target": "occupancy", "interval": float(model.interval_width), "days": days}


def pace(src: ReportSources, codes: list[str], day: date) -> dict:
    """Rooms and revenue on the books for the next PACE_DAYS nights as of the report day,
    the same point last year, and the pickup since the day before (fct_pace)."""
    ly = day - LAST_YEAR
    totals = src.one("""
        select
          sum(rooms_on_the_books) filter (snapshot_date = $d and stay_date > $d and stay_date <= $d + $n) as rooms,
          sum(revenue_on_the_books) filter (snapshot_date = $d and stay_date > $d and stay_date <= $d + $n) as revenue,
          sum(rooms_on_the_books) filter (snapshot_date = $ly and stay_date > $ly and stay_date <= $ly + $n) as rooms_ly,
          sum(revenue_on_the_books) filter (snapshot_date = $ly and stay_date > $ly and stay_date <= $ly + $n) as revenue_ly,
          sum(rooms_on_the_books) filter (snapshot_date = $d - 1 and stay_date > $d and stay_date <= $d + $n) as rooms_before,
          sum(revenue_on_the_books) filter (snapshot_date = $d - 1 and stay_date > $d and stay_date <= $d + $n) as revenue_before
        from fct_pace
        where hotel_code in (select unnest($codes)) and snapshot_date in ($d, $d - 1, $ly)""",
                     {"codes": codes, "d": day, "ly": ly, "n": PACE_DAYS})
    by_day = src.rows("""
        with days as (select unnest(generate_series($d + 1, $d + $n, interval 1 day))::date as date),
        otb as (
          select stay_date as date, sum(rooms_on_the_books) as rooms from fct_pace
          where hotel_code in (select unnest($codes)) and snapshot_date = $d group by all),
        ly as (
          select stay_date + 364 as date, sum(rooms_on_the_books) as rooms from fct_pace
          where hotel_code in (select unnest($codes)) and snapshot_date = $ly group by all),
        capacity as (
          select date, sum(rooms_available) as rooms from fct_daily_occupancy
          where hotel_code in (select unnest($codes)) and date between $d + 1 and $d + $n group by all)
        select days.date, coalesce(otb.rooms, 0) as rooms, coalesce(ly.rooms, 0) as rooms_last_year,
               capacity.rooms as capacity
        from days left join otb using (date) left join ly using (date) left join capacity using (date)
        order by days.date""", {"codes": codes, "d": day, "ly": ly, "n": PACE_DAYS})
    zero = lambda v: v or 0  # noqa: E731 - nothing on the books is zero, not unknown
    return {"window_days": PACE_DAYS, "from": (day + timedelta(days=1)).isoformat(),
            "to": (day + timedelta(days=PACE_DAYS)).isoformat(),
            "rooms": zero(totals.get("rooms")), "revenue": zero(totals.get("revenue")),
            "rooms_last_year": zero(totals.get("rooms_ly")),
            "revenue_last_year": zero(totals.get("revenue_ly")),
            "pickup_rooms": zero(totals.get("rooms")) - zero(totals.get("rooms_before")),
            "pickup_revenue": zero(totals.get("revenue")) - zero(totals.get("revenue_before")),
            "by_day": by_day}


def cancellations(src: ReportSources, codes: list[str], day: date) -> dict:
    """Bookings cancelled on the day (their cancellation date), the nights and revenue lost."""
    r = src.one("""
        select count(*) as count, coalesce(sum(nights), 0) as room_nights,
               coalesce(sum(revenue_lost), 0)::double as lost_revenue
        from fct_bookings
        where hotel_code in (select unnest($codes)) and is_canceled
          and reservation_status_date = $d""", {"codes": codes, "d": day})
    return {"count": r["count"], "room_nights": r["room_nights"], "lost_revenue": r["lost_revenue"]}


def high_risk(src: ReportSources, codes: list[str], day: date) -> dict:
    """The arrivals of the next HIGH_RISK_DAYS days on the books as of the report day, scored
    by the cancellation champion; those at or above the threshold, riskiest first."""
    base = {"threshold": src.high_risk_threshold, "days": HIGH_RISK_DAYS, "count": 0,
            "scored": 0, "arrivals": []}
    if src.cancellation is None:
        return base
    live = src.marts.execute("""
        select * from fct_bookings
        where hotel_code in (select unnest($codes))
          and arrival_date > $d and arrival_date <= $d + $n
          and booking_date <= $d
          and (not is_canceled or reservation_status_date > $d)""",
                             {"codes": codes, "d": day, "n": HIGH_RISK_DAYS}).df()
    if live.empty:
        return base
    scores = src.cancellation.predict(booking_frame(live))
    live["probability"] = scores["probability"].to_numpy()
    risky = live[live["probability"] >= src.high_risk_threshold].sort_values(
        "probability", ascending=False)
    return {**base, "count": int(len(risky)), "scored": int(len(live)), "arrivals": [
        {"booking_id": r.booking_id, "property": r.hotel_code,
         "arrival_date": pd.Timestamp(r.arrival_date).date().isoformat(), "nights": int(r.nights),
         "probability": float(r.probability), "revenue": float(r.booked_revenue or 0)}
        for r in risky.head(TOP_ROWS).itertuples()]}


def prices(src: ReportSources, codes: list[str], day: date) -> dict:
    """The suggested prices for the night after the report day (the 03:00 schedule) and how
    far each moves from the current price."""
    out = {"date": (day + timedelta(days=1)).isoformat(), "generated_at": None, "rows": []}
    if src.price_schedule is None:
        return out
    rows = src.rows("""
        select h.hotel_code as property, s.room_type, s.current_price, s.suggested_price,
               s.suggested_price - s.current_price as change, h.currency, s.generated_at
        from price_schedule as s join dim_hotels as h on h.hotel = s.hotel
        where h.hotel_code in (select unnest($codes)) and s.date = $d + 1
        order by h.hotel_code, s.room_type""", {"codes": codes, "d": day})
    out["generated_at"] = max((r.pop("generated_at") for r in rows), default=None)
    out["rows"] = rows
    return out


def housekeeping(src: ReportSources, codes: list[str], start: date, end: date) -> dict:
    """Inspections of the days: rooms cleaned (a dirty room found clean), the pass rate of
    the rooms reported clean (ready for a guest), minutes from dirty to clean."""
    r = src.one(f"""
        select count(*) as inspections,
               count(distinct hotel_code || '/' || room_number) filter (
                   previous_status = 'dirty' and status in {READY}) as rooms_cleaned,
               avg(ready_for_guest::int) filter (status in {READY}) as pass_rate,
               avg(datediff('second', previous_inspected_at, inspected_at) / 60.0) filter (
                   previous_status = 'dirty' and status in {READY}) as mean_cleaning_minutes
        from fct_room_inspections
        where hotel_code in (select unnest($codes)) and inspected_date between $s and $e""",
                {"codes": codes, "s": start, "e": end})
    return {k: r.get(k) for k in ("inspections", "rooms_cleaned", "pass_rate",
                                  "mean_cleaning_minutes")}


def attendance(src: ReportSources, codes: list[str], start: date, end: date) -> dict:
    r = src.one("""
        select count(*) as shifts, count(*) filter (is_late) as late,
               count(*) filter (is_absent) as absent
        from fct_attendance
        where hotel_code in (select unnest($codes)) and shift_date between $s and $e""",
                {"codes": codes, "s": start, "e": end})
    return {"shifts": r.get("shifts", 0), "late": r.get("late", 0), "absent": r.get("absent", 0)}


def anomalies(src: ReportSources, codes: list[str], start: date, end: date) -> dict:
    rows = src.rows("""
        select detected_at, hotel_code as property, alert_type, severity, camera_id, is_urgent
        from fct_anomaly_alerts
        where hotel_code in (select unnest($codes)) and detected_date between $s and $e
        order by severity_rank desc, detected_at desc""", {"codes": codes, "s": start, "e": end})
    return {"count": len(rows), "urgent": sum(bool(r.pop("is_urgent")) for r in rows),
            "rows": rows[:TOP_ROWS]}


def _header(src: ReportSources, period: Period, header: dict, members: list[dict]) -> dict:
    now = src.now or datetime.now(timezone.utc)
    return {"kind": period.kind, "period": period.key, "period_label": period.label,
            "start": period.start.isoformat(), "end": period.end.isoformat(),
            "property": header, "generated_at": now.isoformat(timespec="seconds"),
            "stale": _stale(members, period)}


def daily_flash(src: ReportSources, period: Period, prop: str) -> dict:
    """The one-page morning report of one day (see CONTRACT.md)."""
    header, members = _scope(src, period, prop)
    codes = [p["code"] for p in members]
    day = period.start
    report = _header(src, period, header, members)
    actual = occupancy(src, codes, day, day)
    before = occupancy(src, codes, day - LAST_YEAR, day - LAST_YEAR)
    forecast_occ = _forecast_of(src, "occupancy", members, day)
    forecast_rev = _forecast_of(src, "revenue", members, day)
    available = actual["rooms_available"]
    expected = {"occupancy": forecast_occ, "room_revenue": forecast_rev,
                "rooms_sold": forecast_occ * available if forecast_occ is not None and available else None,
                "revpar": _ratio(forecast_rev, available)}
    expected["adr"] = _ratio(forecast_rev, expected["rooms_sold"])
    kpis = {k: {"actual": actual[k], "last_year": before[k], "forecast": expected[k]} for k in KPIS}
    price_part = prices(src, codes, day)
    report.update({
        "has_data": actual["rooms_available"] is not None,
        "last_year_date": (day - LAST_YEAR).isoformat(),
        "kpis": _money_ok(header, kpis),
        "by_property": _by_property(src, members, period) if prop == GROUP else [],
        "pace": pace(src, codes, day),
        "cancellations": cancellations(src, codes, day),
        "high_risk": high_risk(src, codes, day),
        "forecast": _forecast_days(src, members, day),
        "prices": price_part,
        "housekeeping": housekeeping(src, codes, day, day),
        "attendance": attendance(src, codes, day, day),
        "anomalies": anomalies(src, codes, day, day),
    })
    if header["currency"] is None:  # several currencies: no group-level money
        for part, keys in (("pace", ("revenue", "revenue_last_year", "pickup_revenue")),
                           ("cancellations", ("lost_revenue",))):
            report[part].update({k: None for k in keys})
    generated = price_part["generated_at"]
    if generated and date.fromisoformat(generated[:10]) < day:
        report["stale"].append({"property": prop, "what": "prices", "as_of": generated[:10]})
    model = src.forecasts.get("occupancy")
    for p in members:
        end = model and model.history_end.get(p["name"])
        if end and date.fromisoformat(end) < day - timedelta(days=FORECAST_DAYS):
            report["stale"].append({"property": p["code"], "what": "forecast", "as_of": end})
    return report


# -- the weekly review and the monthly pack ----------------------------------------------

def daily_trend(src: ReportSources, codes: list[str], period: Period) -> list[dict]:
    return src.rows("""
        with now as (
          select date, sum(rooms_sold)::double / nullif(sum(rooms_available), 0) as occupancy,
                 sum(room_revenue)::double / nullif(sum(rooms_available), 0) as revpar,
                 sum(room_revenue)::double as room_revenue
          from fct_daily_occupancy
          where hotel_code in (select unnest($codes)) and date between $s and $e group by date),
        ly as (
          select date + 364 as date,
                 sum(rooms_sold)::double / nullif(sum(rooms_available), 0) as occupancy_last_year
          from fct_daily_occupancy
          where hotel_code in (select unnest($codes)) and date between $s - 364 and $e - 364
          group by date)
        select now.date, now.occupancy, ly.occupancy_last_year, now.revpar, now.room_revenue
        from now left join ly using (date) order by now.date""",
                    {"codes": codes, "s": period.start, "e": period.end})


def _shares(rows: list[dict], value: str) -> list[dict]:
    total = sum(r[value] or 0 for r in rows)
    return [{**r, "share": _ratio(r[value] or 0, total)} for r in rows]


def segments(src: ReportSources, codes: list[str], period: Period) -> list[dict]:
    """Room revenue by market segment, on the nights of the period."""
    return _shares(src.rows("""
        select market_segment as segment, sum(room_revenue)::double as room_revenue,
               sum(rooms_sold) as rooms_sold
        from fct_daily_segment_mix
        where hotel_code in (select unnest($codes)) and date between $s and $e
        group by all having sum(rooms_sold) > 0 order by room_revenue desc""",
                            {"codes": codes, "s": period.start, "e": period.end}), "room_revenue")


def channels(src: ReportSources, codes: list[str], period: Period) -> list[dict]:
    """Room revenue by distribution channel, of the stays arriving in the period."""
    return _shares(src.rows("""
        select coalesce(distribution_channel, 'Undefined') as channel,
               sum(revenue_realised)::double as room_revenue,
               count(*) filter (not is_canceled) as bookings
        from fct_bookings
        where hotel_code in (select unnest($codes)) and arrival_date between $s and $e
        group by all order by room_revenue desc""",
                            {"codes": codes, "s": period.start, "e": period.end}), "room_revenue")


def booking_window(src: ReportSources, codes: list[str], period: Period) -> list[dict]:
    """How far ahead the bookings made in the period were made (lead-time buckets in order)."""
    return _shares(src.rows("""
        select lead_time_bucket as bucket, count(*) as bookings
        from fct_bookings
        where hotel_code in (select unnest($codes)) and booking_date between $s and $e
          and lead_time_bucket is not null
        group by all order by min(lead_time)""",
                            {"codes": codes, "s": period.start, "e": period.end}), "bookings")


def cancellation_rates(src: ReportSources, codes: list[str], period: Period) -> dict:
    """The cancellation rate of the arrivals of the period (no-shows count), against the same
    period last year, and per arrival day (fct_cancellations)."""
    ly = period.last_year()
    sql = """
        select sum(bookings) as bookings, sum(cancellations) as cancellations,
               sum(cancellations)::double / nullif(sum(bookings), 0) as rate
        from fct_cancellations
        where hotel_code in (select unnest($codes)) and arrival_date between $s and $e"""
    now = src.one(sql, {"codes": codes, "s": period.start, "e": period.end})
    before = src.one(sql, {"codes": codes, "s": ly.start, "e": ly.end})
    daily = src.rows("""
        select arrival_date as date, sum(cancellations)::double / nullif(sum(bookings), 0) as rate
        from fct_cancellations
        where hotel_code in (select unnest($codes)) and arrival_date between $s and $e
        group by all order by date""", {"codes": codes, "s": period.start, "e": period.end})
    return {"rate": now.get("rate"), "rate_last_year": before.get("rate"),
            "bookings": now.get("bookings") or 0, "cancellations": now.get("cancellations") or 0,
            "daily": daily}


def guest_segments(src: ReportSources, codes: list[str], period: Period) -> list[dict]:
    """The guests who stayed in the period by guest segment, with their room revenue there
    and their average value to date (fct_guest_value)."""
    return src.rows("""
        with stayed as (
          select guest_id, sum(revenue_realised)::double as revenue from fct_bookings
          where hotel_code in (select unnest($codes)) and guest_id is not null
            and not is_canceled and arrival_date between $s and $e group by guest_id)
        select coalesce(g.segment, 'unknown') as segment, count(*) as guests,
               sum(stayed.revenue) as revenue,
               avg(g.room_revenue + g.ancillary_revenue)::double as avg_value
        from stayed left join fct_guest_value as g using (guest_id)
        group by all order by revenue desc""",
                    {"codes": codes, "s": period.start, "e": period.end})


def punctuality(src: ReportSources, codes: list[str], period: Period) -> dict:
    total = attendance(src, codes, period.start, period.end)
    daily = src.rows("""
        select shift_date as date, avg(is_late::int)::double as late_rate,
               avg(is_absent::int)::double as absent_rate
        from fct_attendance
        where hotel_code in (select unnest($codes)) and shift_date between $s and $e
        group by all order by date""", {"codes": codes, "s": period.start, "e": period.end})
    return {**total, "late_rate": _ratio(total["late"], total["shifts"]),
            "absent_rate": _ratio(total["absent"], total["shifts"]), "daily": daily}


def psi(reference: np.ndarray, live: np.ndarray, bins: int = PSI_BINS) -> float | None:
    """Population stability index of live values against a reference, on the reference's
    deciles (a value's share in each bin, floored so an empty bin does not divide by 0)."""
    reference, live = reference[np.isfinite(reference)], live[np.isfinite(live)]
    if len(reference) < bins or len(live) == 0:
        return None
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)))
    if len(edges) < 3:  # a constant input: moved or not
        return 0.0 if np.all(live == edges[0]) else PSI_DRIFT
    edges[0], edges[-1] = -np.inf, np.inf
    ref = np.histogram(reference, edges)[0] / len(reference)
    now = np.histogram(live, edges)[0] / len(live)
    ref, now = np.clip(ref, 1e-4, None), np.clip(now, 1e-4, None)
    return float(np.sum((now - ref) * np.log(now / ref)))


def drift(src: ReportSources, model: str, period: Period) -> dict:
    """The drift of a model's live inputs in the period (the prediction log) against the mart
    it was trained from: the largest PSI over the numeric inputs, and which input."""
    out = {"status": "no traffic", "psi": None, "feature": None, "requests": 0}
    if src.predictions is None or model not in REFERENCE_MARTS:
        return out
    logged = src.rows("""
        select inputs from ml_predictions
        where model = $m and predicted_at::date between $s and $e""",
                      {"m": model, "s": period.start, "e": period.end})
    records = [json.loads(r["inputs"]).get("features") or {} for r in logged]
    out["requests"] = len(records)
    if not records:
        return out
    live = pd.DataFrame(records)
    mart, _ = REFERENCE_MARTS[model]
    reference = src.marts.execute(f"select * from {mart}").df()
    worst = (None, -1.0)
    for column in live.columns:
        if column not in reference or not pd.api.types.is_numeric_dtype(reference[column]):
            continue
        values = pd.to_numeric(live[column], errors="coerce").to_numpy(dtype=float)
        score = psi(reference[column].to_numpy(dtype=float), values)
        if score is not None and score > worst[1]:
            worst = (column, score)
    if worst[0] is None:
        return {**out, "status": "no numeric inputs"}
    status = ("drift" if worst[1] >= PSI_DRIFT else "watch" if worst[1] >= PSI_WATCH
              else "stable")
    return {**out, "status": status, "psi": worst[1], "feature": worst[0]}


def model_health(src: ReportSources, period: Period) -> list[dict]:
    """Each champion's held-out metric, and the drift of its live inputs in the period."""
    if period not in src._health:
        keep = ("model", "version", "metric", "value", "baseline", "higher_is_better", "trained_at")
        src._health[period] = [{**{k: card.get(k) for k in keep},
                                "drift": drift(src, card["model"], period)} for card in src.models]
    return src._health[period]


def period_review(src: ReportSources, period: Period, prop: str) -> dict:
    """The weekly review or the monthly pack (see CONTRACT.md)."""
    header, members = _scope(src, period, prop)
    codes = [p["code"] for p in members]
    report = _header(src, period, header, members)
    ly, previous = period.last_year(), period.previous()
    now = occupancy(src, codes, period.start, period.end)
    before = occupancy(src, codes, ly.start, ly.end)
    prior = occupancy(src, codes, previous.start, previous.end)
    kpis = {k: {"actual": now[k], "last_year": before[k], "previous": prior[k]} for k in KPIS}
    report.update({
        "has_data": now["rooms_available"] is not None,
        "kpis": _money_ok(header, kpis),
        "by_property": _by_property(src, members, period) if prop == GROUP else [],
        "daily": daily_trend(src, codes, period),
        "segments": segments(src, codes, period),
        "channels": channels(src, codes, period),
        "booking_window": booking_window(src, codes, period),
        "cancellation": cancellation_rates(src, codes, period),
        "guest_segments": guest_segments(src, codes, period),
        "punctuality": punctuality(src, codes, period),
        "models": model_health(src, period),
    })
    return report


def build(src: ReportSources, period: Period, prop: str) -> dict:
    """The report of the period's kind for one property or the group."""
    return daily_flash(src, period, prop) if period.kind == "daily" else period_review(src, period, prop)
