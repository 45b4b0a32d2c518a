"""Daily forecasts per hotel with Prophet: occupancy, room revenue and housekeeping demand.

Targets (one row per hotel and calendar day, read from the marts as of the timeline's day):

- ``occupancy``: sum(rooms_sold) / sum(rooms_available) over the hotel's room types
  (fct_daily_occupancy; the ratio is of the sums, never an average of ratios).
- ``revenue``: sum(room_revenue) of the night (fct_daily_occupancy).
- ``housekeeping_demand``: rooms to clean on day D, from the non-cancelled bookings of
  fct_bookings = departures on D (full clean: departure_date = D, day-use bookings included)
  + stay-overs on D (service clean: arrival_date < D < departure_date). For bookings of at
  least one night this is the rooms occupied on the night before D.

A hotel's history runs from its first arrival + ``WARMUP_DAYS`` (stays that began before the
data are missing from the first days) to its last known day: the as-of day when the bookings
made by then reach it, else its last arrival (after the end of an extract the nights are only
the tail of earlier stays, not demand). Nothing dated after the as-of day is read.

Evaluation, per hotel and relative to its own last known day ``T``:

- Rolling-origin backtest: origins at T-90, T-60 and T-30 days; at each origin a Prophet
  model is fitted on the history up to the origin and forecasts the next 30 days;
  ``mape_7d``, ``mape_14d`` and ``mape_30d`` are the MAPEs over days 1..h averaged over the
  origins. The baseline is seasonal-naive on the same origins: the last observed week
  repeated (same weekday).
- Hold-out week for the registry gate: the served model is fitted on the history up to T-7
  and ``holdout_mape_7d`` (the primary) is its MAPE on the last 7 days. ``score`` computes
  the same number for any loaded model, so a champion and a challenger are compared on the
  same held-out days (a model fitted on all the history would be scored in-sample).
- A hotel with less than the timeline's ``min_history_days`` of history before its first
  backtest origin is fitted on all its history and served, but not evaluated
  (``evaluated: false`` and the reason in ``by_property``).
- ``by_property``: each hotel's figures next to seasonal-naive's; the group row (and the
  candidate's metrics) is the mean over the evaluated hotels.
- MAPE ignores days whose actual is below the target's floor (``MAPE_FLOOR``: 1 % occupancy,
  1 currency unit of revenue, 1 room to clean), where a percentage error is meaningless.

The served model forecasts, by default, from the day after each hotel's last known day
(tomorrow when the data reaches an as-of day of yesterday), although it was fitted up to T-7.
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import mlflow
import numpy as np
import pandas as pd

from ml.registry import GROUP, Candidate
from ml.timeline import Timeline

TARGETS = ("occupancy", "revenue", "housekeeping_demand")
WARMUP_DAYS = 30
HORIZONS = (7, 14, 30)
ORIGIN_OFFSETS = (90, 60, 30)  # backtest origins: days before the end of history
HOLDOUT_DAYS = 7
MIN_FIT_DAYS = 2  # Prophet's own minimum: fewer days and a hotel gets no model
INTERVAL_WIDTH = 0.80
UNCERTAINTY_SAMPLES = 300
INTERVAL_SEED = 7919  # any fixed seed: the same request, the same interval
MAPE_FLOOR = {"occupancy": 0.01, "revenue": 1.0, "housekeeping_demand": 1.0}
UPPER_BOUND = {"occupancy": 1.0}
# Targets bounded by the rooms a hotel can sell: modelled as logit(y / capacity), so that the
# trend and seasonal effects flatten near the plateau instead of overshooting it.
SATURATING = {"occupancy", "housekeeping_demand"}
CAPACITY_MARGIN = 1.05

_SERIES_SQL = {
    "occupancy": """
        select hotel, date, sum(rooms_sold)::double / nullif(sum(rooms_available), 0) as y
        from fct_daily_occupancy where date <= $as_of group by hotel, date""",
    "revenue": """
        select hotel, date, sum(room_revenue)::double as y
        from fct_daily_occupancy where date <= $as_of group by hotel, date""",
    "housekeeping_demand": """
        with stays as (
            select hotel, arrival_date, departure_date,
                   (departure_date - arrival_date)::int as nights
            from fct_bookings
            where not is_canceled and departure_date is not null and arrival_date <= $as_of
        ),
        departures as (
            select hotel, departure_date as date, count(*) as n from stays group by all
        ),
        stay_overs as (
            select hotel, (arrival_date + k)::date as date, count(*) as n
            from (select hotel, arrival_date, unnest(range(1, nights))::int as k
                  from stays where nights > 1)
            group by all
        ),
        calendar as (select distinct hotel, date from fct_daily_occupancy where date <= $as_of)
        select c.hotel, c.date, (coalesce(d.n, 0) + coalesce(s.n, 0))::double as y
        from calendar c
        left join departures d using (hotel, date)
        left join stay_overs s using (hotel, date)""",
}


def _quiet() -> None:
    """Prophet and cmdstanpy configure their loggers on import; silence them afterwards."""
    import prophet  # noqa: F401
    from cmdstanpy.utils import get_logger

    get_logger()  # adds cmdstanpy's handler now, so that the level set below stays
    for name in ("cmdstanpy", "prophet", "prophet.models", "prophet.forecaster"):
        logging.getLogger(name).setLevel(logging.ERROR)


def load_series(marts, target: str, as_of: date | None = None) -> pd.DataFrame:
    """Daily series of the target per hotel within each hotel's usable history up to the
    as-of day (default: yesterday): columns hotel, ds (datetime64), y. The nights of a day up
    to the as-of day come from stays that arrived by then; a cancellation is settled before
    the arrival, so no later status is read."""
    if target not in TARGETS:
        raise ValueError(f"unknown forecast target {target!r}; expected one of {TARGETS}")
    as_of = as_of or Timeline.of(None).as_of
    # The last known day: the as-of day when bookings made by then arrive on or after it
    # (the hotel's data reaches it), else the last arrival (an extract that ended earlier).
    bounds = marts.execute("""
        select hotel, min(arrival_date) as first_arrival,
               least(max(arrival_date), $as_of::date) as last_arrival
        from fct_bookings where coalesce(booking_date, arrival_date) <= $as_of
        group by hotel having min(arrival_date) <= $as_of""", {"as_of": as_of}).df()
    df = marts.execute(_SERIES_SQL[target], {"as_of": as_of}).df()
    df = df.merge(bounds, on="hotel")
    df["date"] = pd.to_datetime(df["date"])
    start = pd.to_datetime(df["first_arrival"]) + pd.Timedelta(days=WARMUP_DAYS)
    keep = (df["date"] >= start) & (df["date"] <= pd.to_datetime(df["last_arrival"]))
    df = df.loc[keep & df["y"].notna(), ["hotel", "date", "y"]].rename(columns={"date": "ds"})
    return df.sort_values(["hotel", "ds"]).reset_index(drop=True)


def _new_prophet(target: str):
    from prophet import Prophet

    return Prophet(
        growth="linear",
        yearly_seasonality=10,
        weekly_seasonality=True,
        daily_seasonality=False,
        seasonality_mode="multiplicative" if target == "revenue" else "additive",
        changepoint_prior_scale=0.05,
        interval_width=INTERVAL_WIDTH,
        uncertainty_samples=UNCERTAINTY_SAMPLES,
    )


def _capacity(history: pd.DataFrame, target: str) -> float | None:
    """Effective capacity of a saturating target: the largest value seen, plus a margin."""
    if target not in SATURATING or not history["y"].max() > 0:  # an empty hotel: no logit
        return None
    return float(history["y"].max() * CAPACITY_MARGIN)


def _to_model_space(y, cap: float | None):
    if cap is None:
        return y
    p = np.clip(np.asarray(y, dtype=float) / cap, 1e-3, 1 - 1e-3)
    return np.log(p / (1 - p))


def _from_model_space(z, cap: float | None):
    if cap is None:
        return np.asarray(z, dtype=float)
    return cap / (1 + np.exp(-np.asarray(z, dtype=float)))


def _fit(history: pd.DataFrame, target: str):
    """A Prophet model of the target; saturating targets are modelled as logit(y / capacity)."""
    _quiet()
    cap = _capacity(history, target)
    model = _new_prophet(target)
    model.fit(pd.DataFrame({"ds": history["ds"].values,
                            "y": _to_model_space(history["y"].to_numpy(), cap)}),
              algorithm="LBFGS")
    return model, cap


def _predict_prophet(fitted, dates: pd.Series, target: str) -> pd.DataFrame:
    model, cap = fitted
    # Prophet draws the interval from numpy's global generator: seed it for this call so the
    # same request always gets the same interval, and give the caller its state back.
    state = np.random.get_state()
    np.random.seed(INTERVAL_SEED)
    try:
        fc = model.predict(pd.DataFrame({"ds": pd.to_datetime(dates).values}))
    finally:
        np.random.set_state(state)
    upper_bound = UPPER_BOUND.get(target, np.inf)
    out = pd.DataFrame({
        "date": fc["ds"].dt.date,
        "value": np.clip(_from_model_space(fc["yhat"], cap), 0, upper_bound),
        "lower": np.clip(_from_model_space(fc["yhat_lower"], cap), 0, upper_bound),
        "upper": np.clip(_from_model_space(fc["yhat_upper"], cap), 0, upper_bound),
    })
    # Intervals always contain the point forecast (the clip can only touch the bounds).
    out["lower"] = np.minimum(out["lower"], out["value"])
    out["upper"] = np.maximum(out["upper"], out["value"])
    return out


class ForecastModel(mlflow.pyfunc.PythonModel):
    """Prophet models of one target, one per hotel, kept as Prophet JSON so the object pickles.

    ``predict`` takes rows of (hotel, date), or of (hotel, start_date, horizon_days) meaning
    the days start_date .. start_date + horizon_days - 1, and returns hotel, date, value,
    lower, upper (an ``interval_width`` prediction interval), one row per requested day."""

    def __init__(self, target: str, models_json: dict[str, str], trained_until: dict[str, str],
                 capacity: dict[str, float | None] | None = None,
                 interval_width: float = INTERVAL_WIDTH,
                 history_end: dict[str, str] | None = None):
        self.target = target
        self.models_json = dict(models_json)
        self.capacity = dict(capacity or {})
        self.trained_until = dict(trained_until)  # last day each hotel's model was fitted on
        self.history_end = dict(history_end or trained_until)  # last known day of each hotel
        self.interval_width = interval_width
        self._models: dict[str, Any] = {}

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_models"] = {}
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.__dict__.setdefault("history_end", dict(self.trained_until))  # older pickles
        self._models = {}

    @property
    def hotels(self) -> list[str]:
        return sorted(self.models_json)

    def _model(self, hotel: str):
        if hotel not in self.models_json:
            raise KeyError(f"no {self.target} forecast model for hotel {hotel!r}; "
                           f"known hotels: {self.hotels}")
        if hotel not in self._models:
            from prophet.serialize import model_from_json

            self._models[hotel] = (model_from_json(self.models_json[hotel]),
                                   self.capacity.get(hotel))
        return self._models[hotel]

    def forecast(self, hotel: str, start: date | None, days: int) -> pd.DataFrame:
        """Daily forecasts of one hotel for `days` days from `start` (default: the day after
        the hotel's data ends, beyond the hold-out week the model was not fitted on): date,
        value, lower, upper (an `interval_width` interval), as `predict` gives them."""
        start = start or date.fromisoformat(self.history_end[hotel]) + timedelta(days=1)
        return self.predict(pd.DataFrame({"hotel": [hotel], "start_date": [str(start)],
                                          "horizon_days": [days]}))

    @staticmethod
    def _requests(model_input: pd.DataFrame) -> pd.DataFrame:
        """One (hotel, date) row per requested day. A row asks for its `date` when it has one,
        else for `horizon_days` days from `start_date`; both forms may be mixed in one frame."""
        df = pd.DataFrame(model_input).reset_index(drop=True)
        has_date = "date" in df.columns
        has_horizon = {"start_date", "horizon_days"} <= set(df.columns)
        if "hotel" not in df.columns or not (has_date or has_horizon):
            raise ValueError("model_input needs columns (hotel, date) or "
                             f"(hotel, start_date, horizon_days); got {list(df.columns)}")
        dates = pd.to_datetime(df["date"]) if has_date else pd.Series(pd.NaT, index=df.index)
        rows = []
        for i, hotel in enumerate(df["hotel"]):
            if pd.notna(dates.iloc[i]):
                rows.append(pd.DataFrame({"hotel": [hotel], "date": [dates.iloc[i]]}))
                continue
            start = df["start_date"].iloc[i] if has_horizon else None
            horizon = df["horizon_days"].iloc[i] if has_horizon else None
            if pd.isna(start) or pd.isna(horizon):
                raise ValueError(f"row {i} has neither a date nor a start_date and horizon_days")
            if int(horizon) < 1 or int(horizon) != horizon:
                raise ValueError(f"horizon_days must be a whole number of at least 1, got {horizon}")
            days = pd.date_range(pd.to_datetime(start), periods=int(horizon), freq="D")
            rows.append(pd.DataFrame({"hotel": hotel, "date": days}))
        if not rows:
            return pd.DataFrame({"hotel": pd.Series(dtype=object),
                                 "date": pd.Series(dtype="datetime64[ns]")})
        return pd.concat(rows, ignore_index=True)

    def predict(self, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        requests = self._requests(model_input)
        columns = ["hotel", "date", "value", "lower", "upper"]
        if requests.empty:
            return pd.DataFrame(columns=columns)
        parts = []
        requests = requests.reset_index(drop=True)
        for hotel, group in requests.groupby("hotel", sort=False):
            dates = group["date"].drop_duplicates()
            fc = _predict_prophet(self._model(hotel), dates, self.target)
            fc["date"] = pd.to_datetime(fc["date"])
            merged = group.reset_index().merge(fc, on="date", how="left")
            parts.append(merged)
        out = pd.concat(parts).sort_values("index")
        out["date"] = out["date"].dt.date
        return out[columns].reset_index(drop=True)


def seasonal_naive(history: pd.DataFrame, horizon: int) -> np.ndarray:
    """The last observed week repeated: day j after the origin gets the value of the same
    weekday in the final 7 days of history."""
    last_week = history["y"].to_numpy()[-7:]
    return np.resize(last_week, horizon)


def mape(actual, predicted, floor: float) -> float:
    """Mean absolute percentage error (in %) over days whose actual is at least `floor`."""
    actual = np.asarray(actual, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    keep = actual >= floor
    if not keep.any():
        return float("nan")
    return float(np.mean(np.abs(predicted[keep] - actual[keep]) / actual[keep]) * 100)


@dataclass
class _Window:
    hotel: str
    origin: pd.Timestamp  # last day of training history
    actual: pd.DataFrame  # ds, y for the days after the origin
    model: pd.DataFrame  # ds, value, lower, upper
    naive: np.ndarray


def _assess(s: pd.DataFrame, timeline: Timeline) -> tuple[bool, str | None]:
    """Whether a hotel's history allows the backtest (``min_history_days`` before its first
    origin), with the reason when not."""
    if len(s) < MIN_FIT_DAYS:
        return False, (f"{len(s)} day(s) of history after the {WARMUP_DAYS}-day warm-up: too few "
                       "to fit a model, none served yet")
    before = (s["ds"].max() - pd.Timedelta(days=max(ORIGIN_OFFSETS)) - s["ds"].min()).days
    if before < timeline.min_history_days:
        return False, (f"{max(before, 0)} day(s) of history before its first backtest origin "
                       f"({max(ORIGIN_OFFSETS)} days before its last day; needs "
                       f"{timeline.min_history_days}): fitted on all its history and served, "
                       "not evaluated")
    return True, None


def _backtest(s: pd.DataFrame, target: str, hotel: str) -> list[_Window]:
    """One hotel's rolling-origin backtest, origins relative to its last known day."""
    windows = []
    horizon = max(HORIZONS)
    end = s["ds"].max()
    for offset in ORIGIN_OFFSETS:
        origin = end - pd.Timedelta(days=offset)
        history = s[s["ds"] <= origin]
        future = s[(s["ds"] > origin) & (s["ds"] <= origin + pd.Timedelta(days=horizon))]
        model = _fit(history, target)
        fc = _predict_prophet(model, future["ds"], target)
        windows.append(_Window(hotel, origin, future.reset_index(drop=True), fc,
                               seasonal_naive(history, len(future))))
    return windows


