"""Dynamic pricing: a demand model and a revenue-maximising price optimiser under rules.

Data (read from the marts as they stood at the end of the timeline's as-of day, ``ml.timeline``)
    Realised rooms sold per hotel x room type x stay date up to the as-of day: the nights of
    the bookings made by then and not cancelled by then (room type as occupied), with the
    average rate charged (ADR). A hotel's days run from its first arrival + ``WARMUP_DAYS``
    to its last arrival on or before the as-of day (later nights are the tail of earlier
    stays). Rooms on the books ``h`` days before a stay: bookings made by then and not
    cancelled by then (room type as reserved), only for horizon dates on or before the as-of
    day. Nothing booked, cancelled or stayed after the as-of day is read.

Demand model
    XGBoost regression of the rooms sold for one hotel x room type x stay date as seen from
    a lead-time horizon h (``HORIZONS``), from: weekday, month, week of year, the room type's
    inventory and its typical demand (training profile), the rooms on the books h days out,
    the price (the day's ADR) and the competitor average. Price enters as log(price) and
    log(price / competitor) with monotone-decreasing constraints, so expected demand never
    rises with our own price.

    The competitor average is SIMULATED (no rate-shopping data exists): the seasonal median
    ADR of the same hotel x room type x month x weekday over the training period, times
    deterministic seeded noise (see `ml.pricing_rules`).

Evaluation (against what happened)
    Each property is held out on its last ``evaluation_months`` of realised stays up to the
    as-of day (``Timeline.windows`` on its days with rooms sold); the model trains on the
    stay dates before each property's held-out period and is scored on the stays in it, at
    every horizon, at the prices actually charged: demand MAE (the primary, lower is better),
    RMSE and bias (mean predicted - realised) per property and for the group. Baselines on
    the same rows: seasonal-naive (rooms sold on the same weekday 52 weeks before; the
    training profile of the month x weekday where that day is not in the data) and, as a
    stronger simple peer, additive pickup (rooms on the books + the training mean of the
    rooms picked up after that horizon). A property with too little history trains the model
    and is reported ``evaluated: false`` with the reason. ``score`` re-scores any loaded model
    (the champion) on the same held-out rows with its own features.

Model-estimated uplift (NOT a measured gain)
    On the held-out stays at ``DEFAULT_HORIZON``, expected revenue at the optimised prices
    vs at the prices actually charged, both under the demand model
    (``model_estimated_uplift_pct``). Its interval (``_p05``/``_p95``) resamples held-out days
    and adds the demand model's own held-out errors; it does not cover a bias of the
    estimated price response (observational prices are confounded with demand: an A/B test
    or a price experiment is needed before trusting the number). Its baseline is the uplift
    the same model estimates for a rate card (the seasonal median ADR brought inside the
    rules).

Optimiser
    For each stay date (in order) x room type, choose the price from a log-spaced grid
    between floor and ceiling (plus the current price and the bounds of the allowed band)
    that maximises expected revenue = price x min(expected demand, rooms available), subject
    to `PricingRules` (floor/ceiling hard, then max change vs the previous day's suggested
    price, then the band around the competitor average). A stay date after the as-of day is
    priced from the rooms on the books on the as-of day (kept in the model, with their
    average rate as the current price) at a horizon of the days between them; for a hotel
    without any booking on the books ahead (a closed extract), the rooms on the books are
    the training profile's typical count at that horizon.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import duckdb
import mlflow
import numpy as np
import pandas as pd
import xgboost as xgb

from ml.pricing_rules import (
    PricingRules,
    seasonal_adr,
    seasonal_adr_profile,
    simulated_competitor_avg,
    static_bounds,
)
from ml.registry import GROUP, Candidate
from ml.timeline import PropertyWindow, Timeline

HORIZONS = (1, 3, 7, 14, 30, 60, 90)
DEFAULT_HORIZON = 30  # the horizon of the uplift estimate and of rows given without one
WARMUP_DAYS = 14  # first days of a hotel's data miss stays that arrived before it
SEASONAL_LAG_DAYS = 364  # same weekday, 52 weeks before
FEATURES = ["horizon", "rooms_available", "otb", "otb_frac", "prof_sold", "prof_pickup", "dow",
            "month", "week", "log_comp", "log_price", "log_ratio"]
# The features of models registered before prof_pickup existed (their pickles lack `features`).
LEGACY_FEATURES = [c for c in FEATURES if c != "prof_pickup"]
MONOTONE = {"log_price": -1, "log_ratio": -1, "otb": 1, "otb_frac": 1}
XGB_PARAMS = {"objective": "reg:squarederror", "max_depth": 6, "eta": 0.06, "subsample": 0.8,
              "colsample_bytree": 0.9, "min_child_weight": 5, "tree_method": "hist",
              "nthread": 2, "seed": 7}
ROUNDS = 350
BOOTSTRAP_DRAWS = 400  # resamples of the held-out days for the uplift interval
INTERVAL = (5, 95)  # percentiles of the uplift interval
# The lake table of the 03:00 schedule (hotel x room type x date), read by the API.
SCHEDULE_TABLE = "gold/price_schedule"
OUTPUT_COLUMNS = ["hotel", "room_type", "date", "suggested_price", "current_price",
                  "expected_occupancy", "competitor_avg", "confidence"]
ERRORS = ("mae", "rmse", "bias")


# --------------------------------------------------------------------------- data

_DAILY_SQL = """
    with known as (
        select * from fct_bookings
        where booking_date <= $as_of and arrival_date is not null and hotel is not null
    ),
    span as (
        select hotel, min(arrival_date) + $warmup as first_day,
               least(max(arrival_date), $as_of) as last_day
        from known group by hotel
    ),
    nights as (
        select hotel, coalesce(assigned_room_type, reserved_room_type) as room_type, adr,
               unnest(range(arrival_date::timestamp, departure_date::timestamp,
                            interval 1 day))::date as stay_date
        from known
        where nights > 0 and departure_date > arrival_date
          -- a cancellation counts once it is settled by the as-of day
          and not (coalesce(is_canceled, false) and coalesce(reservation_status_date <= $as_of, false))
    ),
    sold as (
        select hotel, room_type, stay_date, count(*) as rooms_sold, avg(adr) as adr
        from nights where stay_date <= $as_of group by all
    )
    select o.hotel, o.room_type, o.date::timestamp as date, o.rooms_available,
           coalesce(s.rooms_sold, 0) as rooms_sold, s.adr
    from fct_daily_occupancy o
    join span p on p.hotel = o.hotel
    left join sold s on s.hotel = o.hotel and s.room_type = o.room_type and s.stay_date = o.date
    where o.rooms_available > 0 and o.date between p.first_day and p.last_day
    order by o.hotel, o.room_type, o.date
