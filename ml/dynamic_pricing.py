"""Dynamic pricing: a demand model and a revenue-maximising price optimiser under rules.

Demand model
    XGBoost regression of the rooms sold for one hotel x room type x stay date (final,
    non-cancelled room-nights, `fct_daily_occupancy.rooms_sold`) as seen from a lead-time
    horizon h (days before the stay when the price is set), from: weekday, month, week of
    year, the room type's inventory and its typical demand (training profile), the rooms
    already on the books h days out (from `fct_bookings`: booked by then and not yet
    cancelled), the price (the day's ADR when training) and the competitor average.
    Price enters as log(price) and log(price / competitor) with monotone-decreasing
    constraints, so expected demand never rises with our own price.

    The competitor average is SIMULATED (no rate-shopping data exists): the seasonal median
    ADR of the same hotel x room type x month x weekday over the training period, times
    deterministic seeded noise (see `ml.pricing_rules`).

Optimiser
    For each stay date (in order) x room type, choose the price from a log-spaced grid
    between floor and ceiling (plus the current price and the bounds of the allowed band)
    that maximises expected revenue = price x min(expected demand, rooms available), subject
    to `PricingRules` (floor/ceiling hard, then max change vs the previous day's suggested
    price, then the band around the competitor average).

Validation
    Time split: stay dates before 2017-01-01 train, 2017 test. Demand MAE/RMSE against a
    seasonal-naive baseline (rooms sold on the same weekday 52 weeks before). Backtest: on
    the test period at a 30-day horizon, expected revenue at the optimised prices vs at the
    prices actually charged (daily ADR), BOTH UNDER THE DEMAND MODEL: the uplift is a model
    estimate, not a measured gain (observational prices are confounded with demand; an
    A/B test or a price experiment is needed before trusting the number).
"""

from __future__ import annotations

import time
from typing import Any

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

TEST_START = pd.Timestamp("2017-01-01")
TEST_END = pd.Timestamp("2018-01-01")
HORIZONS = (3, 7, 14, 30, 60, 90)
DEFAULT_HORIZON = 30
WARMUP_DAYS = 14  # first days of a hotel's data miss stays that arrived before it
FEATURES = ["horizon", "rooms_available", "otb", "otb_frac", "prof_sold", "dow", "month",
            "week", "log_comp", "log_price", "log_ratio"]
MONOTONE = {"log_price": -1, "log_ratio": -1, "otb": 1, "otb_frac": 1}
XGB_PARAMS = {"objective": "reg:squarederror", "max_depth": 6, "eta": 0.06, "subsample": 0.8,
              "colsample_bytree": 0.9, "min_child_weight": 5, "tree_method": "hist",
              "nthread": 2, "seed": 7}
ROUNDS = 350
# The lake table of the 03:00 schedule (hotel x room type x date), read by the API.
SCHEDULE_TABLE = "gold/price_schedule"
OUTPUT_COLUMNS = ["hotel", "room_type", "date", "suggested_price", "current_price",
                  "expected_occupancy", "competitor_avg", "confidence"]


# --------------------------------------------------------------------------- data