def _window_mapes(windows: list[_Window], target: str) -> tuple[dict, dict]:
    """MAPE at each horizon, averaged over the windows, of the model and of seasonal-naive."""
    floor = MAPE_FLOOR[target]
    metrics, baseline = {}, {}
    for h in HORIZONS:
        m = [mape(w.actual["y"][:h], w.model["value"][:h], floor) for w in windows]
        b = [mape(w.actual["y"][:h], w.naive[:h], floor) for w in windows]
        metrics[f"mape_{h}d"] = _mean(m)
        baseline[f"mape_{h}d"] = _mean(b)
    return metrics, baseline


def _mean(values) -> float:
    values = [v for v in values if not pd.isna(v)]
    return float(np.mean(values)) if values else float("nan")


def _coverage(windows: list[_Window]) -> float:
    hits = [((w.actual["y"].to_numpy() >= w.model["lower"].to_numpy())
             & (w.actual["y"].to_numpy() <= w.model["upper"].to_numpy())) for w in windows]
    return float(np.concatenate(hits).mean())


def _slug(hotel: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", hotel.lower()).strip("_")


def _figure(hotel: str, target: str, s: pd.DataFrame, holdout_fc: pd.DataFrame,
            windows: list[_Window]):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    start = s["ds"].max() - pd.Timedelta(days=max(ORIGIN_OFFSETS) + 60)
    s = s[s["ds"] >= start]
    fig, ax = plt.subplots(figsize=(11, 4))
    ax.plot(s["ds"], s["y"], color="black", lw=1, label="actual")
    for i, w in enumerate(windows):
        ds = pd.to_datetime(w.actual["ds"])
        ax.plot(ds, w.model["value"], color="tab:blue", lw=1.2,
                label="backtest forecast" if i == 0 else None)
        ax.fill_between(ds, w.model["lower"], w.model["upper"], color="tab:blue", alpha=0.15)
        ax.plot(ds, w.naive, color="tab:orange", lw=0.8, ls="--",
                label="seasonal naive" if i == 0 else None)
    ds = pd.to_datetime(holdout_fc["date"])
    ax.plot(ds, holdout_fc["value"], color="tab:green", lw=1.5, label="served model (hold-out week)")
    ax.fill_between(ds, holdout_fc["lower"], holdout_fc["upper"], color="tab:green", alpha=0.2)
    ax.set_title(f"{hotel}: {target} forecast vs actual")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig


def train(marts, timeline: Timeline, target: str) -> Candidate:
    """Backtest Prophet against seasonal-naive on every hotel with enough history, fit the
    served model of every hotel (history up to T-7 when evaluated, all of it otherwise), and
    return the candidate for the registry with the figures per hotel and for the group."""
    started = time.perf_counter()
    from prophet.serialize import model_to_json

    series = load_series(marts, target, timeline.as_of)
    known = [h for (h,) in marts.execute(
        "select distinct hotel from fct_bookings where arrival_date <= $as_of and hotel is not null",
        {"as_of": timeline.as_of}).fetchall()]
    hotels = sorted(set(known) | set(series["hotel"]))
    floor = MAPE_FLOOR[target]

    rows, windows, holdout = [], {}, {}
    models_json, trained_until, history_end, capacity = {}, {}, {}, {}
    for hotel in hotels:
        s = series[series["hotel"] == hotel].reset_index(drop=True)
        evaluated, reason = _assess(s, timeline)
        row = {"hotel": hotel, "evaluated": evaluated, "reason": reason, "rows": len(s),
               "first_day": s["ds"].min().date().isoformat() if len(s) else None,
               "last_day": s["ds"].max().date().isoformat() if len(s) else None}
        rows.append(row)
        if len(s) < MIN_FIT_DAYS:
            continue
        end = s["ds"].max()
        cutoff = end - pd.Timedelta(days=HOLDOUT_DAYS) if evaluated else end
        history = s[s["ds"] <= cutoff]
        fitted = _fit(history, target)
        models_json[hotel], capacity[hotel] = model_to_json(fitted[0]), fitted[1]
        trained_until[hotel] = cutoff.date().isoformat()
        history_end[hotel] = end.date().isoformat()
        if not evaluated:
            continue
        windows[hotel] = _backtest(s, target, hotel)
        metrics, baseline = _window_mapes(windows[hotel], target)
        week = s[s["ds"] > cutoff]
        fc = _predict_prophet(fitted, week["ds"], target)
        holdout[hotel] = (week, seasonal_naive(history, len(week)), fc)
        row.update(metrics, interval_coverage_30d=_coverage(windows[hotel]),
                   holdout_mape_7d=mape(week["y"], fc["value"], floor),
                   **{f"baseline_{k}": v for k, v in baseline.items()},
                   baseline_holdout_mape_7d=mape(week["y"], holdout[hotel][1], floor))
    if not models_json:
        raise ValueError(f"no hotel has {WARMUP_DAYS + MIN_FIT_DAYS} days of {target} history "
                         f"up to {timeline.as_of}: nothing to forecast from")
    model = ForecastModel(target, models_json, trained_until, capacity, history_end=history_end)

    evaluated = list(holdout)
    actual = (pd.concat([holdout[h][0].assign(hotel=h) for h in evaluated], ignore_index=True)
              .rename(columns={"ds": "date"}) if evaluated
              else pd.DataFrame({"hotel": [], "date": pd.Series(dtype="datetime64[ns]"), "y": []}))
    holdout_request = pd.DataFrame({
        "hotel": evaluated,
        "start_date": [(pd.Timestamp(trained_until[h]) + pd.Timedelta(days=1)).date() for h in evaluated],
        "horizon_days": [HOLDOUT_DAYS] * len(evaluated),
    })

    def score(loaded) -> float:
        """`holdout_mape_7d` of any loaded model: its MAPE on the last 7 days of history of
        each evaluated hotel, averaged over the hotels."""
        if not evaluated:
            return float("nan")
        fc = loaded.predict(holdout_request)
        fc = fc.assign(date=pd.to_datetime(fc["date"]))
        both = actual.merge(fc, on=["hotel", "date"], how="left")
        if both["value"].isna().any():
            missing = sorted(both.loc[both["value"].isna(), "hotel"].unique())
            raise ValueError(f"the model did not forecast every day of the hold-out week of {missing}")
        return _mean([mape(g["y"], g["value"], floor) for _, g in both.groupby("hotel")])

    by_property = pd.DataFrame(rows)
    names = ["mape_7d", "mape_14d", "mape_30d", "interval_coverage_30d", "holdout_mape_7d"]
    for col in [*names, *(f"baseline_{k}" for k in names if k != "interval_coverage_30d")]:
        if col not in by_property:
            by_property[col] = np.nan
    judged = by_property[by_property["evaluated"]]
    # The group: every evaluated hotel counts once, whatever its size.
    metrics = {k: _mean(judged[k]) for k in names}
    baseline = {k: _mean(judged[f"baseline_{k}"]) for k in names if k != "interval_coverage_30d"}
    group = {"hotel": GROUP, "evaluated": bool(evaluated),
             "reason": None if evaluated else "no hotel has enough history to be evaluated",
             "rows": int(by_property["rows"].sum()), **metrics,
             **{f"baseline_{k}": v for k, v in baseline.items()}}
    by_property = pd.concat([by_property, pd.DataFrame([group])], ignore_index=True)

    per_window = pd.DataFrame([{
        "hotel": w.hotel, "origin": w.origin.date().isoformat(),
        **{f"model_mape_{h}d": mape(w.actual["y"][:h], w.model["value"][:h], floor) for h in HORIZONS},
        **{f"naive_mape_{h}d": mape(w.actual["y"][:h], w.naive[:h], floor) for h in HORIZONS},
    } for ws in windows.values() for w in ws])
    figures = {f"forecast_{target}_{_slug(h)}": _figure(h, target, series[series["hotel"] == h],
                                                        holdout[h][2], windows[h])
               for h in evaluated}
    params = {
        **timeline.params(),
        "target": target,
        "algorithm": "prophet",
        "hotels": len(models_json),
        "evaluated_hotels": len(evaluated),
        "backtest_hotels": ",".join(evaluated)[:6000],
        "origins_days_before_end": ",".join(map(str, ORIGIN_OFFSETS)),
        "holdout_days": HOLDOUT_DAYS,
        "interval_width": INTERVAL_WIDTH,
        "mape_floor": floor,
        "warmup_days": WARMUP_DAYS,
        "training_seconds": round(time.perf_counter() - started, 2),
    }
    # The logged signature is inferred from this example: the horizon form, which the API uses
    # (MLflow cannot enforce an optional integer column, so the two forms cannot share one
    # signature; the (hotel, date) form works on the Python object and on unwrap_python_model()).
    example = holdout_request.copy() if evaluated else pd.DataFrame({
        "hotel": model.hotels,
        "start_date": [(pd.Timestamp(history_end[h]) + pd.Timedelta(days=1)).date() for h in model.hotels],
        "horizon_days": [HOLDOUT_DAYS] * len(model.hotels)})
    return Candidate(
        name=f"forecast_{target}", model=model, input_example=example,
        primary="holdout_mape_7d", higher_is_better=False, metrics=metrics,
        baseline=baseline, score=score, params=params, figures=figures,
        tables={"backtest": per_window}, by_property=by_property)


def train_all(marts, timeline: Timeline) -> list[Candidate]:
    return [train(marts, timeline, target) for target in TARGETS]