"""

# Nights of the bookings made by the as-of day, room type as reserved (what is on the books
# before the guest is assigned a room).
_BOOKED_NIGHTS = """
    select hotel, reserved_room_type as room_type, booking_date, adr,
           coalesce(is_canceled, false) as is_canceled, reservation_status_date,
           unnest(range(arrival_date::timestamp, departure_date::timestamp,
                        interval 1 day))::date as stay_date
    from fct_bookings
    where booking_date <= $as_of and nights > 0 and departure_date > arrival_date
      and reserved_room_type is not null and hotel is not null
"""

_OTB_SQL = f"""
    with nights as ({_BOOKED_NIGHTS}),
    h as (select unnest($horizons::integer[]) as horizon)
    select n.hotel, n.room_type, n.stay_date::timestamp as date, h.horizon, count(*) as otb
    from nights n cross join h
    where n.stay_date <= $as_of
      and n.booking_date <= n.stay_date - h.horizon
      -- still on the books on the horizon date unless cancelled by then
      and not (n.is_canceled and coalesce(n.reservation_status_date <= n.stay_date - h.horizon, false))
    group by all
"""

_FORWARD_SQL = f"""
    with nights as ({_BOOKED_NIGHTS})
    select hotel, room_type, stay_date::timestamp as date, count(*) as otb,
           avg(adr) filter (where adr > 0) as otb_adr
    from nights
    where stay_date > $as_of
      and not (is_canceled and coalesce(reservation_status_date <= $as_of, false))
    group by all
    order by all  -- a group by's order is the threads' (the same data, the same frame)
"""


def load_frames(marts: duckdb.DuckDBPyConnection, as_of: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(daily, otb) as of `as_of`: realised rows hotel x room type x stay date with inventory,
    rooms sold and ADR; rooms on the books per stay date and horizon."""
    daily = marts.execute(_DAILY_SQL, {"as_of": as_of, "warmup": WARMUP_DAYS}).df()
    otb = marts.execute(_OTB_SQL, {"as_of": as_of, "horizons": list(HORIZONS)}).df()
    daily["date"] = pd.to_datetime(daily["date"])
    otb["date"] = pd.to_datetime(otb["date"])
    otb["horizon"] = otb["horizon"].astype(int)
    return daily, otb


