"""Cancellation risk of a booking, from what is known when it is made.

Data: every property's bookings as known on the as-of day (``ml.timeline``). Each property
is held out on its last ``evaluation_months`` of arrivals whose outcome is known; training
reads the labelled arrivals before that. The number of trees is chosen on the three months
before each property's held-out period (with a model fitted on the arrivals before them);
the final booster is then refitted on the whole training period. A property with too little
history trains the model and is reported (and answered) as not evaluated, with the reason.

Output per booking:
- probability: calibrated cancellation probability (Platt scaling of the booster's margin,
  fitted on out-of-time predictions of the four three-month slices before the held-out
  period: a full seasonal cycle);
- risk_level: low (< 0.30), medium (0.30 to < 0.60), high (>= 0.60) — RISK_THRESHOLDS;
- top_factors: JSON list of the TOP_FACTORS booking fields that move the probability most,
  e.g. {"factor": "deposit_type", "value": "Non Refund", "impact": 0.31}; impact is the
  change of the calibrated probability attributable to the field (XGBoost contributions of
  all its features summed, in log-odds, then p(margin) - p(margin - contribution)), positive
  when the field raises the risk;
- actions: JSON list of recommended actions derived from the risk-raising factors and the
  risk level (ACTIONS).
"""

from __future__ import annotations

from datetime import date

import json
import os
import time
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import duckdb
import matplotlib
import mlflow
import numba
import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, brier_score_loss, precision_score, recall_score, roc_auc_score

from ml.cancellation_features import (BOOKING_COLUMNS, CATEGORICAL, FORBIDDEN, HIGH_CARDINALITY, SOURCE,
                               CancellationFeatures, describe_value, load_bookings, normalise)
from ml.registry import GROUP, Candidate
from ml.timeline import Timeline
from ml.tree_paths import TreePaths

matplotlib.use("Agg")

RISK_THRESHOLDS = {"medium": 0.30, "high": 0.60}
DECISION_THRESHOLD = 0.5  # for accuracy / precision / recall
TOP_FACTORS = 3
NTHREAD = 2
SEED = 7
PARAMS = {
    "objective": "binary:logistic", "eval_metric": "auc", "tree_method": "hist",
    "eta": 0.05, "max_depth": 8, "subsample": 0.8, "colsample_bytree": 0.5,
    "min_child_weight": 3, "seed": SEED,
}
MAX_ROUNDS = 1500
EARLY_STOPPING = 100

# Recommended actions per risk-raising factor (field, value or None for any value).
ACTIONS: dict[tuple[str, Any], list[str]] = {
    ("deposit_type", "No Deposit"): ["offer_non_refundable_rate"],
    ("deposit_type", "Refundable"): ["offer_non_refundable_rate"],
    ("deposit_type", "Non Refund"): ["verify_deposit_payment"],
    ("lead_time", None): ["send_confirmation_email", "offer_flexible_dates"],
    ("arrival_date", None): ["offer_flexible_dates"],
    ("booking_date", None): ["send_confirmation_email"],
    ("nights", None): ["offer_flexible_dates"],
    ("agent", None): ["reconfirm_allotment_with_agent"],
    ("company", None): ["reconfirm_with_company"],
    ("group_booking", None): ["reconfirm_group_rooming_list"],
    ("market_segment", None): ["offer_direct_booking_benefits"],
    ("distribution_channel", None): ["offer_direct_booking_benefits"],
    ("customer_type", None): ["send_confirmation_email"],
    ("country", None): ["confirmation_call"],
    ("previous_cancellations", None): ["require_deposit"],
    ("total_of_special_requests", None): ["invite_special_requests"],
    ("required_car_parking_spaces", None): ["offer_parking_or_transfer"],
    ("adr", None): ["offer_price_guarantee"],
    ("is_repeated_guest", None): ["send_welcome_offer"],
}
LEVEL_ACTIONS = {"high": ["confirmation_call"], "medium": ["send_confirmation_email"], "low": []}
MAX_ACTIONS = 4
ACTION_MIN_IMPACT = 0.01


