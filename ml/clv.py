"""Guest value (CLV) over 12 months: predicted value, retention probability and segment.

Trained and validated on the guests with an id (the synthetic chain's; the bundled extract
has none, its hotels are reported as not evaluated), out of time and as of the timeline's
day: nothing dated after it is read.

- end of data ``E`` = the last arrival of a guest with an id on or before the as-of day;
  validation cutoff ``T`` = E + 1 - 365 days. Features use only what the PMS knew before
  ``T``; the targets are the guest's value (room revenue of stays arriving in [T, E] + folio
  extras - F&B, spa, minibar - served in that window) and retention (any stay arriving in
  that window). A target window reads nothing dated after its last day: bookings made, and
  cancellations settled, later are not known (the booking counts at its booked revenue).
- training cutoff ``T_train = T - h``: features before ``T_train``, target in
  [T_train, T). ``h`` is 365 days when the data has at least two years before ``T``;
  otherwise half of the history before ``T`` (the bundled chain spans 24 months, so
  ``h`` is about 6 months: a 12-month target *and* 12 months of history for training
  would need 36 months of data). The ``h``-day training target is annualised with the
  chain's own seasonality (value of the 365 days before ``T`` / value of the last ``h``
  days before ``T``) and the ``h``-day retention probability is turned into a 12-month
  one with a constant hazard: ``p12 = 1 - (1 - p_h) ** (365 / h)``. Nothing after ``T`` is used to
  train, so the validation is honest.
- frequency and monetary features are rates per year of observable history, so a feature
  means the same at ``T_train`` (less history) and at ``T``.

Not used as features: ``dim_guests.loyalty_tier`` is a snapshot of the guest master
computed from *all* the guest's stays, future ones included (a target leak); the churn
model's booking fields are not needed here.

Segment rule (``segment_of``), with ``p`` = retention probability and ``v`` = predicted
12-month value, thresholds fixed at training time on the training guests:
- ``champion``: p >= 0.5 and v >= the 90th percentile of predicted value;
- ``loyal``: p >= 0.5 otherwise;
- ``at_risk``: p < 0.5 and the guest's historical annual spend >= its 75th percentile
  (valuable so far, not expected back);
- ``promising``: 0.2 <= p < 0.5 otherwise;
- ``dormant``: p < 0.2 otherwise.

Baseline (same validation guests): a recency-frequency-monetary heuristic, annual
historical spend x exp(-recency / 365 days), used both as value and as retention score.

``by_property``: the validation guests grouped by their home hotel (the hotel they booked
most before ``T``, a tie to the latest booked), each hotel's figures next to the baseline's; a hotel without guest ids,
with too few validation guests or with too little guest history before ``T`` is listed with
the reason, its guests still in the group model. The group row is every validation guest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import mlflow
import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import mean_absolute_error, mean_squared_error, roc_auc_score
from xgboost import XGBClassifier, XGBRegressor

from features.inputs import CATEGORICAL_FEATURES, FEATURES, NUMERIC_FEATURES, data_range, guest_features
from ml.encoding import category_codes
from ml.registry import GROUP, Candidate
from ml.tree_paths import TreePaths
from ml.timeline import Timeline

HORIZON_MONTHS = 12
HORIZON_DAYS = 365
SEGMENTS = ("champion", "loyal", "promising", "at_risk", "dormant")
GUEST_SEGMENTS = ("business", "leisure", "corporate", "group")
RECENCY_DECAY_DAYS = 365.0
NTHREAD = 2
SEED = 42
MIN_PROPERTY_GUESTS = 50  # fewer validation guests: no figures of a hotel's own


def guest_targets(marts: duckdb.DuckDBPyConnection, start: date, end: date) -> pd.DataFrame:
    """Per guest: value (room revenue of stays arriving in [start, end) + folio extras served
    in it) and retained (any stay arriving in it), as known at the end of the window: a
    booking made, or a cancellation settled, on or after ``end`` is not read."""
    return marts.execute(
        """
        with b as (
            select guest_id, booked_revenue,
                   is_canceled and reservation_status_date < $end as cancelled_known
            from fct_bookings
            where guest_id is not null and arrival_date >= $start and arrival_date < $end
              and coalesce(booking_date, arrival_date) < $end
        ),
        rooms as (
            select guest_id, sum(booked_revenue) filter (where not cancelled_known) as room_value,
                   count(*) filter (where not cancelled_known) as stays
            from b group by guest_id
        ),
        extras as (
            select guest_id, sum(amount) as extras_value
            from staging.stg_pms_folio_lines
            where guest_id is not null and category <> 'room' and service_date >= $start and service_date < $end
            group by guest_id
        )
        select guest_id, coalesce(r.room_value, 0) + coalesce(e.extras_value, 0) as value,
               coalesce(r.stays, 0) > 0 as retained
        from rooms r full outer join extras e using (guest_id)
        """,
        {"start": start, "end": end},
    ).df()


def labelled(marts: duckdb.DuckDBPyConnection, as_of: date, end: date) -> pd.DataFrame:
    """Features at as_of joined with targets in [as_of, end) (0 / False when nothing)."""
    x = guest_features(marts, as_of)
    t = guest_targets(marts, as_of, end)
    t["guest_id"] = t["guest_id"].astype(str)
    df = x.merge(t, on="guest_id", how="left")
    df["value"] = df["value"].fillna(0.0).astype(float)
    df["retained"] = df["retained"].astype("boolean").fillna(False).astype(bool)
    return df


def rfm_baseline(features: pd.DataFrame) -> np.ndarray:
    """Annual historical spend x exp(-recency / 365): the heuristic the model must beat."""
    recency = features["recency_days"].fillna(features["tenure_days"]).to_numpy(dtype=float)
    return features["monetary_per_year"].to_numpy(dtype=float) * np.exp(-recency / RECENCY_DECAY_DAYS)


def _matrix(features: pd.DataFrame, categories: dict[str, list[str]]) -> pd.DataFrame:
    x = features[NUMERIC_FEATURES].astype(float).copy()
    for c in CATEGORICAL_FEATURES:
        x[c] = pd.Categorical(features[c].astype(str), categories=categories[c])
    return x


def segment_of(value: np.ndarray, retention: np.ndarray, annual_spend: np.ndarray,
               value_hi: float, spend_hi: float) -> np.ndarray:
    """The documented segment rule (module docstring)."""
    value, retention, annual_spend = (np.asarray(a, dtype=float) for a in (value, retention, annual_spend))
    return np.select(
        [
            (retention >= 0.5) & (value >= value_hi),
            retention >= 0.5,
            np.nan_to_num(annual_spend) >= spend_hi,
            retention >= 0.2,
        ],
        ["champion", "loyal", "at_risk", "promising"],
        default="dormant",
    )


def _tree_paths(model) -> TreePaths:
    """The trees a fitted wrapper predicts with, walked for one row: XGBoost's
    ``inplace_predict`` costs ~0.25 ms of set-up per row and model, the walk ~0.02 ms."""
    booster = model.get_booster()
    try:
        booster = booster[: model.best_iteration + 1]
    except AttributeError:  # no early stopping: every tree
        pass
    return TreePaths(booster)


class ClvModel(mlflow.pyfunc.PythonModel):
    """12-month guest value, retention probability and segment from ``guest_features`` rows."""

    def __init__(self, regressor: XGBRegressor, classifier: XGBClassifier, categories: dict[str, list[str]],
                 value_scale: float, retention_power: float, value_hi: float = np.inf, spend_hi: float = np.inf):
        self.regressor = regressor
        self.classifier = classifier
        self.categories = categories
        self.value_scale = value_scale  # training-horizon value -> 12-month value
        self.retention_power = retention_power  # 12 / training horizon in months
        self.value_hi = value_hi
        self.spend_hi = spend_hi

    def _raw(self, model_input: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        x = _matrix(model_input, self.categories)
        value = np.expm1(self.regressor.predict(x)).clip(min=0) * self.value_scale
        p_h = self.classifier.predict_proba(x)[:, 1]
        retention = 1.0 - (1.0 - p_h) ** self.retention_power
        return value, retention

    def _one_row(self) -> tuple[TreePaths, TreePaths]:
        """The two models' trees for ``predict_one`` (made once; not pickled with the model)."""
        if "_one_row_paths" not in self.__dict__:
            self._one_row_paths = (_tree_paths(self.regressor), _tree_paths(self.classifier))
        return self._one_row_paths

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_one_row_paths"}

    def for_serving(self) -> "ClvModel":
        """The model ready for its first request: the one-row tree walks and category codes
        built now, not while a caller waits. Returns itself."""
        self._one_row()
        category_codes(self, CATEGORICAL_FEATURES)
        return self

    def predict_one(self, record: dict) -> dict:
        """One guest without pandas (the API's path): the values `predict` gives."""
        row = [np.nan if record.get(c) is None else float(record[c]) for c in NUMERIC_FEATURES]
        codes = category_codes(self, CATEGORICAL_FEATURES)
        row += [float(codes[c].get(str(record.get(c)), np.nan)) for c in CATEGORICAL_FEATURES]
        regressor, classifier = self._one_row()
        x = np.array(row)  # in FEATURES order, categories as the training codes
        # in float32, as `predict` computes it on XGBoost's float32 predictions
        value = float(np.expm1(np.float32(regressor.predict(x))).clip(min=0) * self.value_scale)
        p_h = classifier.predict(x)  # binary:logistic: P(class 1)
        retention = 1.0 - (1.0 - p_h) ** self.retention_power
        spend = np.nan if record.get("monetary_per_year") is None else float(record["monetary_per_year"])
        segment = segment_of([value], [retention], [spend], self.value_hi, self.spend_hi)[0]
        return {"guest_id": record.get("guest_id"), "predicted_value_12m": round(value, 2),
                "retention_probability": round(retention, 4), "segment": str(segment)}

    def predict(self, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        missing = [c for c in ["guest_id", *FEATURES] if c not in model_input.columns]
        if missing:
            raise ValueError(f"CLV input lacks columns {missing}; build it with ml.clv.guest_features")
        value, retention = self._raw(model_input)
        segment = segment_of(value, retention, model_input["monetary_per_year"].to_numpy(dtype=float),
                             self.value_hi, self.spend_hi)
        return pd.DataFrame({
            "guest_id": model_input["guest_id"].astype(str).to_numpy(),
            "predicted_value_12m": np.round(value, 2),
            "retention_probability": np.round(retention, 4),
            "segment": segment,
        })


def top_decile_capture(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Share of the actual value held by the guests predicted in the top 10%."""
    actual = np.asarray(actual, dtype=float)
    total = actual.sum()
    if total <= 0:
        return float("nan")
    k = max(1, int(np.ceil(0.1 * len(actual))))
    top = np.argsort(-np.asarray(predicted, dtype=float), kind="stable")[:k]
    return float(actual[top].sum() / total)


def evaluate(actual_value: np.ndarray, retained: np.ndarray, predicted_value: np.ndarray,
             retention_score: np.ndarray) -> dict[str, float]:
    actual_value = np.asarray(actual_value, dtype=float)
    predicted_value = np.asarray(predicted_value, dtype=float)
    return {
        "mae": float(mean_absolute_error(actual_value, predicted_value)),
        "rmse": float(np.sqrt(mean_squared_error(actual_value, predicted_value))),
        "spearman": float(spearmanr(actual_value, predicted_value).statistic),
        "top_decile_capture": top_decile_capture(actual_value, predicted_value),
        "retention_auc": float(roc_auc_score(np.asarray(retained, dtype=bool), retention_score)),
    }


@dataclass
class Split:
    cutoff: date  # validation cutoff T
    end: date  # T + 12 months (365 days), exclusive: at most the day after the as-of day
    train_cutoff: date  # T - h
    horizon_days: int  # h, the training target window
    start: date  # first arrival of a guest with an id


def split_dates(marts: duckdb.DuckDBPyConnection, as_of: date) -> Split:
    """The split of the data known on ``as_of``: it ends on the last guest arrival by then."""
    start, last = data_range(marts, as_of)
    end = last + timedelta(days=1)
    cutoff = end - timedelta(days=HORIZON_DAYS)
    horizon = min(HORIZON_DAYS, (cutoff - start).days // 2)
    if horizon < 60:
        raise ValueError(f"CLV needs at least 16 months of guest history; as of {as_of} the data "
                         f"spans {start}..{last}")
    return Split(cutoff, end, cutoff - timedelta(days=horizon), horizon, start)


def _figures(actual: np.ndarray, predicted: np.ndarray, baseline: np.ndarray) -> dict:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig1, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(np.log1p(predicted), np.log1p(actual), s=4, alpha=0.3)
    hi = float(max(np.log1p(predicted).max(), np.log1p(actual).max()))
    ax.plot([0, hi], [0, hi], color="grey", lw=1)
    ax.set_xlabel("predicted 12-month value (log1p)")
    ax.set_ylabel("actual 12-month value (log1p)")
    ax.set_title("CLV: predicted vs actual (validation guests)")
    fig1.tight_layout()

    fig2, ax = plt.subplots(figsize=(6, 4))
    deciles = np.arange(1, 11)
    for name, score in (("model", predicted), ("RFM baseline", baseline)):
        order = np.argsort(-score, kind="stable")
        chunks = np.array_split(actual[order], 10)
        ax.plot(deciles, [c.sum() / max(actual.sum(), 1e-9) for c in chunks], marker="o", label=name)
    ax.axhline(0.1, color="grey", lw=1, ls="--", label="random")
    ax.set_xlabel("predicted decile (1 = highest)")
    ax.set_ylabel("share of actual value")
    ax.set_title("CLV lift by predicted decile")
    ax.legend()
    fig2.tight_layout()
    plt.close(fig1)
    plt.close(fig2)
    return {"clv_predicted_vs_actual": fig1, "clv_lift": fig2}


def _by_property(marts: duckdb.DuckDBPyConnection, s: Split, timeline: Timeline,
                 valid: pd.DataFrame, predicted: pd.DataFrame, base: np.ndarray, metrics: dict,
                 baseline: dict) -> pd.DataFrame:
    """One row per hotel of the marts (its home guests' figures, or why none) and the group."""
    hotels = marts.execute(
        """select hotel, min(arrival_date) filter (where guest_id is not null) as first_guest
           from fct_bookings where arrival_date <= $as_of and hotel is not null
           group by hotel order by hotel""", {"as_of": timeline.as_of}).fetchall()
    actual, retained = valid["value"].to_numpy(), valid["retained"].to_numpy()
    value = predicted["predicted_value_12m"].to_numpy(dtype=float)
    retention = predicted["retention_probability"].to_numpy(dtype=float)
    rows = []
    for hotel, first_guest in hotels:
        m = (valid["home_hotel"] == hotel).to_numpy()
        row = {"hotel": hotel, "evaluated": False, "reason": None, "rows": int(m.sum())}
        history = None if first_guest is None else (s.cutoff - first_guest).days
        if first_guest is None:
            row["reason"] = "no booking of it carries a guest_id: guest value needs guest ids"
        elif history < timeline.min_history_days:
            row["reason"] = (f"{max(history, 0)} day(s) of guest history before the validation cutoff "
                             f"{s.cutoff} (needs {timeline.min_history_days}): its guests train the "
                             "group model, not evaluated on their own")
        elif m.sum() < MIN_PROPERTY_GUESTS:
            row["reason"] = (f"{int(m.sum())} validation guest(s) at home there (needs "
                             f"{MIN_PROPERTY_GUESTS}): in the group figures only")
        elif len(np.unique(retained[m])) < 2:
            row["reason"] = "its validation guests all came back, or none did: no retention AUC"
        else:
            row.update(evaluated=True, **evaluate(actual[m], retained[m], value[m], retention[m]),
                       validation_guests=float(m.sum()), validation_retention_rate=float(retained[m].mean()),
                       **{f"baseline_{k}": v for k, v in evaluate(actual[m], retained[m], base[m], base[m]).items()})
        rows.append(row)
    rows.append({"hotel": GROUP, "evaluated": True, "reason": None, "rows": len(valid), **metrics,
                 **{f"baseline_{k}": v for k, v in baseline.items()}})
    out = pd.DataFrame(rows)
    for col in [*metrics, *(f"baseline_{k}" for k in baseline)]:
        if col not in out:
            out[col] = np.nan
    return out


def train(marts: duckdb.DuckDBPyConnection, timeline: Timeline) -> Candidate:
    """As of the timeline's day: train on cutoff T - h (target in [T - h, T)), validate on
    cutoff T (target in [T, T+12m), ending on the last day known)."""
    started = time.perf_counter()
    s = split_dates(marts, timeline.as_of)
    train_df = labelled(marts, s.train_cutoff, s.cutoff)
    valid_df = labelled(marts, s.cutoff, s.end)

    # Annualise the h-month training target with the seasonality seen before T.
    year_value = float(guest_targets(marts, s.cutoff - timedelta(days=HORIZON_DAYS), s.cutoff)["value"].sum())
    window_value = float(guest_targets(marts, s.train_cutoff, s.cutoff)["value"].sum())
    value_scale = year_value / window_value if window_value > 0 else HORIZON_DAYS / s.horizon_days
    retention_power = HORIZON_DAYS / s.horizon_days

    categories = {
        "segment": list(GUEST_SEGMENTS),
        "home_hotel": sorted(set(train_df["home_hotel"]) | set(valid_df["home_hotel"])),
    }
    x_train = _matrix(train_df, categories)
    common = dict(n_estimators=300, learning_rate=0.04, max_depth=4, min_child_weight=5, subsample=0.9,
                  colsample_bytree=0.8, reg_lambda=2.0, tree_method="hist", enable_categorical=True,
                  n_jobs=NTHREAD, random_state=SEED)
    regressor = XGBRegressor(objective="reg:squarederror", **common)
    regressor.fit(x_train, np.log1p(train_df["value"].to_numpy()))
    classifier = XGBClassifier(objective="binary:logistic", eval_metric="auc", **common)
    classifier.fit(x_train, train_df["retained"].to_numpy())

    model = ClvModel(regressor, classifier, categories, value_scale, retention_power)
    train_value, _ = model._raw(train_df)
    model.value_hi = float(np.quantile(train_value, 0.9))
    model.spend_hi = float(np.nanquantile(train_df["monetary_per_year"].to_numpy(dtype=float), 0.75))
    training_seconds = time.perf_counter() - started

    pred = model.predict(valid_df)
    actual = valid_df["value"].to_numpy()
    retained = valid_df["retained"].to_numpy()
    metrics = evaluate(actual, retained, pred["predicted_value_12m"].to_numpy(), pred["retention_probability"].to_numpy())
    base = rfm_baseline(valid_df)
    baseline = evaluate(actual, retained, base, base)
    metrics["validation_guests"] = float(len(valid_df))
    metrics["validation_retention_rate"] = float(retained.mean())
    by_property = _by_property(marts, s, timeline, valid_df, pred, base, metrics, baseline)

    feature_frame = valid_df[["guest_id", *FEATURES]].reset_index(drop=True)

    def score(loaded) -> float:
        out = loaded.predict(feature_frame)
        return float(mean_absolute_error(actual, np.asarray(out["predicted_value_12m"], dtype=float)))

    seg_table = pred.assign(actual_value=actual, retained=retained).groupby("segment").agg(
        guests=("guest_id", "size"), predicted_value=("predicted_value_12m", "mean"),
        actual_value=("actual_value", "mean"), retention_rate=("retained", "mean")).reset_index()
    importance = pd.DataFrame({"feature": FEATURES, "gain_value": regressor.feature_importances_,
                               "gain_retention": classifier.feature_importances_}).sort_values("gain_value", ascending=False)
    return Candidate(
        name="clv",
        model=model,
        input_example=feature_frame.head(5),
        primary="mae",
        higher_is_better=False,
        metrics=metrics,
        baseline=baseline,
        score=score,
        params={
            **timeline.params(),
            "data_start": s.start.isoformat(), "data_end": (s.end - timedelta(days=1)).isoformat(),
            "validation_cutoff": s.cutoff.isoformat(), "validation_end": s.end.isoformat(),
            "train_cutoff": s.train_cutoff.isoformat(), "train_horizon_days": s.horizon_days,
            "horizon_months": HORIZON_MONTHS, "value_scale": round(value_scale, 4),
            "retention_power": retention_power, "train_guests": len(train_df),
            "n_estimators": common["n_estimators"], "max_depth": common["max_depth"],
            "learning_rate": common["learning_rate"], "target": "log1p(value)",
            "segment_value_threshold": round(model.value_hi, 2),
            "segment_spend_threshold": round(model.spend_hi, 2),
            "baseline": f"annual spend x exp(-recency/{RECENCY_DECAY_DAYS:.0f}d)",
            "training_seconds": round(training_seconds, 2),
        },
        figures=_figures(actual, pred["predicted_value_12m"].to_numpy(dtype=float), base),
        tables={"clv_segments": seg_table, "clv_feature_importance": importance},
        by_property=by_property,
    )
