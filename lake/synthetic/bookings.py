"""Synthetic bookings in the reference layout of the real extract, fully vectorised.

Each booking borrows a real template row (weighted so that arrivals follow the real
month x weekday intensity inside the requested window), keeps its booking-time attributes,
and gets re-drawn around it: its property, guest, arrival day (same month and weekday as
the template), room type (mapped onto the property's own inventory), ADR (the property's
base rate x season x segment x noise), cancellation (calibrated cell rate x guest
propensity x repeat-guest effect), status and status date, assigned room and room number.

The window ends on a day ``end``: arrivals run from ``days`` days before it to
``ahead_days`` after it, and every booking was made on or before ``end`` (a draw booked
later is drawn again, so the bookings on the books thin out with the arrival's distance).
An outcome dated after ``end`` is not known yet: such a booking is written with no status,
no status date and ``is_canceled`` 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from lake.sources.pms import REFERENCE_LAYOUT
from lake.synthetic.calibration import LEAD_EDGES, MONTHS, Calibration, day_group
from lake.synthetic.guests import GuestProfiles, booking_counts, guest_id_expr
from lake.synthetic.property_master import Property, template_for
from lake.synthetic.randomness import pick, uniform_int
from lake.synthetic.rooms import Inventory

REFERENCE_COLUMNS = tuple(REFERENCE_LAYOUT)
EXTRA_COLUMNS = ("booking_id", "guest_id", "room_number")
BOOKING_ID_WIDTH = 9
STATUSES = ("Check-Out", "Canceled", "No-Show")

HOME_PROPERTY_SHARE = 0.85  # a repeat guest's bookings at their usual property
GUEST_PROPENSITY_SIGMA = 0.8  # spread of a guest's own cancellation log-odds
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Mon = 0)
MAX_REDRAWS = 64  # of a booking drawn as made after the end day (each keeps most draws)


@dataclass(frozen=True, eq=False)
class Bookings:
    """Column arrays, one entry per booking, in output order (hotel, arrival date)."""

    cols: dict[str, np.ndarray]
    countries: tuple[str, ...]  # vocabulary of the ``country`` codes (-1 = NULL)
    n_guests: int

    def __len__(self) -> int:
        return len(self.cols["prop"])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _weekend_nights(arrival: np.ndarray, nights: np.ndarray) -> np.ndarray:
    """Saturday and Sunday nights among ``nights`` nights from ``arrival`` (days since epoch)."""
    w0 = (arrival + _EPOCH_WEEKDAY) % 7
    table = np.zeros((7, 7), dtype=np.int32)  # [first weekday, remainder nights]
    for w in range(7):
        for r in range(1, 7):
            table[w, r] = sum(((w + k) % 7) >= 5 for k in range(r))
    return (2 * (nights // 7) + table[w0, nights % 7]).astype(np.int32)


class _TemplateSampler:
    """Draws template rows, weighted by the window's arrival intensity, within a group."""

    def __init__(self, calib: Calibration, window: np.ndarray):
        pool = calib.pool
        self.S = len(calib.segments)
        self.T = len(calib.templates)
        groups = day_group(window)
        self.window = window.astype(np.int64)
        self.wcount = np.bincount(groups, minlength=84)
        self.wstart = np.concatenate([[0], np.cumsum(self.wcount)[:-1]])
        self.worder = np.argsort(groups, kind="stable")
        dg = pool["day_group"]
        weight = self.wcount[dg] / np.maximum(calib.real_days[pool["template"], dg], 1.0)
        self.cum = np.cumsum(weight)
        before = np.concatenate([[0.0], self.cum])
        gs = calib.group_start
        self.g_first, self.g_last = gs[:-1], gs[1:] - 1
        self.g_lo, self.g_hi = before[gs[:-1]], before[gs[1:]]
        t_start = gs[np.arange(self.T) * self.S]
        t_end = gs[(np.arange(self.T) + 1) * self.S]
        self.t_first, self.t_last = t_start, t_end - 1
        self.t_lo, self.t_hi = before[t_start], before[t_end]
        self.day_group = dg

    def rows(self, rng: np.random.Generator, template: np.ndarray, segment: np.ndarray | None) -> np.ndarray:
        if segment is None:
            lo, hi = self.t_lo[template], self.t_hi[template]
            first, last = self.t_first[template], self.t_last[template]
        else:
            g = template * self.S + segment
            lo, hi = self.g_lo[g], self.g_hi[g]
            first, last = self.g_first[g], self.g_last[g]
            empty = hi <= lo  # e.g. no Aviation bookings at the resort: any segment
            lo = np.where(empty, self.t_lo[template], lo)
            hi = np.where(empty, self.t_hi[template], hi)
            first = np.where(empty, self.t_first[template], first)
            last = np.where(empty, self.t_last[template], last)
        u = lo + rng.random(len(template)) * (hi - lo)
        return np.clip(np.searchsorted(self.cum, u, side="right"), first, last)

    def arrival_days(self, rng: np.random.Generator, rows: np.ndarray) -> np.ndarray:
        """A window day with the template's month and weekday (days since epoch)."""
        g = self.day_group[rows]
        count = self.wcount[g]
        none = count == 0
        pos = self.wstart[g] + uniform_int(rng, np.maximum(count, 1))
        day = self.window[self.worder[np.minimum(pos, len(self.window) - 1)]]
        if none.any():
            day[none] = self.window[uniform_int(rng, np.full(int(none.sum()), len(self.window)))]
        return day