LEVELS = ("low", "medium", "high")
_LEVEL_FLOORS = (RISK_THRESHOLDS["medium"], RISK_THRESHOLDS["high"])


@numba.njit(cache=True, nogil=True)
def _field_impacts(contrib, field_of, n_fields, a, b):
    """Per row of (Saabas) contributions (features + bias, log-odds): the calibrated
    probability, and per booking field how much lower it would be without that field's
    contributions, with the fields ordered by |impact| and by impact, both descending.
    One compiled pass: the numpy version took some twenty small calls for one row."""
    n, width = contrib.shape
    p = np.empty(n)
    impact = np.empty((n, n_fields))
    by_size = np.empty((n, n_fields), np.int64)
    by_value = np.empty((n, n_fields), np.int64)
    by_field = np.empty(n_fields)
    for r in range(n):
        margin = 0.0
        by_field[:] = 0.0
        for j in range(width - 1):
            by_field[field_of[j]] += contrib[r, j]
            margin += contrib[r, j]
        margin += contrib[r, width - 1]
        p[r] = 1.0 / (1.0 + np.exp(-(a * margin + b)))
        for k in range(n_fields):
            impact[r, k] = p[r] - 1.0 / (1.0 + np.exp(-(a * (margin - by_field[k]) + b)))
        by_size[r] = np.argsort(-np.abs(impact[r]), kind="mergesort")
        by_value[r] = np.argsort(-impact[r], kind="mergesort")
    return p, impact, by_size, by_value