def load_frames(marts: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(daily, otb): daily rows hotel x room type x date with inventory (trimmed to the
    hotel's complete date range), and rooms on the books per horizon."""
    daily = marts.sql("""
        with span as (
            select hotel, min(arrival_date) + %d as first_day, max(arrival_date) as last_day
            from fct_bookings group by hotel
        )
        select o.hotel, o.room_type, o.date::timestamp as date, o.rooms_available,
               o.rooms_sold, o.adr
        from fct_daily_occupancy o join span s on s.hotel = o.hotel
        where o.rooms_available > 0 and o.date between s.first_day and s.last_day
        order by o.hotel, o.room_type, o.date
    """ % WARMUP_DAYS).df()
    horizons = ", ".join(str(h) for h in HORIZONS)
    otb = marts.sql(f"""
        with nights as (
            select hotel, reserved_room_type as room_type, booking_date, is_canceled,
                   reservation_status_date,
                   unnest(range(arrival_date::timestamp, departure_date::timestamp,
                                interval 1 day))::date as stay_date
            from fct_bookings where nights > 0
        ),
        h as (select unnest([{horizons}]) as horizon)
        select n.hotel, n.room_type, n.stay_date::timestamp as date, h.horizon,
               count(*) as otb
        from nights n cross join h
        where n.booking_date <= n.stay_date - h.horizon
          and (not n.is_canceled or n.reservation_status_date > n.stay_date - h.horizon)
        group by all
    """).df()
    return daily, otb


def base_rates(marts: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Listed rooms and base rate per hotel x room type (the property master's, dim_room_types)."""
    return marts.sql("select hotel, room_type, base_rate, rooms from dim_room_types").df()


# --------------------------------------------------------------------------- model


class PricingModel(mlflow.pyfunc.PythonModel):
    """Demand model + optimiser. `predict` returns a price schedule for the rows given.

    Input columns: hotel, room_type, date; optional current_price, competitor_avg
    (SIMULATED when absent), lead_days (horizon, default 30), rooms_on_books (imputed from
    the training profile when absent), rooms_available (inventory when absent)."""

    def __init__(self, booster: xgb.Booster, tables: dict[str, pd.DataFrame],
                 rules: PricingRules | None = None):
        self.booster = booster
        self.tables = tables
        self.rules = rules or PricingRules()

    # -- features --------------------------------------------------------------

    def _inventory(self, frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.merge(self.tables["inventory"], on=["hotel", "room_type"], how="left")
        missing = out["base_rate"].isna()
        if missing.any():
            bad = out.loc[missing, ["hotel", "room_type"]].drop_duplicates().to_records(index=False)
            raise ValueError(f"unknown hotel / room type: {[tuple(b) for b in bad][:5]}")
        return out

    def prepare(self, model_input: pd.DataFrame) -> pd.DataFrame:
        """Normalise an input frame: types, defaults, simulated competitor, inventory."""
        f = model_input.copy().reset_index(drop=True)
        f["hotel"] = f["hotel"].astype(str)
        f["room_type"] = f["room_type"].astype(str)
        f["date"] = pd.to_datetime(f["date"]).dt.normalize()
        f = self._inventory(f)
        if "rooms_available" not in f or f["rooms_available"].isna().any():
            f["rooms_available"] = f.get("rooms_available", pd.Series(np.nan, index=f.index)).fillna(f["rooms"])
        own = seasonal_adr(self.tables["adr"], f, f["base_rate"])
        comp = simulated_competitor_avg(self.tables["adr"], f, f["base_rate"])
        for col, default in (("current_price", own), ("competitor_avg", comp)):
            given = (pd.to_numeric(f[col], errors="coerce") if col in f
                     else pd.Series(np.nan, index=f.index))
            f[col] = given.where(given > 0).fillna(pd.Series(default)).astype(float)
        lead = (pd.to_numeric(f["lead_days"], errors="coerce") if "lead_days" in f
                else pd.Series(np.nan, index=f.index))
        f["horizon"] = lead.fillna(DEFAULT_HORIZON).clip(0, 365).astype(float)
        if "rooms_on_books" in f and f["rooms_on_books"].notna().all():
            f["otb"] = f["rooms_on_books"].astype(float)
        else:
            f["otb"] = self._impute_otb(f)
        f["month"] = f["date"].dt.month
        f["dow"] = f["date"].dt.dayofweek
        f["week"] = f["date"].dt.isocalendar().week.astype(int).to_numpy()
        prof = f[["hotel", "room_type", "month", "dow"]].merge(
            self.tables["sold"], on=["hotel", "room_type", "month", "dow"], how="left")["prof_sold"]
        f["prof_sold"] = prof.fillna(0.0).to_numpy()
        return f

    def _impute_otb(self, f: pd.DataFrame) -> np.ndarray:
        given = (f["rooms_on_books"].to_numpy(dtype=float) if "rooms_on_books" in f
                 else np.full(len(f), np.nan))
        hs = np.array(HORIZONS)
        nearest = hs[np.abs(f["horizon"].to_numpy()[:, None] - hs[None, :]).argmin(axis=1)]
        key = pd.DataFrame({"hotel": f["hotel"], "room_type": f["room_type"],
                            "month": f["date"].dt.month, "horizon": nearest})
        prof = key.merge(self.tables["otb"], on=["hotel", "room_type", "month", "horizon"],
                         how="left")["otb"].fillna(0.0).to_numpy()
        return np.where(np.isnan(given), prof, given)

    @staticmethod
    def _matrix(f: pd.DataFrame, price: np.ndarray) -> np.ndarray:
        cols = {
            "horizon": f["horizon"].to_numpy(float), "rooms_available": f["rooms_available"].to_numpy(float),
            "otb": f["otb"].to_numpy(float),
            "otb_frac": f["otb"].to_numpy(float) / np.maximum(f["rooms_available"].to_numpy(float), 1),
            "prof_sold": f["prof_sold"].to_numpy(float), "dow": f["dow"].to_numpy(float),
            "month": f["month"].to_numpy(float), "week": f["week"].to_numpy(float),
            "log_comp": np.log(f["competitor_avg"].to_numpy(float)),
            "log_price": np.log(price), "log_ratio": np.log(price / f["competitor_avg"].to_numpy(float)),
        }
        return np.column_stack([cols[c] for c in FEATURES])

    def demand_at(self, f: pd.DataFrame, price: np.ndarray) -> np.ndarray:
        """Expected demand (rooms) for prepared rows `f` at prices `price` (one per row)."""
        m = xgb.DMatrix(self._matrix(f, np.asarray(price, float)), feature_names=FEATURES)
        return np.maximum(self.booster.predict(m), 0.0)

    def expected_demand(self, model_input: pd.DataFrame, price: np.ndarray | None = None) -> np.ndarray:
        """Expected rooms sold at `price` (default: each row's current price)."""
        f = self.prepare(model_input)
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
        the hotel's inventory by default)."""
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


def build_dataset(marts: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    daily, otb = load_frames(marts)
    inv = base_rates(marts)
    daily = daily.merge(inv[["hotel", "room_type"]], on=["hotel", "room_type"], how="inner")
    train_days = daily[daily["date"] < TEST_START]
    d = train_days.assign(month=train_days["date"].dt.month, dow=train_days["date"].dt.dayofweek)
    sold = (d.groupby(["hotel", "room_type", "month", "dow"], as_index=False)["rooms_sold"].mean()
            .rename(columns={"rooms_sold": "prof_sold"}))
    grid = daily.merge(pd.DataFrame({"horizon": HORIZONS}), how="cross")
    grid = grid.merge(otb, on=["hotel", "room_type", "date", "horizon"], how="left")
    grid["otb"] = grid["otb"].fillna(0).astype(float)
    otb_prof = (grid[grid["date"] < TEST_START].assign(month=lambda x: x["date"].dt.month)
                .groupby(["hotel", "room_type", "month", "horizon"], as_index=False)["otb"].mean())
    tables = {"inventory": inv, "adr": seasonal_adr_profile(train_days), "sold": sold,
              "otb": otb_prof, "confidence": pd.DataFrame(columns=["hotel", "room_type", "horizon", "confidence"])}
    # seasonal-naive baseline: rooms sold on the same weekday 52 weeks before
    lag = daily[["hotel", "room_type", "date", "rooms_sold"]].copy()
    lag["date"] = lag["date"] + pd.Timedelta(days=364)
    grid = grid.merge(lag.rename(columns={"rooms_sold": "naive"}), on=["hotel", "room_type", "date"], how="left")
    return grid, tables


def _prepare_rows(model: PricingModel, grid: pd.DataFrame) -> pd.DataFrame:
    """Training/test rows as the model sees them: price = the day's ADR (seasonal ADR on
    days nothing was sold), rooms on the books as observed."""
    inp = grid.rename(columns={"adr": "current_price", "horizon": "lead_days", "otb": "rooms_on_books"})
    f = model.prepare(inp[["hotel", "room_type", "date", "current_price", "lead_days",
                           "rooms_on_books", "rooms_available"]])
    f["rooms_sold"] = grid["rooms_sold"].to_numpy(float)
    f["naive"] = grid["naive"].to_numpy(float)
    return f


def _mae(a, b) -> float:
    return float(np.mean(np.abs(np.asarray(a) - np.asarray(b))))


def _rmse(a, b) -> float:
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def train(marts: duckdb.DuckDBPyConnection, rules: PricingRules | None = None,
          rounds: int = ROUNDS) -> "Candidate":
    from ml.registry import Candidate

    t0 = time.perf_counter()
    rules = rules or PricingRules()
    grid, tables = build_dataset(marts)
    model = PricingModel(None, tables, rules)
    rows = _prepare_rows(model, grid)
    is_train = (rows["date"] < TEST_START).to_numpy()
    is_test = ((rows["date"] >= TEST_START) & (rows["date"] < TEST_END)).to_numpy()
    tr, te = rows[is_train].reset_index(drop=True), rows[is_test].reset_index(drop=True)
    mono = tuple(MONOTONE.get(c, 0) for c in FEATURES)
    dtrain = xgb.DMatrix(model._matrix(tr, tr["current_price"].to_numpy(float)),
                         label=tr["rooms_sold"].to_numpy(float), feature_names=FEATURES)
    booster = xgb.train({**XGB_PARAMS, "monotone_constraints": str(mono)}, dtrain, num_boost_round=rounds)
    model.booster = booster
    fit_seconds = time.perf_counter() - t0

    # -- demand model on the 2017 test -----------------------------------------
    pred = model.demand_at(te, te["current_price"].to_numpy(float))
    y = te["rooms_sold"].to_numpy(float)
    naive = te["naive"].fillna(te["prof_sold"]).to_numpy(float)
    te = te.assign(pred=pred, err=np.abs(pred - y))
    conf = (te.groupby(["hotel", "room_type", "horizon"], as_index=False)
            .agg(mae=("err", "mean"), sold=("rooms_sold", "mean")))
    conf["confidence"] = (1 - conf["mae"] / np.maximum(conf["sold"], 1.0)).clip(0.05, 0.99)
    conf["horizon"] = conf["horizon"].astype(int)
    model.tables["confidence"] = conf[["hotel", "room_type", "horizon", "confidence"]]
    metrics = {"mae": _mae(pred, y), "rmse": _rmse(pred, y),
               "test_rows": float(len(te)), "train_rows": float(len(tr))}
    for h in (7, 30, 90):
        m = (te["horizon"] == h).to_numpy()
        metrics[f"mae_h{h}"] = _mae(pred[m], y[m])
    baseline = {"mae": _mae(naive, y), "rmse": _rmse(naive, y), "backtest_uplift_pct": 0.0}
    el = price_elasticity(model, te[te["horizon"] == DEFAULT_HORIZON])
    metrics["price_elasticity"] = el

    # -- backtest: optimised vs actual prices, both under the model -------------
    bt = backtest(model, te[te["horizon"] == DEFAULT_HORIZON].drop(columns=["pred", "err"]))
    metrics["backtest_revenue_actual"] = float(bt["revenue_current"].sum())
    metrics["backtest_revenue_optimised"] = float(bt["revenue_suggested"].sum())
    metrics["backtest_uplift_pct"] = 100 * (metrics["backtest_revenue_optimised"]
                                            / metrics["backtest_revenue_actual"] - 1)
    top = np.minimum(bt["competitor_avg"] * (1 + rules.competitor_band),
                     bt["base_rate"] * rules.ceiling_factor)
    metrics["backtest_share_at_upper_bound"] = float((bt["suggested_price"] >= top * 0.999).mean())
    metrics["backtest_median_price_change_pct"] = float(
        100 * (bt["suggested_price"] / bt["current_price"] - 1).median())
    metrics["training_seconds"] = time.perf_counter() - t0

    test_frame = te.drop(columns=["pred", "err"])

    def score(loaded) -> float:
        inner = loaded.unwrap_python_model() if hasattr(loaded, "unwrap_python_model") else loaded
        return _mae(inner.demand_at(test_frame, test_frame["current_price"].to_numpy(float)),
                    test_frame["rooms_sold"].to_numpy(float))

    example = (te[te["horizon"] == DEFAULT_HORIZON].sort_values(["hotel", "room_type", "date"])
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
    params = {"model": "xgboost demand + grid optimiser", "features": ",".join(FEATURES),
              "monotone": str(MONOTONE), "horizons": ",".join(map(str, HORIZONS)),
              "backtest_horizon": DEFAULT_HORIZON, "rounds": rounds,
              "split": "stay dates < 2017-01-01 train, 2017 test",
              "competitor": "SIMULATED: training seasonal median ADR x seeded noise",
              "fit_seconds": round(fit_seconds, 2),
              "training_seconds": round(metrics["training_seconds"], 2),
              **{f"xgb_{k}": v for k, v in XGB_PARAMS.items()}, **rules.as_params()}
    monthly = (bt.assign(month=bt["date"].dt.to_period("M").astype(str))
               .groupby("month", as_index=False)[["revenue_current", "revenue_suggested"]].sum())
    return Candidate(
        name="pricing", model=model, input_example=input_example, primary="mae",
        higher_is_better=False, metrics=metrics, baseline=baseline, score=score, params=params,
        figures={"demand_vs_price": _demand_curve_figure(model, te), "backtest_revenue_by_month":
                 _backtest_figure(monthly)},
        tables={"backtest_by_month": monthly})


def price_elasticity(model: PricingModel, f: pd.DataFrame, step: float = 0.10) -> float:
    """Arc elasticity of total expected demand to a +-10% price change (negative = demand
    falls as price rises)."""
    p = f["current_price"].to_numpy(float)
    up, down = model.demand_at(f, p * (1 + step)).sum(), model.demand_at(f, p * (1 - step)).sum()
    return float((np.log(max(up, 1e-9)) - np.log(max(down, 1e-9))) / (np.log(1 + step) - np.log(1 - step)))


def backtest(model: PricingModel, f: pd.DataFrame) -> pd.DataFrame:
    """Optimised prices over `f` (prepared rows with current_price = actual ADR) and the
    expected revenue at optimised and at actual prices, both under the demand model."""
    out = model.optimise_frame(f)
    cap = out["rooms_available"].to_numpy(float)
    out["revenue_suggested"] = out["suggested_price"] * np.minimum(out["demand_suggested"], cap)
    out["revenue_current"] = out["current_price"] * np.minimum(out["demand_current"], cap)
    return out


def _demand_curve_figure(model: PricingModel, te: pd.DataFrame):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    sample = (te[te["horizon"] == DEFAULT_HORIZON].sort_values("rooms_available", ascending=False)
              .groupby("hotel").head(1).head(4))
    for _, row in sample.iterrows():
        f = pd.DataFrame([row] * 40).reset_index(drop=True)
        prices = np.linspace(0.5, 2.0, 40) * row["competitor_avg"]
        ax.plot(prices / row["competitor_avg"], model.demand_at(f, prices) / row["rooms_available"],
                label=f"{row['hotel']} {row['room_type']} {row['date']:%Y-%m-%d}")
    ax.set_xlabel("price / competitor average (simulated)")
    ax.set_ylabel("expected occupancy")
    ax.set_title("Demand vs price (30 days out)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _backtest_figure(monthly: pd.DataFrame):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    x = np.arange(len(monthly))
    ax.bar(x - 0.2, monthly["revenue_current"], 0.4, label="actual prices (model)")
    ax.bar(x + 0.2, monthly["revenue_suggested"], 0.4, label="optimised prices (model)")
    ax.set_xticks(x, monthly["month"], rotation=45, fontsize=7)
    ax.set_ylabel("expected room revenue")
    ax.set_title("Backtest 2017: expected revenue under the demand model (a model estimate)")
    ax.legend()
    fig.tight_layout()
    return fig
