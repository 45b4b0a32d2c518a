"""Asset checks on every model, so that a bad retrain is not green: it beats its baseline on
the held-out data, its training data is neither empty nor stale, and (for models that give
probabilities) its calibration error is within tolerance. Computed from the candidates the
asset just trained; WARN severity: a failing check flags the run, the champion gate decides
what is served."""

from __future__ import annotations

import math
from datetime import date

import dagster as dg
import pandas as pd

from ml.catalog import ModelSpec
from ml.registry import GROUP, Candidate

ECE_TOLERANCE = 0.05  # calibration error a probability model may show on its held-out months
STALE_DAYS = 7  # the newest known outcome may lag the as-of day by this much (ingest stopped?)


def check_specs(spec: ModelSpec, key: list[str]) -> list[dg.AssetCheckSpec]:
    names = {"beats_baseline": "Beats its baseline on the held-out data (the deciding metric).",
             "training_data": "Training data not empty, and its newest known outcome within "
                              f"{STALE_DAYS} days of the as-of day."}
    if spec.calibrated:
        names["calibrated"] = f"Expected calibration error on the held-out data <= {ECE_TOLERANCE}."
    return [dg.AssetCheckSpec(name, asset=key, description=text) for name, text in names.items()]


def _beats(c: Candidate) -> tuple[bool, str]:
    model, base = c.metrics.get(c.primary), c.baseline.get(c.primary)
    if model is None or base is None or math.isnan(model) or math.isnan(base):
        return False, f"{c.name}: {c.primary} not evaluated"
    better = model > base if c.higher_is_better else model < base
    return better, f"{c.name}: {c.primary} {model:.4f} vs baseline {base:.4f}"


def _training_data(c: Candidate, as_of: date) -> tuple[bool, str]:
    table = c.by_property
    rows = int(table.loc[table["hotel"] == GROUP, "rows"].sum()) if table is not None else 0
    if rows <= 0:
        return False, f"{c.name}: no held-out rows"
    if table is None or "last_day" not in table.columns:
        return True, f"{c.name}: {rows} held-out rows"
    newest = pd.to_datetime(table["last_day"], errors="coerce").max()
    if pd.isna(newest):
        return True, f"{c.name}: {rows} held-out rows"
    lag = (pd.Timestamp(as_of) - newest).days
    return lag <= STALE_DAYS, f"{c.name}: newest known outcome {newest.date()}, {lag} day(s) before the as-of day"


def model_checks(spec: ModelSpec, key: list[str], candidates: list[Candidate],
                 as_of: date) -> list[dg.AssetCheckResult]:
    def result(name: str, outcomes: list[tuple[bool, str]]) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(
            asset_key=dg.AssetKey(key), check_name=name, passed=all(ok for ok, _ in outcomes),
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"detail": "; ".join(text for _, text in outcomes)})

    out = [result("beats_baseline", [_beats(c) for c in candidates]),
           result("training_data", [_training_data(c, as_of) for c in candidates])]
    if spec.calibrated:
        out.append(result("calibrated", [
            (c.metrics.get("ece", math.inf) <= ECE_TOLERANCE,
             f"{c.name}: ece {c.metrics.get('ece', math.nan):.4f} (tolerance {ECE_TOLERANCE})")
            for c in candidates]))
    return out