def booking_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The model's input: booking-time fields only, in stable types (numbers as float64, so
    an integer or a missing value both fit the logged signature)."""
    out = normalise(df)[BOOKING_COLUMNS].copy()
    for c in ("booking_date", "arrival_date"):
        out[c] = out[c].astype("datetime64[ns]")
    for c in ("lead_time", "adr", "stays_in_weekend_nights", "stays_in_week_nights", "adults",
              "children", "babies", "is_repeated_guest", "previous_cancellations",
              "previous_bookings_not_canceled", "required_car_parking_spaces",
              "total_of_special_requests"):
        out[c] = out[c].astype("float64")
    for c in ("country", "agent", "company", *CATEGORICAL):
        out[c] = out[c].astype(object).where(out[c].notna(), "")
    return out.reset_index(drop=True)


class CancellationModel(mlflow.pyfunc.PythonModel):
    """Calibrated cancellation probability, risk level, top factors and actions.

    Carries everything it needs: the fitted features (category codes, ADR medians, as-of
    history tables), the booster (raw bytes) and the Platt calibration."""

    def __init__(self, features: CancellationFeatures, booster: xgb.Booster, platt: tuple[float, float]):
        self.features = features
        self.booster_raw = bytes(booster.save_raw("ubj"))
        self.platt = (float(platt[0]), float(platt[1]))
        self._booster = None
        # per hotel: evaluated on its own held-out period or not (and why), its AUC, as-of day
        self.evaluation: dict[str, dict[str, Any]] = {}

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_booster"] = None
        state.pop("_fields", None)
        state.pop("_paths", None)
        return state

    @property
    def feature_names(self) -> list[str]:
        return list(self.features.feature_names)

    @property
    def booster(self) -> xgb.Booster:
        if self._booster is None:
            b = xgb.Booster(params={"nthread": NTHREAD})
            b.load_model(bytearray(self.booster_raw))
            self._booster = b
        return self._booster

    def margin(self, X: pd.DataFrame) -> np.ndarray:
        return self.booster.predict(xgb.DMatrix(X), output_margin=True)

    def predict(self, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        df = pd.DataFrame(model_input).reset_index(drop=True)
        for c in ("country", "agent", "company", *CATEGORICAL):  # "" = unknown
            if c in df.columns:
                df[c] = df[c].replace("", None)
        X = self.features.transform(df)
        out = self.explain(X.to_numpy(dtype=float), normalise(df).to_dict("records"))
        return pd.DataFrame({"probability": [o["probability"] for o in out],
                             "risk_level": [o["risk_level"] for o in out],
                             "top_factors": [json.dumps(o["top_factors"]) for o in out],
                             "actions": [json.dumps(o["actions"]) for o in out]})

    def predict_one(self, record: dict[str, Any]) -> dict[str, Any]:
        """One booking's answer without pandas (the API's path; ~1 ms instead of ~50 ms):
        probability, risk_level, top_factors and actions as in `predict`."""
        one = self.features.transform_one(record)
        if one is None:  # no usable dates: the frame path knows what to do
            row = self.predict(pd.DataFrame([record])).iloc[0]
            return {"probability": float(row["probability"]), "risk_level": row["risk_level"],
                    "top_factors": json.loads(row["top_factors"]), "actions": json.loads(row["actions"])}
        x, normalised = one
        return self.explain(x[None, :], [normalised])[0]

    def evaluation_for(self, hotel: str | None) -> dict[str, Any]:
        """How far this model's answers for a hotel were checked: evaluated on the hotel's
        own held-out months (with its AUC), or not, with the reason."""
        found = self.evaluation.get(hotel) if hotel is not None else None
        if found is None:
            return {"evaluated": False, "auc": None, "as_of": None,
                    "reason": "the model was trained without any booking of this hotel"}
        return dict(found)

    def for_serving(self) -> "CancellationModel":
        """The model ready for its first request: one throw-away prediction builds the booster
        and the look-up caches (seconds) before a caller waits for them. Returns itself."""
        hotel = next(iter(self.features.categories.get("hotel") or []), None)  # any hotel it knows
        self.predict_one({"hotel": hotel, "arrival_date": date.today().isoformat(),
                          "lead_time": 30, "stays_in_week_nights": 2, "adults": 2})
        return self

    def explain(self, X: np.ndarray, records: list[dict]) -> list[dict[str, Any]]:
        """Probability, level, top factors (impact per booking field) and actions per row of
        the feature matrix; `records` are the normalised bookings (for the factor values)."""
        names = self.feature_names
        if len(X) <= 16:  # the API's case: compiled one-row tree walks, no DMatrix (ml.tree_paths)
            contrib = self._tree_paths().contributions(X)
        else:  # columns are in the booster's order by construction: skip the name check
            contrib = self.booster.predict(xgb.DMatrix(X), pred_contribs=True, approx_contribs=True,
                                           validate_features=False)  # log-odds, (n, features + bias)
        sources, field_of = self._sources()
        a, b = self.platt
        p, impact, by_size, by_value = _field_impacts(contrib, field_of, len(sources), float(a), float(b))
        group_size = X[:, names.index("group_size")]
        out = []
        for r, row in enumerate(records):
            pr, imp = float(p[r]), impact[r].tolist()
            level = LEVELS[(pr >= _LEVEL_FLOORS[0]) + (pr >= _LEVEL_FLOORS[1])]
            factors, actions = [], list(LEVEL_ACTIONS[level])
            for j in by_size[r, :TOP_FACTORS].tolist():
                src = sources[j]
                value = (int(group_size[r]) if src == "group_booking"
                         else describe_value(row, src))
                factors.append({"factor": src, "value": value, "impact": round(imp[j], 4)})
            if level != "low":
                for j in by_value[r, :TOP_FACTORS + 2].tolist():
                    if imp[j] < ACTION_MIN_IMPACT:
                        break
                    src = sources[j]
                    value = describe_value(row, src)
                    actions += ACTIONS.get((src, value), ACTIONS.get((src, None), []))
            out.append({"probability": pr, "risk_level": level, "top_factors": factors,
                        "actions": list(dict.fromkeys(actions))[:MAX_ACTIONS]})
        return out

    def _tree_paths(self) -> TreePaths:
        paths = self.__dict__.get("_paths")
        if paths is None:
            paths = self._paths = TreePaths(self.booster)
        return paths

    def _sources(self) -> tuple[list[str], np.ndarray]:
        """Booking fields and, per feature, the index of the field it is explained as."""
        cached = self.__dict__.get("_fields")
        if cached is None:
            names = self.feature_names
            sources = sorted(set(SOURCE[f] for f in names))
            field_of = np.array([sources.index(SOURCE[f]) for f in names], dtype=np.int64)
            cached = self._fields = (sources, field_of)
        return cached


# ---------------------------------------------------------------- baseline

RAW_NUMERIC = ["lead_time", "stays_in_weekend_nights", "stays_in_week_nights", "adults",
               "children", "babies", "is_repeated_guest", "previous_cancellations",
               "previous_bookings_not_canceled", "required_car_parking_spaces",
               "total_of_special_requests", "adr"]
RAW_CATEGORICAL = [*CATEGORICAL, *HIGH_CARDINALITY]


def raw_matrix(df: pd.DataFrame, categories: dict[str, list]) -> pd.DataFrame:
    """The raw columns as a plain model sees them: numbers, arrival month / week / day, and
    label-encoded categories (codes from the training period)."""
    X = df[RAW_NUMERIC].astype(float).copy()
    X["arrival_month"] = df["arrival_date"].dt.month
    X["arrival_week"] = df["arrival_date"].dt.isocalendar().week.astype(float)
    X["arrival_day"] = df["arrival_date"].dt.day
    for c in RAW_CATEGORICAL:
        X[c] = df[c].map({v: i for i, v in enumerate(categories[c])}).astype(float)
    return X


def train_baseline(train: pd.DataFrame) -> tuple[dict[str, list], xgb.Booster]:
    categories = {c: sorted(train[c].dropna().unique().tolist()) for c in RAW_CATEGORICAL}
    params = {"objective": "binary:logistic", "tree_method": "hist", "eta": 0.1, "max_depth": 6,
              "nthread": NTHREAD, "seed": SEED}
    booster = xgb.train(params, xgb.DMatrix(raw_matrix(train, categories),
                                            train["is_canceled"].astype(int)), 300)
    return categories, booster


# ---------------------------------------------------------------- evaluation

def _figures(y, p, p_base, importance: pd.Series) -> dict[str, Any]:
    import matplotlib.pyplot as plt
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import roc_curve

    figs = {}
    fig, ax = plt.subplots(figsize=(5, 5))
    for name, q in (("cancellation model", p), ("raw-column baseline", p_base)):
        fpr, tpr, _ = roc_curve(y, q)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(y, q):.3f})")
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, held-out arrivals")
    ax.legend(loc="lower right")
    figs["roc"] = fig

    fig, ax = plt.subplots(figsize=(5, 5))
    for name, q in (("cancellation model (calibrated)", p), ("raw-column baseline", p_base)):
        frac, mean = calibration_curve(y, q, n_bins=10, strategy="quantile")
        ax.plot(mean, frac, "o-", label=f"{name} (Brier {brier_score_loss(y, q):.3f})")
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set(xlabel="predicted probability", ylabel="observed cancellation rate",
           title="Calibration, held-out arrivals")
    ax.legend(loc="upper left")
    figs["calibration"] = fig

    top = importance.head(20)[::-1]
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.barh(top.index, top.to_numpy())
    ax.set(xlabel="total gain", title="Feature importance (cancellation model)")
    fig.tight_layout()
    figs["feature_importance"] = fig
    plt.close("all")
    return figs


VALIDATION_MONTHS = 3  # the slice before each property's held-out period that picks the trees
CALIBRATION_SLICES = 3  # further slices of that length before it: with it, a year of out-of-time margins
FALLBACK_ROUNDS = 300  # trees when there is no validation slice to stop on (very short histories)


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Mean |observed rate - mean probability| over equal-width probability bins, weighted by
    the bookings in each: 0.03 means the probabilities are off by 3 points on average."""
    which = np.minimum((np.asarray(p) * bins).astype(int), bins - 1)
    total = 0.0
    for b in np.unique(which):
        m = which == b
        total += m.sum() * abs(float(np.mean(y[m])) - float(np.mean(p[m])))
    return float(total / max(len(y), 1))


