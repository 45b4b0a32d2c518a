"""Distributions measured once on the real extract (``data/hotel_bookings.csv.gz``).

The synthetic bookings are a weighted bootstrap of real booking *templates*: a real row
lends its booking-time attributes jointly (lead time, stay length, party, meal, country,
segment, channel, deposit, customer type, agent, company, requests, parking), so the
correlations between them survive. What is re-drawn around the template is measured here:
arrival day weights (month x weekday), cancellation rates by cell, ADR season and segment
factors, cancellation timing, room changes, no-shows. The templates are the extract's rows
of the given real properties (those marked ``real: true`` in the property master), one
template hotel each. Computed once per (file, template hotels) (cached).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)
# Lead-time buckets (days) of the cancellation cells.
LEAD_EDGES = np.array([0, 1, 4, 8, 15, 31, 61, 91, 121, 181, 241, 301, 366], dtype=np.int64)
# Shrinkage of a cancellation cell toward its parent cell (pseudo-bookings).
_SHRINK = 25.0
_N_DAY_GROUPS = 12 * 7  # (month, weekday)


def day_group(dates: np.ndarray) -> np.ndarray:
    """(month - 1) * 7 + weekday (Mon = 0) of ``datetime64[D]`` dates."""
    days = dates.astype("datetime64[D]").astype(np.int64)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday
    month = dates.astype("datetime64[M]").astype(np.int64) % 12
    return (month * 7 + weekday).astype(np.int32)


@dataclass(frozen=True, eq=False)
class Calibration:
    templates: tuple[str, ...]
    meals: tuple[str, ...]
    countries: tuple[str, ...]
    segments: tuple[str, ...]
    channels: tuple[str, ...]
    deposits: tuple[str, ...]
    customer_types: tuple[str, ...]
    agents: tuple[str, ...]
    companies: tuple[str, ...]
    pool: dict[str, np.ndarray]  # template rows, sorted by (template, segment)
    group_start: np.ndarray  # pool boundaries of the (template, segment) groups, len T*S+1
    real_days: np.ndarray  # (T, 84): calendar days of each (month, weekday) in the extract
    cancel_rate: np.ndarray  # (T, deposit, segment, lead bucket, has requests, parking)
    repeat_log_odds: float  # Mantel-Haenszel log odds ratio of cancelling, repeat guests
    no_show_share: float  # of cancelled bookings
    cancel_timing: np.ndarray  # quantiles of (days cancelled before arrival) / lead time
    season: np.ndarray  # (T, 12): ADR factor by arrival month
    segment_adr: np.ndarray  # (S,): ADR factor by market segment
    adr_sigma: float  # log-normal ADR noise around the expected rate
    room_change: np.ndarray  # (2,): P(assigned != reserved) for kept / cancelled bookings
    country_null_rate: float
    max_occupancy: dict[str, int]  # by room type letter
    real_cancel_rate: float
    real_mean_lead: float

    def segment_code(self, name: str) -> int:
        return self.segments.index(name)


BUNDLED_EXTRACT = Path(__file__).resolve().parents[2] / "data" / "hotel_bookings.csv.gz"


def load_calibration(path: Path, templates: tuple[str, ...]) -> Calibration:
    """The calibration on the extract at ``path``, templates drawn from the rows of the
    hotels ``templates`` (those absent from the extract are left out)."""
    return _calibrate(str(Path(path).resolve()), tuple(templates))


def _codes(col: pl.Series, vocab: tuple[str, ...]) -> np.ndarray:
    return col.replace_strict(list(vocab), list(range(len(vocab))), default=-1).to_numpy().astype(np.int32)


@lru_cache(maxsize=4)
def _calibrate(path: str, wanted: tuple[str, ...]) -> Calibration:
    raw = pl.read_csv(path, infer_schema_length=0)  # all strings: keep NULL / NA verbatim
    num = [
        "is_canceled", "lead_time", "arrival_date_year", "arrival_date_day_of_month",
        "stays_in_weekend_nights", "stays_in_week_nights", "adults", "babies",
        "is_repeated_guest", "booking_changes", "days_in_waiting_list",
        "required_car_parking_spaces", "total_of_special_requests",
    ]
    df = raw.with_columns(
        [pl.col(c).cast(pl.Int64) for c in num]
        + [
            pl.col("adr").cast(pl.Float64),
            pl.when(pl.col("children") == "NA").then(-1).otherwise(pl.col("children").cast(pl.Int64, strict=False)).fill_null(-1).alias("children"),
            pl.col("arrival_date_month").replace_strict(list(MONTHS), list(range(1, 13))).cast(pl.Int64).alias("month"),
            pl.col("meal").replace("Undefined", "SC"),  # "Undefined" means no meal package (SC)
        ]
    ).with_columns(
        pl.date("arrival_date_year", "month", "arrival_date_day_of_month").alias("arrival"),
        (pl.col("stays_in_weekend_nights") + pl.col("stays_in_week_nights")).alias("nights"),
        pl.col("reservation_status_date").str.to_date("%Y-%m-%d").alias("status_date"),
    )
    real_cancel_rate = float(df["is_canceled"].to_numpy().mean())
    real_mean_lead = float(df["lead_time"].to_numpy().mean())

    present = set(df["hotel"].unique())
    templates = tuple(t for t in wanted if t in present)
    if not templates:
        raise ValueError(f"none of the real properties {list(wanted)} has bookings in {path}")
    # Clean template rows: a real party, a real stay, defined segment and channel.
    pool_df = df.filter(
        pl.col("hotel").is_in(list(templates))
        & pl.col("adults").is_between(1, 4)
        & pl.col("children").is_between(-1, 3)
        & pl.col("babies").is_between(0, 2)
        & pl.col("nights").is_between(1, 30)
        & (pl.col("market_segment") != "Undefined")
        & (pl.col("distribution_channel") != "Undefined")
        & (pl.col("required_car_parking_spaces") <= 3)
        & (pl.col("adr") >= 0)
        & (pl.col("adr") < 1000)
    )
    segments = tuple(sorted(pool_df["market_segment"].unique()))
    meals = tuple(sorted(pool_df["meal"].unique()))
    channels = tuple(sorted(pool_df["distribution_channel"].unique()))
    deposits = tuple(sorted(pool_df["deposit_type"].unique()))
    customer_types = tuple(sorted(pool_df["customer_type"].unique()))
    countries = tuple(sorted(c for c in pool_df["country"].unique() if c != "NULL"))
    agents = tuple(sorted(pool_df["agent"].unique()))
    companies = tuple(sorted(pool_df["company"].unique()))

    pool_df = pool_df.with_columns(
        pl.col("hotel").replace_strict(list(templates), list(range(len(templates)))).alias("tpl"),
        pl.Series("seg", _codes(pool_df["market_segment"], segments)),
    ).sort("tpl", "seg", "arrival", "lead_time", maintain_order=True)

    T, S = len(templates), len(segments)
    tpl = pool_df["tpl"].to_numpy().astype(np.int32)
    seg = pool_df["seg"].to_numpy().astype(np.int32)
    arrival = pool_df["arrival"].to_numpy().astype("datetime64[D]")
    month = pool_df["month"].to_numpy().astype(np.int32)

    # Room types of each template ordered by mean ADR; a row's reserved type becomes a band
    # [lo, hi) of the demand distribution, mapped later onto a property's own types.
    room_lo = np.zeros(len(pool_df))
    room_hi = np.zeros(len(pool_df))
    reserved = pool_df["reserved_room_type"].to_numpy()
    adr = pool_df["adr"].to_numpy()
    for t in range(T):
        m = tpl == t
        stats = (
            pool_df.filter(pl.col("tpl") == t)
            .group_by("reserved_room_type")
            .agg(pl.col("adr").mean().alias("adr"), pl.len().alias("n"))
            .sort("adr", "reserved_room_type")
        )
        share = stats["n"].to_numpy() / stats["n"].sum()
        hi = np.cumsum(share)
        lo = hi - share
        for code, a, b in zip(stats["reserved_room_type"].to_list(), lo, hi):
            sel = m & (reserved == code)
            room_lo[sel], room_hi[sel] = a, b

    pool = {
        "template": tpl,
        "segment": seg,
        "lead": pool_df["lead_time"].to_numpy().astype(np.int32),
        "day_group": day_group(arrival),
        "month": month,
        "nights": pool_df["nights"].to_numpy().astype(np.int32),
        "adults": pool_df["adults"].to_numpy().astype(np.int32),
        "children": pool_df["children"].to_numpy().astype(np.int32),
        "babies": pool_df["babies"].to_numpy().astype(np.int32),
        "meal": _codes(pool_df["meal"], meals),
        "country": _codes(pool_df["country"], countries),  # -1: NULL
        "channel": _codes(pool_df["distribution_channel"], channels),
        "deposit": _codes(pool_df["deposit_type"], deposits),
        "customer": _codes(pool_df["customer_type"], customer_types),
        "agent": _codes(pool_df["agent"], agents),
        "company": _codes(pool_df["company"], companies),
        "changes": pool_df["booking_changes"].to_numpy().astype(np.int32),
        "waiting": pool_df["days_in_waiting_list"].to_numpy().astype(np.int32),
        "parking": pool_df["required_car_parking_spaces"].to_numpy().astype(np.int32),
        "requests": pool_df["total_of_special_requests"].to_numpy().astype(np.int32),
        "room_lo": room_lo,
        "room_hi": room_hi,
    }
    group = tpl * S + seg
    group_start = np.searchsorted(group, np.arange(T * S + 1)).astype(np.int64)

    # Calendar days per (month, weekday) covered by each template's arrivals.
    real_days = np.zeros((T, _N_DAY_GROUPS))
    for t in range(T):
        a = arrival[tpl == t]
        span = np.arange(a.min(), a.max() + np.timedelta64(1, "D"))
        real_days[t] = np.bincount(day_group(span), minlength=_N_DAY_GROUPS)

    # Cancellation cells, each shrunk toward its parent:
    # template > deposit > segment > lead bucket > has requests > needs parking.
    canceled = pool_df["is_canceled"].to_numpy().astype(np.float64)
    dims = [
        (tpl, T),
        (pool["deposit"], len(deposits)),
        (seg, S),
        (np.searchsorted(LEAD_EDGES, pool["lead"], side="right") - 1, len(LEAD_EDGES)),
        ((pool["requests"] > 0).astype(np.int32), 2),
        ((pool["parking"] > 0).astype(np.int32), 2),
    ]
    rate = np.array(canceled.mean())
    flat = np.zeros(len(canceled), dtype=np.int64)
    shape: tuple[int, ...] = ()
    for codes, size in dims:
        flat = flat * size + codes
        shape = shape + (size,)
        total = int(np.prod(shape))
        n = np.bincount(flat, minlength=total).reshape(shape)
        c = np.bincount(flat, weights=canceled, minlength=total).reshape(shape)
        rate = (c + _SHRINK * rate[..., None]) / (n + _SHRINK)

    # Repeat guests cancel less: Mantel-Haenszel odds ratio within (template, segment, deposit).
    repeat = pool_df["is_repeated_guest"].to_numpy().astype(bool)
    strata = (tpl * S + seg) * len(deposits) + pool["deposit"]
    k = T * S * len(deposits)
    n_s = np.bincount(strata, minlength=k).astype(np.float64)
    a = np.bincount(strata, weights=(repeat & (canceled == 1)), minlength=k)
    b = np.bincount(strata, weights=(repeat & (canceled == 0)), minlength=k)
    c = np.bincount(strata, weights=(~repeat & (canceled == 1)), minlength=k)
    d = np.bincount(strata, weights=(~repeat & (canceled == 0)), minlength=k)
    ok = n_s > 0
    repeat_log_odds = float(np.log(((a * d)[ok] / n_s[ok]).sum() / ((b * c)[ok] / n_s[ok]).sum()))

    status = pool_df["reservation_status"].to_numpy()
    is_cancel = canceled == 1
    no_show_share = float((status == "No-Show").sum() / max(is_cancel.sum(), 1))
    lead = pool["lead"]
    before = (arrival - pool_df["status_date"].to_numpy().astype("datetime64[D]")).astype(np.int64)
    m = (status == "Canceled") & (lead > 0)
    frac = np.clip(before[m] / lead[m], 0.0, 1.0)
    cancel_timing = np.quantile(frac, np.linspace(0.0, 1.0, 201))

    # ADR: expected rate = room type mean x season(month) x segment factor, log-normal noise.
    comp = segments.index("Complementary") if "Complementary" in segments else -1
    paid = (adr > 0) & (seg != comp)
    type_key = tpl.astype(np.int64) * 1000 + np.array([ord(x[0]) for x in reserved])
    keys, inv = np.unique(type_key[paid], return_inverse=True)
    type_mean = np.bincount(inv, weights=adr[paid]) / np.bincount(inv)
    rel = adr[paid] / type_mean[inv]
    tm = tpl[paid] * 12 + (month[paid] - 1)
    season = (np.bincount(tm, weights=rel, minlength=T * 12) / np.maximum(np.bincount(tm, minlength=T * 12), 1)).reshape(T, 12)
    season = np.where(season > 0, season, 1.0)
    rel2 = rel / season.reshape(-1)[tm]
    sp = seg[paid]
    segment_adr = np.bincount(sp, weights=rel2, minlength=S) / np.maximum(np.bincount(sp, minlength=S), 1)
    segment_adr = np.where(segment_adr > 0, segment_adr, 1.0)
    if comp >= 0:
        segment_adr[comp] = 0.0  # complimentary stays are free
    resid = np.log(rel2 / segment_adr[sp])
    adr_sigma = float(1.4826 * np.median(np.abs(resid - np.median(resid))))

    assigned = pool_df["assigned_room_type"].to_numpy()
    changed = reserved != assigned
    room_change = np.array([changed[~is_cancel].mean(), changed[is_cancel].mean()])

    party = pool["adults"] + np.maximum(pool["children"], 0) + pool["babies"]
    occ = pl.DataFrame({"t": assigned, "p": party}).group_by("t").agg(pl.col("p").quantile(0.99, "nearest"))
    max_occupancy = {t: int(np.clip(p, 2, 6)) for t, p in zip(occ["t"].to_list(), occ["p"].to_list())}

    return Calibration(
        templates=templates, meals=meals, countries=countries, segments=segments,
        channels=channels, deposits=deposits, customer_types=customer_types,
        agents=agents, companies=companies, pool=pool, group_start=group_start,
        real_days=real_days, cancel_rate=rate, repeat_log_odds=repeat_log_odds,
        no_show_share=no_show_share,
        cancel_timing=cancel_timing, season=season, segment_adr=segment_adr,
        adr_sigma=adr_sigma, room_change=room_change,
        country_null_rate=float((pool["country"] < 0).mean()), max_occupancy=max_occupancy,
        real_cancel_rate=real_cancel_rate, real_mean_lead=real_mean_lead,
    )