def day_number(day: date) -> int:
    """Days since 1970-01-01."""
    return int(np.datetime64(day, "D").astype(np.int64))


def generate_bookings(
    inv: Inventory, n_props: int, calib: Calibration, n: int, rng: np.random.Generator,
    end: date, days: int, ahead_days: int, templates: list[Property],
) -> tuple[Bookings, GuestProfiles]:
    """``n`` bookings at the first ``n_props`` properties of ``inv``, made on or before
    ``end``, arriving in the ``days`` days up to ``end`` or the ``ahead_days`` after it.
    ``templates`` are the real properties of the calibration."""
    props = inv.properties[:n_props]
    pool = calib.pool
    end_day = day_number(end)
    window = np.datetime64(end, "D") + np.arange(1 - days, ahead_days + 1)
    sampler = _TemplateSampler(calib, window)
    countries = calib.countries + tuple(sorted({p.country for p in props} - set(calib.countries)))
    prt = countries.index("PRT") if "PRT" in countries else -2
    prop_country = np.array([countries.index(p.country) if p.country in countries else -1 for p in props])
    usable = [t for t in templates if t.name in calib.templates]
    prop_template = np.array([calib.templates.index(template_for(p, usable).name) for p in props], dtype=np.int32)

    # --- guests and where they book
    counts = booking_counts(rng, n)
    G = len(counts)
    guest = np.repeat(np.arange(G, dtype=np.int64), counts)
    weights = np.array([p.total_rooms for p in props], dtype=np.float64)
    home = pick(rng, weights, G)
    prop = home[guest]
    repeat_guest = counts >= 2
    away = repeat_guest[guest] & (rng.random(n) >= HOME_PROPERTY_SHARE)
    prop[away] = pick(rng, weights, int(away.sum()))
    tpl = prop_template[prop]

    # A guest's usual segment and country come from one template of their home property;
    # all their bookings follow that segment, so the segment mix stays the real one.
    g_tpl = prop_template[home]
    primary = sampler.rows(rng, g_tpl, None)
    g_seg = pool["segment"][primary]
    one = ~repeat_guest

    # --- template row of each booking
    row = sampler.rows(rng, tpl, g_seg[guest])
    first_of_guest = np.concatenate([[0], np.cumsum(counts)[:-1]])
    single = first_of_guest[one]
    row[single] = primary[one]
    arrival = sampler.arrival_days(rng, row)
    # Nothing is booked after the end day: such draws are drawn again (same guest segment),
    # i.e. the bookings follow the real ones given that they were made by then.
    for _ in range(MAX_REDRAWS):
        late = np.flatnonzero(arrival - pool["lead"][row] > end_day)
        if len(late) == 0:
            break
        row[late] = sampler.rows(rng, tpl[late], g_seg[guest[late]])
        arrival[late] = sampler.arrival_days(rng, row[late])
    late = arrival - pool["lead"][row] - end_day
    arrival = np.where(late > 0, arrival - 7 * -(-late // 7), arrival)  # whole weeks earlier
    primary[one] = row[single]  # a one-booking guest's profile is that booking
    g_country = pool["country"][primary].astype(np.int32)
    domestic = (g_country == prt) | (g_country < 0)
    g_country = np.where(domestic, prop_country[home], g_country)
    g_solo = (pool["adults"][primary] == 1) & (pool["children"][primary] <= 0)
    lead = pool["lead"][row].astype(np.int64)
    booked = arrival - lead
    nights = pool["nights"][row].astype(np.int64)
    seg = pool["segment"][row]
    country = g_country[guest]
    country = np.where(rng.random(n) < calib.country_null_rate, -1, country).astype(np.int32)

    # --- room type: the template's place in its hotel's demand, mapped onto the inventory
    u = pool["room_lo"][row] + rng.random(n) * (pool["room_hi"][row] - pool["room_lo"][row])
    k = inv.type_cdf.shape[1]
    reserved = np.zeros(n, dtype=np.int32)
    for j in range(k - 1):
        reserved += u >= inv.type_cdf[prop, j]
    reserved = np.minimum(reserved, inv.n_types[prop] - 1)

    # --- ADR
    month = pool["month"][row] - 1
    adr = (
        inv.base_rate[prop, reserved]
        * calib.season[tpl, month]
        * calib.segment_adr[seg]
        * np.exp(rng.normal(0.0, calib.adr_sigma, n) - calib.adr_sigma**2 / 2)
    )
    adr = np.round(np.minimum(adr, 6 * inv.base_rate[prop, reserved]), 2)

    # --- order of each guest's bookings: repeat flag
    order = np.lexsort((np.arange(n), arrival, booked, guest))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - first_of_guest[guest[order]]
    repeated = rank > 0

    # --- cancellation
    bucket = np.searchsorted(LEAD_EDGES, lead, side="right") - 1
    p_cell = calib.cancel_rate[
        tpl, pool["deposit"][row], seg, bucket,
        (pool["requests"][row] > 0).astype(np.int32), (pool["parking"][row] > 0).astype(np.int32),
    ]
    p_cell = np.clip(p_cell, 1e-4, 1 - 1e-4)
    logit = np.log(p_cell / (1 - p_cell))
    logit += rng.normal(0.0, GUEST_PROPENSITY_SIGMA, G)[guest] + calib.repeat_log_odds * repeated
    target, shift = p_cell.mean(), 0.0
    for _ in range(8):  # keep the overall rate of the calibrated cells
        p = _sigmoid(logit + shift)
        shift -= (p.mean() - target) / max((p * (1 - p)).mean(), 1e-9)
    canceled = rng.random(n) < _sigmoid(logit + shift)

    # --- status, status date
    no_show = canceled & (rng.random(n) < calib.no_show_share)
    status = np.where(canceled, np.where(no_show, 2, 1), 0).astype(np.int8)
    frac = np.interp(rng.random(n), np.linspace(0.0, 1.0, len(calib.cancel_timing)), calib.cancel_timing)
    before = np.clip(np.round(frac * lead), np.minimum(lead, 1), lead).astype(np.int64)
    status_day = np.where(status == 0, arrival + nights, np.where(status == 2, arrival, arrival - before))
    known = status_day <= end_day  # an outcome dated later is not known on the end day

    # --- assigned room type, room
    change = rng.random(n) < calib.room_change[canceled.astype(np.int64)]
    up = reserved + 1
    moved = np.where(up < inv.n_types[prop], up, reserved - 1)
    assigned = np.where(change & (inv.n_types[prop] > 1), moved, reserved).astype(np.int32)
    room_index = inv.type_start[prop, assigned] + uniform_int(rng, inv.type_count[prop, assigned])
    room = inv.room_number[room_index]

    # --- previous outcomes known when booking: outcomes dated before the booking date
    base = 1 << 20
    ev_key = guest * (base * 2) + (status_day + base)
    ev_order = np.argsort(ev_key, kind="stable")
    ev_sorted = ev_key[ev_order]
    cum_cancel = np.concatenate([[0], np.cumsum(canceled[ev_order])])
    pos = np.searchsorted(ev_sorted, guest * (base * 2) + (booked + base), side="left")
    first = np.searchsorted(ev_sorted, guest * (base * 2), side="left")
    prev_cancel = cum_cancel[pos] - cum_cancel[first]
    prev_ok = (pos - first) - prev_cancel

    # --- guests numbered by their first booking date
    g_first_day = booked[order[first_of_guest]]
    g_rank = np.lexsort((np.arange(G), g_first_day))
    g_number = np.empty(G, dtype=np.int64)
    g_number[g_rank] = np.arange(1, G + 1)
    stays = np.bincount(guest, weights=~canceled & known, minlength=G).astype(np.int64)  # completed

    # --- output order: property, arrival, booking date
    out = np.lexsort((np.arange(n), booked, arrival, prop))
    cols = {
        "prop": prop, "canceled": canceled, "lead": lead, "arrival": arrival,
        "weekend": _weekend_nights(arrival, nights), "nights": nights,
        "adults": pool["adults"][row], "children": pool["children"][row], "babies": pool["babies"][row],
        "meal": pool["meal"][row], "country": country, "segment": seg,
        "channel": pool["channel"][row], "repeated": repeated,
        "prev_cancel": prev_cancel, "prev_ok": prev_ok, "reserved": reserved, "assigned": assigned,
        "changes": pool["changes"][row], "deposit": pool["deposit"][row],
        "agent": pool["agent"][row], "company": pool["company"][row],
        "waiting": pool["waiting"][row], "customer": pool["customer"][row], "adr": adr,
        "parking": pool["parking"][row], "requests": pool["requests"][row],
        "status": status, "status_day": status_day, "known": known, "guest": g_number[guest], "room": room,
    }
    cols = {k: v[out] for k, v in cols.items()}
    profiles = GuestProfiles(
        number=np.arange(1, G + 1),
        country=g_country[g_rank], market_segment=g_seg[g_rank], solo=g_solo[g_rank],
        created_day=g_first_day[g_rank], bookings=counts[g_rank], stays=stays[g_rank],
    )
    return Bookings(cols=cols, countries=countries, n_guests=G), profiles


def _week_number(arrival: pl.Expr) -> pl.Expr:
    """The extract's week number: weeks start on Sunday, week 1 holds January 1st."""
    jan1 = pl.date(arrival.dt.year(), 1, 1)
    return ((arrival.dt.ordinal_day() - 1 + jan1.dt.weekday() % 7) // 7 + 1).cast(pl.Int32)


def booking_id_expr(column: str, n_bookings: int) -> pl.Expr:
    width = max(BOOKING_ID_WIDTH, len(str(n_bookings)))
    return pl.lit("B") + pl.col(column).cast(pl.String).str.zfill(width)


def bookings_frame(b: Bookings, inv: Inventory, calib: Calibration, lo: int, hi: int) -> pl.DataFrame:
    """Rows [lo, hi) in the reference layout plus booking_id, guest_id, room_number."""
    c = {k: v[lo:hi] for k, v in b.cols.items()}
    n_types = inv.type_codes.shape[1]
    type_codes = pl.Series(inv.type_codes.reshape(-1).tolist(), dtype=pl.String)

    def vocab(values: tuple[str, ...] | list[str], codes: np.ndarray) -> pl.Series:
        return pl.Series(list(values), dtype=pl.String).gather(pl.Series(codes.astype(np.int64)))

    arrival = pl.Series(c["arrival"].astype(np.int32)).cast(pl.Date)
    frame = pl.DataFrame(
        {
            "hotel": vocab([p.name for p in inv.properties], c["prop"]),
            "is_canceled": (c["canceled"] & c["known"]).astype(np.int8),
            "lead_time": c["lead"],
            "arrival": arrival,
            "stays_in_weekend_nights": c["weekend"],
            "stays_in_week_nights": c["nights"] - c["weekend"],
            "adults": c["adults"],
            "children_n": c["children"],
            "babies": c["babies"],
            "meal": vocab(calib.meals, c["meal"]),
            "country_n": c["country"],
            "country_s": vocab(b.countries, np.maximum(c["country"], 0)),
            "month_s": vocab(MONTHS, c["arrival"].astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12),
            "market_segment": vocab(calib.segments, c["segment"]),
            "distribution_channel": vocab(calib.channels, c["channel"]),
            "is_repeated_guest": c["repeated"].astype(np.int8),
            "previous_cancellations": c["prev_cancel"],
            "previous_bookings_not_canceled": c["prev_ok"],
            "reserved_room_type": type_codes.gather(pl.Series(c["prop"].astype(np.int64) * n_types + c["reserved"])),
            "assigned_room_type": type_codes.gather(pl.Series(c["prop"].astype(np.int64) * n_types + c["assigned"])),
            "booking_changes": c["changes"],
            "deposit_type": vocab(calib.deposits, c["deposit"]),
            "agent": vocab(calib.agents, c["agent"]),
            "company": vocab(calib.companies, c["company"]),
            "days_in_waiting_list": c["waiting"],
            "customer_type": vocab(calib.customer_types, c["customer"]),
            "adr": c["adr"],
            "required_car_parking_spaces": c["parking"],
            "total_of_special_requests": c["requests"],
            "reservation_status": vocab(STATUSES, c["status"]),
            "status_date": pl.Series(c["status_day"].astype(np.int32)).cast(pl.Date),
            "known": c["known"],
            "booking_number": np.arange(lo + 1, hi + 1, dtype=np.int64),
            "guest_number": c["guest"],
            "room_number": c["room"],
        }
    )
    return frame.select(
        "hotel", "is_canceled", "lead_time",
        pl.col("arrival").dt.year().alias("arrival_date_year"),
        pl.col("month_s").alias("arrival_date_month"),
        _week_number(pl.col("arrival")).alias("arrival_date_week_number"),
        pl.col("arrival").dt.day().alias("arrival_date_day_of_month"),
        "stays_in_weekend_nights", "stays_in_week_nights", "adults",
        pl.when(pl.col("children_n") < 0).then(pl.lit("NA")).otherwise(pl.col("children_n").cast(pl.String)).alias("children"),
        "babies", "meal",
        pl.when(pl.col("country_n") < 0).then(pl.lit("NULL")).otherwise(pl.col("country_s")).alias("country"),
        "market_segment", "distribution_channel", "is_repeated_guest", "previous_cancellations",
        "previous_bookings_not_canceled", "reserved_room_type", "assigned_room_type",
        "booking_changes", "deposit_type", "agent", "company", "days_in_waiting_list",
        "customer_type", "adr", "required_car_parking_spaces", "total_of_special_requests",
        pl.when("known").then(pl.col("reservation_status")).alias("reservation_status"),
        pl.when("known").then(pl.col("status_date").dt.strftime("%Y-%m-%d")).alias("reservation_status_date"),
        booking_id_expr("booking_number", len(b)).alias("booking_id"),
        guest_id_expr("guest_number", b.n_guests).alias("guest_id"),
        pl.col("room_number").cast(pl.String),
    )