def evaluate(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    hard = (p >= DECISION_THRESHOLD).astype(int)
    return {"auc": float(roc_auc_score(y, p)), "ece": expected_calibration_error(y, p),
            "accuracy": float(accuracy_score(y, hard)),
            "precision": float(precision_score(y, hard, zero_division=0)),
            "recall": float(recall_score(y, hard, zero_division=0)),
            "brier": float(brier_score_loss(y, p))}


def _by_property(windows: dict, hotels: list[str], test: pd.DataFrame, p: np.ndarray,
                 p_base: np.ndarray, metrics: dict, baseline: dict) -> pd.DataFrame:
    """One row per property (evaluated on its own held-out period, or why not) and the group."""
    rows = []
    y = test["is_canceled"].astype(int).to_numpy()
    for hotel in hotels:
        w = windows.get(hotel)
        row = {"hotel": hotel, "evaluated": False, "rows": 0,
               "reason": "no arrival has passed by the as-of day: nothing to learn from yet"}
        if w is not None:
            row.update(w.as_dict())
            m = (test["hotel"] == hotel).to_numpy()
            row["rows"] = int(m.sum())
            if w.evaluated and len(np.unique(y[m])) < 2:
                row.update(evaluated=False, reason="its held-out period holds one outcome only "
                                                   "(no cancellation, or only cancellations)")
            elif w.evaluated:
                row.update({**evaluate(y[m], p[m]),
                            **{f"baseline_{k}": v for k, v in evaluate(y[m], p_base[m]).items()}})
        rows.append(row)
    rows.append({"hotel": GROUP, "evaluated": True, "reason": None, "rows": len(test), **metrics,
                 **{f"baseline_{k}": v for k, v in baseline.items()}})
    return pd.DataFrame(rows)


def _platt(margins: list[np.ndarray], labels: list[np.ndarray]) -> tuple[float, float]:
    m, y = np.concatenate(margins), np.concatenate(labels)
    if len(np.unique(y)) < 2:  # nothing to fit on: the booster's own probabilities
        return 1.0, 0.0
    platt = LogisticRegression(C=1e6).fit(m[:, None], y)
    return float(platt.coef_[0, 0]), float(platt.intercept_[0])


def train(marts: duckdb.DuckDBPyConnection, timeline: Timeline) -> Candidate:
    started = time.perf_counter()
    bookings = load_bookings(marts, timeline.as_of)
    # labelled: arrivals passed by the as-of day; each property held out on its last months
    labelled = bookings[bookings["arrived"]]
    windows, starts, train_rows, test_rows = timeline.held_out(labelled)
    train_df, test_df, cut = labelled[train_rows], labelled[test_rows], starts[train_rows]
    if train_df.empty or test_df.empty or train_df["is_canceled"].nunique() < 2:
        raise ValueError(
            f"cannot train the cancellation model as of {timeline.as_of}: {len(train_df)} labelled "
            f"booking(s) before the held-out periods and {len(test_df)} in them; it needs bookings "
            f"of both outcomes and at least one property with {timeline.min_history_days} days of "
            "arrivals before its last months (see the evaluation_months and min_history_days settings)")
    params = {**PARAMS, "nthread": NTHREAD}

    # 1. model selection and calibration on the slice before each property's held-out period
    def before(months: int) -> np.ndarray:
        return (train_df["arrival_date"] < cut - pd.DateOffset(months=months)).to_numpy()

    sub, val = train_df[before(VALIDATION_MONTHS)], train_df[~before(VALIDATION_MONTHS)]
    sub_features = CancellationFeatures.fit(sub, bookings)
    x_sub = xgb.DMatrix(sub_features.transform(sub), sub["is_canceled"].astype(int))
    if val["is_canceled"].nunique() == 2 and len(sub):
        x_val = xgb.DMatrix(sub_features.transform(val), val["is_canceled"].astype(int))
        selector = xgb.train(params, x_sub, MAX_ROUNDS, evals=[(x_val, "validation")],
                             early_stopping_rounds=EARLY_STOPPING, verbose_eval=False)
        best_rounds, validation_auc = selector.best_iteration + 1, float(selector.best_score)
        margins = [selector.predict(x_val, iteration_range=(0, best_rounds), output_margin=True)]
        labels = [val["is_canceled"].astype(int).to_numpy()]
    else:
        best_rounds, validation_auc, margins, labels = FALLBACK_ROUNDS, float("nan"), [], []
    # Platt scaling on out-of-time margins covering a year (slice by slice, each predicted by
    # a model fitted on the arrivals before it): one slice alone carries its season's offset
    # into every month of the next year.
    for k in range(1, CALIBRATION_SLICES + 1):
        fit_rows = before(VALIDATION_MONTHS * (k + 1))
        slice_rows = before(VALIDATION_MONTHS * k) & ~fit_rows
        earlier, window = train_df[fit_rows], train_df[slice_rows]
        if earlier["is_canceled"].nunique() < 2 or window.empty:
            break
        f = CancellationFeatures.fit(earlier, bookings)
        # trees in proportion to the rows, as the final model grows them (same margin scale)
        b = xgb.train(params, xgb.DMatrix(f.transform(earlier), earlier["is_canceled"].astype(int)),
                      max(1, int(round(best_rounds * len(earlier) / max(len(sub), 1)))))
        margins.append(b.predict(xgb.DMatrix(f.transform(window)), output_margin=True))
        labels.append(window["is_canceled"].astype(int).to_numpy())
    calibration = _platt(margins, labels) if margins else (1.0, 0.0)

    # 2. final model on the whole training period (more data: proportionally more trees)
    rounds = int(round(best_rounds * len(train_df) / max(len(sub), 1)))
    features = CancellationFeatures.fit(train_df, bookings)
    booster = xgb.train(params, xgb.DMatrix(features.transform(train_df), train_df["is_canceled"].astype(int)),
                        rounds)
    model = CancellationModel(features, booster, calibration)
    training_seconds = time.perf_counter() - started

    # 3. held-out evaluation per property and for the group, and the raw-column baseline
    test_input = booking_frame(test_df)
    y_test = test_df["is_canceled"].astype(int).to_numpy()
    p_test = model.predict(test_input)["probability"].to_numpy()
    categories, base = train_baseline(train_df)
    p_base = base.predict(xgb.DMatrix(raw_matrix(test_df, categories)))
    metrics = evaluate(y_test, p_test)
    metrics["validation_auc"] = validation_auc
    baseline = evaluate(y_test, p_base)
    hotels = sorted(bookings["hotel"].dropna().unique())
    by_property = _by_property(windows, hotels, test_df, p_test, p_base, metrics, baseline)
    model.evaluation = {r["hotel"]: {"evaluated": bool(r["evaluated"]), "reason": r["reason"],
                                     "auc": None if pd.isna(r.get("auc")) else round(float(r["auc"]), 4),
                                     "as_of": timeline.as_of.isoformat()}
                        for r in by_property.to_dict("records") if r["hotel"] != GROUP}

    gain = pd.Series(booster.get_score(importance_type="total_gain")).reindex(features.feature_names).fillna(0)
    importance = gain.sort_values(ascending=False)

    def score(loaded) -> float:
        return float(roc_auc_score(y_test, np.asarray(loaded.predict(test_input)["probability"], float)))

    return Candidate(
        name="cancellation", model=model, input_example=test_input.head(5), primary="auc",
        higher_is_better=True, metrics=metrics, baseline=baseline, score=score,
        params={**timeline.params(), "training_seconds": round(training_seconds, 2),
                "train_rows": len(train_df), "test_rows": len(test_df), "validation_rows": len(val),
                "on_the_books": int((~bookings["arrived"]).sum()),
                "held_out": "; ".join(f"{w.hotel} from {w.test_start}" for w in windows.values()
                                      if w.evaluated)[:6000],
                "rounds": rounds, "validation_best_rounds": best_rounds,
                "platt_a": round(calibration[0], 4), "platt_b": round(calibration[1], 4),
                "risk_medium": RISK_THRESHOLDS["medium"], "risk_high": RISK_THRESHOLDS["high"],
                "features": len(features.feature_names),
                **{k: v for k, v in PARAMS.items() if k not in ("objective", "eval_metric")}},
        figures=_figures(y_test, p_test, p_base, importance),
        tables={"feature_importance": importance.rename("total_gain").reset_index()
                .rename(columns={"index": "feature"})},
        by_property=by_property,
    )


__all__ = ["CancellationModel", "train", "FORBIDDEN", "BOOKING_COLUMNS", "RISK_THRESHOLDS"]