def forward_book(marts: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """Rooms on the books at the end of `as_of` for each later stay date, and their ADR."""
    f = marts.execute(_FORWARD_SQL, {"as_of": as_of}).df()
    f["date"] = pd.to_datetime(f["date"])
    return f


def base_rates(marts: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Listed rooms and base rate per hotel x room type (the property master's, dim_room_types)."""
    return marts.sql("select hotel, room_type, base_rate, rooms from dim_room_types "
                     "where hotel is not null and room_type is not null").df()


def known_hotels(marts: duckdb.DuckDBPyConnection, as_of: date) -> dict[str, bool]:
    """Every hotel of the marts (with a booking made by the as-of day, or in the inventory)
    and whether it has such a booking."""
    f = marts.execute("""
        select hotel, bool_or(booked) as booked from (
            select distinct hotel, true as booked from fct_bookings where booking_date <= $as_of
            union all select distinct hotel, false from dim_room_types
        ) where hotel is not null group by hotel order by hotel
    """, {"as_of": as_of}).df()
    return dict(zip(f["hotel"], f["booked"].astype(bool)))


# --------------------------------------------------------------------------- model


class PricingModel(mlflow.pyfunc.PythonModel):
    """Demand model + optimiser. `predict` returns a price schedule for the rows given.

    Input columns: hotel, room_type, date; optional current_price, competitor_avg
    (SIMULATED when absent), lead_days (horizon), rooms_on_books, rooms_available (inventory
    when absent). Without lead_days / rooms_on_books / current_price, a stay date after the
    model's as-of day takes the days since the as-of day, the rooms on the books then and
    their average rate; an earlier one (or a hotel with nothing on the books ahead) takes
    ``DEFAULT_HORIZON``, the training profile's typical rooms on the books and the seasonal
    ADR."""

    def __init__(self, booster: xgb.Booster | None, tables: dict[str, pd.DataFrame],
                 rules: PricingRules | None = None, as_of: date | None = None):
        self.booster = booster
        self.tables = tables
        self.rules = rules or PricingRules()
        self.as_of = as_of
        self.features = list(FEATURES)

    # -- features --------------------------------------------------------------

    def _inventory(self, frame: pd.DataFrame, strict: bool) -> pd.DataFrame:
        out = frame.merge(self.tables["inventory"], on=["hotel", "room_type"], how="left")
        missing = out["base_rate"].isna()
        if missing.any() and strict:
            bad = out.loc[missing, ["hotel", "room_type"]].drop_duplicates().to_records(index=False)
            raise ValueError(f"unknown hotel / room type: {[tuple(b) for b in bad][:5]}")
        if missing.any():  # re-scoring rows of a hotel this model never saw: their own figures
            nan = pd.Series(np.nan, index=out.index)
            price = pd.to_numeric(out.get("current_price", nan), errors="coerce")
            rooms = pd.to_numeric(out.get("rooms_available", nan), errors="coerce")
            out["base_rate"] = (out["base_rate"].fillna(price.where(price > 0))
                                .fillna(float(self.tables["inventory"]["base_rate"].median())))
            out["rooms"] = out["rooms"].fillna(rooms).fillna(1.0)
        return out

    def _forward(self, f: pd.DataFrame) -> pd.DataFrame:
        """Rooms on the books on the as-of day and their ADR, for rows after the as-of day of
        hotels with a forward book (NaN elsewhere)."""
        book = self.tables.get("on_books")
        ahead = (f["date"] > pd.Timestamp(self.as_of)) if getattr(self, "as_of", None) else \
            pd.Series(False, index=f.index)
        out = pd.DataFrame({"otb": np.nan, "otb_adr": np.nan}, index=f.index)
        if book is None or book.empty or not ahead.any():
            return out
        live = ahead & f["hotel"].isin(set(book["hotel"]))
        found = f[["hotel", "room_type", "date"]].merge(book, on=["hotel", "room_type", "date"],
                                                        how="left")
        out["otb"] = np.where(live, found["otb"].fillna(0.0).to_numpy(), np.nan)
        out["otb_adr"] = np.where(live, found["otb_adr"].to_numpy(dtype=float), np.nan)
        return out

    def _default_horizon(self, f: pd.DataFrame, live: pd.Series) -> pd.Series:
        """Days from the as-of day for rows priced from the forward book, else the default."""
        if not live.any():
            return pd.Series(float(DEFAULT_HORIZON), index=f.index)
        ahead = (f["date"] - pd.Timestamp(self.as_of)).dt.days
        return ahead.where(live, DEFAULT_HORIZON).astype(float)

    def prepare(self, model_input: pd.DataFrame, strict: bool = True) -> pd.DataFrame:
        """Normalise an input frame: types, defaults, simulated competitor, inventory. An
        unknown hotel / room type raises unless `strict` is False (re-scoring another
        model's held-out rows)."""
        f = model_input.copy().reset_index(drop=True)
        f["hotel"] = f["hotel"].astype(str)
        f["room_type"] = f["room_type"].astype(str)
        f["date"] = pd.to_datetime(f["date"]).dt.normalize()
        f = self._inventory(f, strict)
        if "rooms_available" not in f or f["rooms_available"].isna().any():
            f["rooms_available"] = f.get("rooms_available", pd.Series(np.nan, index=f.index)).fillna(f["rooms"])
        f["rooms_available"] = pd.to_numeric(f["rooms_available"], errors="coerce").astype(float)
        forward = self._forward(f)
        own = pd.Series(seasonal_adr(self.tables["adr"], f, f["base_rate"]), index=f.index)
        own = forward["otb_adr"].where(forward["otb_adr"] > 0).fillna(own)
        comp = pd.Series(simulated_competitor_avg(self.tables["adr"], f, f["base_rate"]), index=f.index)
        for col, default in (("current_price", own), ("competitor_avg", comp)):
            given = (pd.to_numeric(f[col], errors="coerce") if col in f
                     else pd.Series(np.nan, index=f.index))
            f[col] = given.where(given > 0).fillna(default).astype(float)
        lead = (pd.to_numeric(f["lead_days"], errors="coerce") if "lead_days" in f
                else pd.Series(np.nan, index=f.index))
        f["horizon"] = lead.fillna(self._default_horizon(f, forward["otb"].notna())).clip(0, 365).astype(float)
        given_otb = (pd.to_numeric(f["rooms_on_books"], errors="coerce") if "rooms_on_books" in f
                     else pd.Series(np.nan, index=f.index))
        f["otb"] = given_otb.fillna(forward["otb"]).fillna(pd.Series(self._profile_otb(f), index=f.index))
        f["otb"] = f["otb"].astype(float)
        f["month"] = f["date"].dt.month
        f["dow"] = f["date"].dt.dayofweek
        f["week"] = f["date"].dt.isocalendar().week.astype(int).to_numpy()
        prof = f[["hotel", "room_type", "month", "dow"]].merge(
            self.tables["sold"], on=["hotel", "room_type", "month", "dow"], how="left")["prof_sold"]
        f["prof_sold"] = prof.fillna(0.0).to_numpy()
        hs = np.array(HORIZONS)
        nearest = hs[np.abs(f["horizon"].to_numpy()[:, None] - hs[None, :]).argmin(axis=1)]
        key = pd.DataFrame({"hotel": f["hotel"], "room_type": f["room_type"], "horizon": nearest})
        pickup = self.tables.get("pickup", pd.DataFrame(columns=["hotel", "room_type", "horizon", "pickup"]))
        f["prof_pickup"] = key.merge(pickup, on=["hotel", "room_type", "horizon"],
                                     how="left")["pickup"].fillna(0.0).to_numpy()
        return f

    def _profile_otb(self, f: pd.DataFrame) -> np.ndarray:
        """The training profile's mean rooms on the books (hotel x room type x month x the
        nearest trained horizon)."""
        hs = np.array(HORIZONS)
        nearest = hs[np.abs(f["horizon"].to_numpy()[:, None] - hs[None, :]).argmin(axis=1)]
        key = pd.DataFrame({"hotel": f["hotel"], "room_type": f["room_type"],
                            "month": f["date"].dt.month, "horizon": nearest})
        return key.merge(self.tables["otb"], on=["hotel", "room_type", "month", "horizon"],
                         how="left")["otb"].fillna(0.0).to_numpy()

    def _matrix(self, f: pd.DataFrame, price: np.ndarray) -> np.ndarray:
        cols = {
            "horizon": f["horizon"].to_numpy(float), "rooms_available": f["rooms_available"].to_numpy(float),
            "otb": f["otb"].to_numpy(float),
            "otb_frac": f["otb"].to_numpy(float) / np.maximum(f["rooms_available"].to_numpy(float), 1),
            "prof_sold": f["prof_sold"].to_numpy(float), "prof_pickup": f["prof_pickup"].to_numpy(float),
            "dow": f["dow"].to_numpy(float),
            "month": f["month"].to_numpy(float), "week": f["week"].to_numpy(float),
            "log_comp": np.log(f["competitor_avg"].to_numpy(float)),
            "log_price": np.log(price), "log_ratio": np.log(price / f["competitor_avg"].to_numpy(float)),
        }
        return np.column_stack([cols[c] for c in self._features()])

    def _features(self) -> list[str]:
        return getattr(self, "features", LEGACY_FEATURES)

    def demand_at(self, f: pd.DataFrame, price: np.ndarray) -> np.ndarray:
        """Expected demand (rooms) for prepared rows `f` at prices `price` (one per row)."""
        m = xgb.DMatrix(self._matrix(f, np.asarray(price, float)), feature_names=self._features())
        return np.maximum(self.booster.predict(m), 0.0)

    def expected_demand(self, model_input: pd.DataFrame, price: np.ndarray | None = None,
                        strict: bool = True) -> np.ndarray:
        """Expected rooms sold at `price` (default: each row's current price)."""
        f = self.prepare(model_input, strict=strict)
        return self.demand_at(f, f["current_price"].to_numpy(float) if price is None else price)

    def confidence(self, f: pd.DataFrame) -> np.ndarray:
        hs = np.array(HORIZONS)
        nearest = hs[np.abs(f["horizon"].to_numpy()[:, None] - hs[None, :]).argmin(axis=1)]
        key = pd.DataFrame({"hotel": f["hotel"], "room_type": f["room_type"], "horizon": nearest})
        c = key.merge(self.tables["confidence"], on=["hotel", "room_type", "horizon"], how="left")
        return c["confidence"].fillna(0.5).to_numpy()

    # -- optimiser -------------------------------------------------------------

    def optimise_frame(self, f: pd.DataFrame) -> pd.DataFrame:
        """Optimised prices for prepared rows; adds suggested_price, demand_suggested,
        demand_current, expected_occupancy, confidence. Rows are processed per hotel x room
        type in date order (the max daily change links consecutive dates)."""
        r = self.rules
        f = f.sort_values(["hotel", "room_type", "date"]).reset_index(drop=True)
        n = len(f)
        base = f["base_rate"].to_numpy(float)
        comp = f["competitor_avg"].to_numpy(float)
        cur = f["current_price"].to_numpy(float)
        cap = f["rooms_available"].to_numpy(float)
        floor, ceil, lo, hi = static_bounds(r, base, comp)
        # candidate grid: log-spaced floor..ceiling + current price + band bounds (clipped)
        g = np.exp(np.linspace(np.log(floor), np.log(ceil), r.grid_points, axis=1))
        extra = np.column_stack([np.clip(cur, floor, ceil), np.clip(lo, floor, ceil),
                                 np.clip(hi, floor, ceil)])
        grid = np.sort(np.concatenate([g, extra], axis=1), axis=1)
        k = grid.shape[1]
        rep = f.loc[np.repeat(np.arange(n), k)].reset_index(drop=True)
        dem = self.demand_at(rep, grid.ravel()).reshape(n, k)
        # enforce monotone non-increasing demand along the grid (guards float ties)
        dem = np.minimum.accumulate(dem, axis=1)
        lg = np.log(grid)

        def interp(i: int, p: float) -> float:
            return float(np.interp(np.log(p), lg[i], dem[i]))

        group = (f["hotel"] + "\x1f" + f["room_type"]).to_numpy()
        dates = f["date"].to_numpy()
        suggested = np.empty(n)
        d_sug = np.empty(n)
        tol = 1e-9
        for i in range(n):
            chained = i > 0 and group[i] == group[i - 1] and \
                (dates[i] - dates[i - 1]) == np.timedelta64(1, "D")
            a_lo, a_hi = floor[i], ceil[i]
            if chained:
                prev = suggested[i - 1]
                a_lo = max(a_lo, prev * (1 - r.max_daily_change))
                a_hi = min(a_hi, prev * (1 + r.max_daily_change))
            b_lo, b_hi = max(a_lo, lo[i]), min(a_hi, hi[i])
            if b_lo > b_hi:  # band unreachable: the allowed price closest to the band
                p = a_lo if hi[i] < a_lo else a_hi
                suggested[i], d_sug[i] = p, interp(i, p)
                continue
            mask = (grid[i] >= b_lo * (1 - tol)) & (grid[i] <= b_hi * (1 + tol))
            cand_p = np.concatenate([grid[i][mask], [b_lo, b_hi]])
            cand_d = np.concatenate([dem[i][mask], [interp(i, b_lo), interp(i, b_hi)]])
            rev = cand_p * np.minimum(cand_d, cap[i])
            j = int(np.argmax(rev))
            suggested[i], d_sug[i] = cand_p[j], cand_d[j]
        f["suggested_price"] = suggested
        f["demand_suggested"] = d_sug
        f["demand_current"] = [interp(i, c) for i, c in enumerate(np.clip(cur, floor, ceil))]
        outside = (cur < floor) | (cur > ceil)  # current price off the grid: predict exactly
        if outside.any():
            f.loc[outside, "demand_current"] = self.demand_at(f.loc[outside], cur[outside])
        f["expected_occupancy"] = np.minimum(d_sug, cap) / np.maximum(cap, 1)
        f["confidence"] = self.confidence(f)
        return f

    def hotels(self) -> list[str]:
        """The hotels the model prices (those of its inventory)."""
        return sorted(self.tables["inventory"]["hotel"].unique())

    def room_types(self, hotel: str) -> list[str]:
        """The room types of a hotel's inventory (empty for a hotel the model does not know)."""
        inv = self.tables["inventory"]
        return sorted(inv.loc[inv["hotel"] == hotel, "room_type"])

    def optimise(self, hotel: str, start, days: int, room_types: list[str] | None = None,
                 current_prices: pd.DataFrame | None = None) -> pd.DataFrame:
        """A price schedule for `hotel`, `days` stay dates from `start`, per room type (all of
        the hotel's inventory by default). Stay dates after the model's as-of day (today's,
        for a model trained as of yesterday) are priced from the rooms on the books then."""
        types = room_types or self.room_types(hotel)
        if not types:
            raise ValueError(f"unknown hotel: {hotel!r}")
        dates = pd.date_range(pd.Timestamp(start), periods=days, freq="D")
        frame = pd.DataFrame([(hotel, rt, d) for rt in types for d in dates],
                             columns=["hotel", "room_type", "date"])
        if current_prices is not None:
            frame = frame.merge(current_prices.assign(date=pd.to_datetime(current_prices["date"])),
                                on=["hotel", "room_type", "date"], how="left")
        frame["date"] = frame["date"].dt.strftime("%Y-%m-%d")  # the pyfunc signature's type
        return self.predict(frame)

    def predict(self, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        out = self.optimise_frame(self.prepare(model_input))
        out = out[OUTPUT_COLUMNS].copy()
        out["date"] = out["date"].dt.strftime("%Y-%m-%d")
        for c in ("suggested_price", "current_price", "competitor_avg"):
            out[c] = out[c].round(2)
        out["expected_occupancy"] = out["expected_occupancy"].round(4)
        out["confidence"] = out["confidence"].round(3)
        return out


# --------------------------------------------------------------------------- training


@dataclass
class Dataset:
    """The rows of one training as of a day: every realised hotel x room type x stay date at
    every horizon (`grid`, with `split` = train / test / none), the model's look-up tables,
    each property's window and the rooms on the books ahead."""

    grid: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    windows: dict[str, PropertyWindow]
    on_books: pd.DataFrame


def _inventory_table(marts: duckdb.DuckDBPyConnection, daily: pd.DataFrame) -> pd.DataFrame:
    """Room types with a base rate and rooms: the listed inventory, its rooms as the
    occupancy mart counts them where it does, a missing base rate filled from the ADR."""
    inv = base_rates(marts)
    counted = daily.groupby(["hotel", "room_type"], as_index=False)["rooms_available"].max()
    inv = inv.merge(counted, on=["hotel", "room_type"], how="left")
    inv["rooms"] = inv["rooms_available"].fillna(inv["rooms"]).astype(float)
    inv = inv.drop(columns="rooms_available")
    adr = daily[daily["adr"] > 0].groupby(["hotel", "room_type"])["adr"].median()
    inv["base_rate"] = inv["base_rate"].fillna(
        inv.set_index(["hotel", "room_type"]).index.map(adr).to_series(index=inv.index))
    inv["base_rate"] = inv["base_rate"].fillna(inv.groupby("hotel")["base_rate"].transform("median"))
    inv["base_rate"] = inv["base_rate"].fillna(inv["base_rate"].median())
    inv = inv[inv["base_rate"].notna() & (inv["base_rate"] > 0) & (inv["rooms"] > 0)]
    return inv.reset_index(drop=True)


def build_dataset(marts: duckdb.DuckDBPyConnection, timeline: Timeline) -> Dataset:
    daily, otb = load_frames(marts, timeline.as_of)
    inv = _inventory_table(marts, daily)
    daily = daily.merge(inv[["hotel", "room_type"]], on=["hotel", "room_type"], how="inner")
    sold_days = daily.loc[daily["rooms_sold"] > 0, ["hotel", "date"]].rename(columns={"date": "day"})
    windows = timeline.windows(sold_days, unit="stay nights")
    start = daily["hotel"].map({h: pd.Timestamp(w.test_start) for h, w in windows.items()})
    last = daily["hotel"].map({h: pd.Timestamp(w.last_day) for h, w in windows.items()})
    evaluated = daily["hotel"].map({h: w.evaluated for h, w in windows.items()}).fillna(False).astype(bool)
    # a hotel absent from the windows has sold nothing yet: all its days train
    is_train = start.isna() | (daily["date"] < start)
    is_test = evaluated & (daily["date"] >= start) & (daily["date"] <= last)
    daily["split"] = np.select([is_train, is_test], ["train", "test"], "none")

    train_days = daily[daily["split"] == "train"]
    d = train_days.assign(month=train_days["date"].dt.month, dow=train_days["date"].dt.dayofweek)
    sold = (d.groupby(["hotel", "room_type", "month", "dow"], as_index=False)["rooms_sold"].mean()
            .rename(columns={"rooms_sold": "prof_sold"}))
    grid = daily.merge(pd.DataFrame({"horizon": HORIZONS}), how="cross")
    grid = grid.merge(otb, on=["hotel", "room_type", "date", "horizon"], how="left")
    grid["otb"] = grid["otb"].fillna(0).astype(float)
    tr = grid[grid["split"] == "train"]
    otb_prof = (tr.assign(month=tr["date"].dt.month)
                .groupby(["hotel", "room_type", "month", "horizon"], as_index=False)["otb"].mean())
    pickup = (tr.assign(pickup=tr["rooms_sold"] - tr["otb"])
              .groupby(["hotel", "room_type", "horizon"], as_index=False)["pickup"].mean())
    tables = {"inventory": inv, "adr": seasonal_adr_profile(train_days), "sold": sold,
              "otb": otb_prof, "pickup": pickup,
              "confidence": pd.DataFrame(columns=["hotel", "room_type", "horizon", "confidence"])}
    # seasonal-naive: rooms sold on the same weekday 52 weeks before (realised by then)
    lag = daily[["hotel", "room_type", "date", "rooms_sold"]].copy()
    lag["date"] = lag["date"] + pd.Timedelta(days=SEASONAL_LAG_DAYS)
    grid = grid.merge(lag.rename(columns={"rooms_sold": "naive"}), on=["hotel", "room_type", "date"], how="left")
    grid = grid.merge(pickup, on=["hotel", "room_type", "horizon"], how="left")
    grid["pickup_forecast"] = (grid["otb"] + grid["pickup"].fillna(0.0)).clip(lower=0.0)
    return Dataset(grid.drop(columns="pickup"), tables, windows, forward_book(marts, timeline.as_of))


def _model_input(grid: pd.DataFrame) -> pd.DataFrame:
    """Rows as the model is asked about them: price = the day's ADR (the seasonal ADR on days
    nothing was sold), rooms on the books as observed at the horizon."""
    inp = grid.rename(columns={"adr": "current_price", "horizon": "lead_days", "otb": "rooms_on_books"})
    return inp[["hotel", "room_type", "date", "current_price", "lead_days", "rooms_on_books",
                "rooms_available"]].reset_index(drop=True)


def _prepare_rows(model: PricingModel, grid: pd.DataFrame) -> pd.DataFrame:
    """Prepared rows with the outcome (rooms_sold) and the baselines' forecasts alongside."""
    f = model.prepare(_model_input(grid))
    f["rooms_sold"] = grid["rooms_sold"].to_numpy(float)
    # seasonal-naive falls back to the training profile where the day 52 weeks before is unknown
    f["naive"] = pd.Series(grid["naive"].to_numpy(float)).fillna(f["prof_sold"]).to_numpy()
    f["pickup_forecast"] = grid["pickup_forecast"].to_numpy(float)
    return f


def errors(pred, actual) -> dict[str, float]:
    """MAE, RMSE and bias (mean predicted - actual) in rooms; NaN for no rows."""
    e = np.asarray(pred, float) - np.asarray(actual, float)
    if not len(e):
        return {k: float("nan") for k in ERRORS}
    return {"mae": float(np.mean(np.abs(e))), "rmse": float(np.sqrt(np.mean(e ** 2))),
            "bias": float(np.mean(e))}


def _evaluation(te: pd.DataFrame) -> tuple[dict[str, float], dict[str, float]]:
    """(model, baseline) figures on held-out rows with pred, rooms_sold, naive, pickup_forecast."""
    y = te["rooms_sold"].to_numpy(float)
    metrics = errors(te["pred"], y)
    baseline = errors(te["naive"], y)
    baseline.update({f"pickup_{k}": v for k, v in errors(te["pickup_forecast"], y).items()})
    for h in (1, 7, 30, 90):
        m = (te["horizon"] == h).to_numpy()
        metrics[f"mae_h{h}"] = errors(te["pred"][m], y[m])["mae"]
        baseline[f"mae_h{h}"] = errors(te["naive"][m], y[m])["mae"]
    return metrics, baseline


def price_elasticity(model: PricingModel, f: pd.DataFrame, step: float = 0.10) -> float:
    """Arc elasticity of total expected demand to a +-10% price change (negative = demand
    falls as price rises)."""
    p = f["current_price"].to_numpy(float)
    up, down = model.demand_at(f, p * (1 + step)).sum(), model.demand_at(f, p * (1 - step)).sum()
    return float((np.log(max(up, 1e-9)) - np.log(max(down, 1e-9))) / (np.log(1 + step) - np.log(1 - step)))


def backtest(model: PricingModel, f: pd.DataFrame) -> pd.DataFrame:
    """Optimised prices over `f` (prepared rows with current_price = the ADR charged) and the
    expected revenue at optimised prices, at charged prices and at the rate card (the
    seasonal median ADR inside the rules), all under the demand model: model estimates."""
    out = model.optimise_frame(f)
    cap = out["rooms_available"].to_numpy(float)
    r = model.rules
    floor, ceil, lo, hi = static_bounds(r, out["base_rate"].to_numpy(float),
                                        out["competitor_avg"].to_numpy(float))
    card = seasonal_adr(model.tables["adr"], out, out["base_rate"])
    out["rate_card_price"] = np.clip(np.clip(card, lo, hi), floor, ceil)
    out["demand_rate_card"] = model.demand_at(out, out["rate_card_price"].to_numpy(float))
    out["revenue_suggested"] = out["suggested_price"] * np.minimum(out["demand_suggested"], cap)
    out["revenue_current"] = out["current_price"] * np.minimum(out["demand_current"], cap)
    out["revenue_rate_card"] = out["rate_card_price"] * np.minimum(out["demand_rate_card"], cap)
    return out


def _centred(e: np.ndarray | None) -> np.ndarray:
    return e - e.mean() if e is not None and len(e) else np.zeros(1)


def uplift_estimate(bt: pd.DataFrame, residuals: dict[str, np.ndarray], policy: str = "suggested",
                    draws: int = BOOTSTRAP_DRAWS, seed: int = 7) -> dict[str, float]:
    """Model-estimated uplift (%) of a price policy's expected revenue over the charged
    prices' on backtest rows, with a percentile interval: held-out days resampled with
    replacement, and each row's demand shifted by one of its hotel's held-out errors at that
    horizon, centred (the same shift at both prices: it is the day's demand)."""
    price, dem = bt[f"{policy}_price"].to_numpy(float), bt[f"demand_{policy}"].to_numpy(float)
    cur, dem_cur = bt["current_price"].to_numpy(float), bt["demand_current"].to_numpy(float)
    cap = bt["rooms_available"].to_numpy(float)
    base = float((cur * np.minimum(dem_cur, cap)).sum())
    point = float((price * np.minimum(dem, cap)).sum())
    out = {"uplift_pct": 100 * (point / base - 1) if base > 0 else float("nan")}
    day = pd.factorize(bt["hotel"].astype(str) + "|" + bt["date"].astype(str))[0]
    k = int(day.max()) + 1 if len(day) else 0
    rng = np.random.default_rng(seed)
    hotels = bt["hotel"].to_numpy()
    # centred: the errors widen the interval without moving it (their mean is the bias)
    pools = {h: _centred(residuals.get(h)) for h in np.unique(hotels)}
    idx = {h: np.flatnonzero(hotels == h) for h in pools}
    sold_new, sold_old = np.minimum(dem, cap), np.minimum(dem_cur, cap)
    values = []
    for _ in range(draws if k else 0):
        e = np.zeros(len(bt))
        for h, rows in idx.items():
            e[rows] = rng.choice(pools[h], size=len(rows))
        w = np.bincount(rng.integers(0, k, k), minlength=k)[day]
        new = ((price * (sold_new + e)) * w).sum()
        old = ((cur * (sold_old + e)) * w).sum()
        if old > 0:
            values.append(100 * (new / old - 1))
    lo, hi = np.percentile(values, INTERVAL) if values else (float("nan"), float("nan"))
    out.update({f"uplift_pct_p{INTERVAL[0]:02d}": float(lo), f"uplift_pct_p{INTERVAL[1]:02d}": float(hi)})
    return out


def _uplift_figures(bt: pd.DataFrame, residuals: dict[str, np.ndarray]) -> tuple[dict, dict]:
    """Model-estimated uplift of the optimiser and (baseline) of the rate card."""
    est = uplift_estimate(bt, residuals, "suggested")
    card = uplift_estimate(bt, residuals, "rate_card")
    name = "model_estimated_uplift_pct"
    metrics = {name: est["uplift_pct"],
               f"{name}_p{INTERVAL[0]:02d}": est[f"uplift_pct_p{INTERVAL[0]:02d}"],
               f"{name}_p{INTERVAL[1]:02d}": est[f"uplift_pct_p{INTERVAL[1]:02d}"]}
    baseline = {name: card["uplift_pct"],
                f"{name}_p{INTERVAL[0]:02d}": card[f"uplift_pct_p{INTERVAL[0]:02d}"],
                f"{name}_p{INTERVAL[1]:02d}": card[f"uplift_pct_p{INTERVAL[1]:02d}"]}
    return metrics, baseline


NOT_PRICED = "no room type of its inventory (dim_room_types) has rooms: not priced"
NO_BOOKINGS = "no booking made by the as-of day: priced from its inventory alone, not evaluated"
NO_STAYS = "no realised stay night by the as-of day: nothing to learn from yet"


def _by_property(hotels: dict[str, bool], ds: Dataset, te: pd.DataFrame, tr: pd.DataFrame,
                 bt: pd.DataFrame, residuals: dict[str, np.ndarray], metrics: dict,
                 baseline: dict) -> pd.DataFrame:
    """One row per hotel of the marts (evaluated on its own held-out stays, or why not) and
    the group."""
    priced = set(ds.tables["inventory"]["hotel"])
    rows = []
    for hotel in hotels:
        w = ds.windows.get(hotel)
        row: dict[str, Any] = {"hotel": hotel, "evaluated": False, "reason": None, "rows": 0}
        if hotel not in priced:
            row["reason"] = NOT_PRICED
        elif w is None:
            row["reason"] = NO_STAYS if hotels[hotel] else NO_BOOKINGS
        else:
            row.update(w.as_dict())
        m = (te["hotel"] == hotel).to_numpy()
        row["rows"] = int(m.sum())
        row["train_rows"] = int((tr["hotel"] == hotel).sum())
        if row["evaluated"] and m.any():
            one_m, one_b = _evaluation(te[m])
            row.update(one_m)
            row.update({f"baseline_{k}": v for k, v in one_b.items()})
            um, ub = _uplift_figures(bt[(bt["hotel"] == hotel).to_numpy()], residuals)
            row.update(um)
            row.update({f"baseline_{k}": v for k, v in ub.items()})
        elif row["evaluated"]:
            row.update(evaluated=False, reason="no held-out stay row")
        rows.append(row)
    rows.append({"hotel": GROUP, "evaluated": True, "reason": None, "rows": len(te),
                 "train_rows": len(tr), **metrics, **{f"baseline_{k}": v for k, v in baseline.items()}})
    return pd.DataFrame(rows)


def train(marts: duckdb.DuckDBPyConnection, timeline: Timeline, rules: PricingRules | None = None,
          rounds: int = ROUNDS) -> Candidate:
    t0 = time.perf_counter()
    rules = rules or PricingRules()
    ds = build_dataset(marts, timeline)
    hotels = known_hotels(marts, timeline.as_of)
    model = PricingModel(None, ds.tables, rules, timeline.as_of)
    rows = _prepare_rows(model, ds.grid)
    split = ds.grid["split"].to_numpy()
    tr, te = rows[split == "train"].reset_index(drop=True), rows[split == "test"].reset_index(drop=True)
    if tr.empty or te.empty:
        raise ValueError(
            f"cannot train the pricing model as of {timeline.as_of}: {len(tr)} training row(s) "
            f"and {len(te)} held-out row(s); it needs at least one property with "
            f"{timeline.min_history_days} days of realised stays before its last "
            f"{timeline.evaluation_months} month(s) (see evaluation_months and min_history_days)")
    mono = tuple(MONOTONE.get(c, 0) for c in FEATURES)
    dtrain = xgb.DMatrix(model._matrix(tr, tr["current_price"].to_numpy(float)),
                         label=tr["rooms_sold"].to_numpy(float), feature_names=FEATURES)
    model.booster = xgb.train({**XGB_PARAMS, "monotone_constraints": str(mono)}, dtrain,
                              num_boost_round=rounds)
    fit_seconds = time.perf_counter() - t0

    # -- demand on the held-out stays, at the prices actually charged ------------
    test_input = _model_input(ds.grid[split == "test"])
    y_test = te["rooms_sold"].to_numpy(float)
    te["pred"] = model.demand_at(te, te["current_price"].to_numpy(float))
    metrics, baseline = _evaluation(te)
    err = te.assign(err=np.abs(te["pred"] - te["rooms_sold"]))
    conf = (err.groupby(["hotel", "room_type", "horizon"], as_index=False)
            .agg(mae=("err", "mean"), sold=("rooms_sold", "mean")))
    conf["confidence"] = (1 - conf["mae"] / np.maximum(conf["sold"], 1.0)).clip(0.05, 0.99)
    conf["horizon"] = conf["horizon"].astype(int)
    model.tables["confidence"] = conf[["hotel", "room_type", "horizon", "confidence"]]
    metrics.update(test_rows=float(len(te)), train_rows=float(len(tr)))
    at_h = te[te["horizon"] == DEFAULT_HORIZON].reset_index(drop=True)
    metrics["price_elasticity"] = price_elasticity(model, at_h)

    # -- model-estimated uplift of optimised over charged prices (not measured) -----
    residuals = {h: (g["rooms_sold"] - g["pred"]).to_numpy(float) for h, g in at_h.groupby("hotel")}
    bt = backtest(model, at_h.drop(columns=["pred"]))
    realised_revenue = float((at_h["rooms_sold"] * at_h["current_price"]).sum())
    metrics["realised_revenue"] = realised_revenue
    metrics["model_revenue_at_charged_prices"] = float(bt["revenue_current"].sum())
    metrics["model_revenue_at_optimised_prices"] = float(bt["revenue_suggested"].sum())
    um, ub = _uplift_figures(bt, residuals)
    metrics.update(um)
    baseline.update(ub)
    top = np.minimum(bt["competitor_avg"] * (1 + rules.competitor_band),
                     bt["base_rate"] * rules.ceiling_factor)
    metrics["share_at_upper_bound"] = float((bt["suggested_price"] >= top * 0.999).mean())
    metrics["median_price_change_pct"] = float(
        100 * (bt["suggested_price"] / bt["current_price"] - 1).median())

    # the rooms on the books ahead: look-up state for pricing the coming days
    model.tables["on_books"] = ds.on_books
    metrics["training_seconds"] = time.perf_counter() - t0
    by_property = _by_property(hotels, ds, te, tr, bt, residuals, metrics, baseline)

    def score(loaded) -> float:
        """Demand MAE of any loaded pricing model on these held-out rows (its own features)."""
        inner = loaded.unwrap_python_model() if hasattr(loaded, "unwrap_python_model") else loaded
        return errors(inner.expected_demand(test_input, strict=False), y_test)["mae"]

    example = (at_h.sort_values(["hotel", "room_type", "date"])
               .groupby(["hotel", "room_type"]).head(1).head(3))
    input_example = pd.DataFrame({
        "hotel": example["hotel"].to_numpy(), "room_type": example["room_type"].to_numpy(),
        "date": example["date"].dt.strftime("%Y-%m-%d").to_numpy(),
        "current_price": example["current_price"].round(2).to_numpy(),
        "competitor_avg": example["competitor_avg"].round(2).to_numpy()})
    # the last row leaves the optional prices out, so the signature marks them optional
    input_example[["current_price", "competitor_avg"]] = input_example[
        ["current_price", "competitor_avg"]].astype(object)
    input_example.loc[len(input_example) - 1, ["current_price", "competitor_avg"]] = None
    windows = pd.DataFrame([w.as_dict() for w in ds.windows.values()])
    params = {**timeline.params(),
              "model": "xgboost demand + grid optimiser", "features": ",".join(FEATURES),
              "monotone": str(MONOTONE), "horizons": ",".join(map(str, HORIZONS)),
              "uplift_horizon": DEFAULT_HORIZON, "rounds": rounds,
              "split": "per property: stay dates before its last evaluation_months of "
                       "realised stays train, those months test",
              "held_out": "; ".join(f"{w.hotel} from {w.test_start}" for w in ds.windows.values()
                                    if w.evaluated)[:6000],
              "train_last_stay_date": str(tr["date"].max().date()),
              "test_last_stay_date": str(te["date"].max().date()),
              "forward_book_rows": len(ds.on_books),
              "baseline": "seasonal-naive (same weekday 52 weeks before); pickup peer",
              "uplift": "MODEL ESTIMATE under the demand model, not a measured gain",
              "competitor": "SIMULATED: training seasonal median ADR x seeded noise",
              "fit_seconds": round(fit_seconds, 2),
              "training_seconds": round(metrics["training_seconds"], 2),
              **{f"xgb_{k}": v for k, v in XGB_PARAMS.items()}, **rules.as_params()}
    monthly = (bt.assign(month=bt["date"].dt.to_period("M").astype(str))
               .groupby("month", as_index=False)[["revenue_current", "revenue_suggested"]].sum())
    return Candidate(
        name="pricing", model=model, input_example=input_example, primary="mae",
        higher_is_better=False, metrics=metrics, baseline=baseline, score=score, params=params,
        figures={"demand_vs_price": _demand_curve_figure(model, at_h),
                 "demand_mae_by_property": _mae_figure(by_property),
                 "model_estimated_revenue_by_month": _backtest_figure(monthly)},
        tables={"model_estimated_revenue_by_month": monthly, "windows": windows},
        by_property=by_property)


def _demand_curve_figure(model: PricingModel, te: pd.DataFrame):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    sample = (te.sort_values("rooms_available", ascending=False).groupby("hotel").head(1).head(4))
    for _, row in sample.iterrows():
        f = pd.DataFrame([row] * 40).reset_index(drop=True)
        prices = np.linspace(0.5, 2.0, 40) * row["competitor_avg"]
        ax.plot(prices / row["competitor_avg"], model.demand_at(f, prices) / row["rooms_available"],
                label=f"{row['hotel']} {row['room_type']} {row['date']:%Y-%m-%d}")
    ax.set_xlabel("price / competitor average (simulated)")
    ax.set_ylabel("expected occupancy")
    ax.set_title(f"Demand vs price ({DEFAULT_HORIZON} days out)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _mae_figure(by_property: pd.DataFrame):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = by_property[by_property["evaluated"]].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 4))
    x = np.arange(len(shown))
    ax.bar(x - 0.2, shown["mae"], 0.4, label="demand model")
    ax.bar(x + 0.2, shown["baseline_mae"], 0.4, label="seasonal-naive")
    ax.set_xticks(x, shown["hotel"], rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("rooms sold MAE (held-out stays)")
    ax.set_title("Demand error on realised rooms sold, per property")
    ax.legend()
    fig.tight_layout()
    return fig


def _backtest_figure(monthly: pd.DataFrame):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    x = np.arange(len(monthly))
    ax.bar(x - 0.2, monthly["revenue_current"], 0.4, label="charged prices (model)")
    ax.bar(x + 0.2, monthly["revenue_suggested"], 0.4, label="optimised prices (model)")
    ax.set_xticks(x, monthly["month"], rotation=45, fontsize=7)
    ax.set_ylabel("expected room revenue")
    ax.set_title("Held-out stays: expected revenue under the demand model (a model estimate)")
    ax.legend()
    fig.tight_layout()
    return fig
