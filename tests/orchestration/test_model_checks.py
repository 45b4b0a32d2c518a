"""The model assets' checks and metadata: a retrain that loses to its baseline, learns from
stale data or gives probabilities that do not mean what they say is flagged, and the
metadata reads as a person expects (counts as integers, no nan, one line on promotion)."""

from __future__ import annotations

from datetime import date

import dagster as dg
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ml.catalog import MODELS
from ml.registry import GROUP, Candidate, Registration
from orchestration.models.checks import ECE_TOLERANCE, check_specs, model_checks
from orchestration.models.metadata import model_metadata

AS_OF = date(2026, 11, 30)
KEY = ["models", "cancellation"]


def candidate(auc: float, baseline_auc: float, ece: float, newest: str, rows: int = 500) -> Candidate:
    table = pd.DataFrame([
        {"hotel": "Harbour Inn", "evaluated": True, "reason": None, "rows": rows, "last_day": newest,
         "test_start": "2026-09-01", "auc": auc, "baseline_auc": baseline_auc, "ece": ece, "baseline_ece": np.nan},
        {"hotel": "Two Week Lodge", "evaluated": False, "reason": "14 day(s) of arrivals", "rows": 0,
         "last_day": newest, "test_start": None, "auc": np.nan, "baseline_auc": np.nan, "ece": np.nan,
         "baseline_ece": np.nan},
        {"hotel": GROUP, "evaluated": True, "reason": None, "rows": rows, "auc": auc,
         "baseline_auc": baseline_auc, "ece": ece, "baseline_ece": np.nan}])
    return Candidate(name="cancellation", model=None, input_example=pd.DataFrame(), primary="auc",
                     higher_is_better=True, metrics={"auc": auc, "ece": ece, "test_rows": float(rows)},
                     baseline={"auc": baseline_auc}, score=lambda m: auc,
                     params={"as_of": AS_OF.isoformat(), "training_seconds": 1.5}, by_property=table)


def outcome(c: Candidate) -> dict[str, bool]:
    return {r.check_name: r.passed for r in model_checks(MODELS["cancellation"], KEY, [c], AS_OF)}


def test_every_model_asset_declares_its_checks():
    for spec in MODELS.values():
        names = {s.name for s in check_specs(spec, ["models", spec.name])}
        assert {"beats_baseline", "training_data"} <= names
        assert ("calibrated" in names) == spec.calibrated
    assert MODELS["cancellation"].calibrated


def test_a_good_retrain_passes_and_each_failure_is_caught():
    assert outcome(candidate(0.88, 0.86, 0.02, "2026-11-29")) == {
        "beats_baseline": True, "training_data": True, "calibrated": True}
    assert outcome(candidate(0.85, 0.86, 0.02, "2026-11-29"))["beats_baseline"] is False
    assert outcome(candidate(0.88, 0.86, ECE_TOLERANCE + 0.01, "2026-11-29"))["calibrated"] is False
    assert outcome(candidate(0.88, 0.86, 0.02, "2017-08-31"))["training_data"] is False  # stale
    assert outcome(candidate(0.88, 0.86, 0.02, "2026-11-29", rows=0))["training_data"] is False
    assert outcome(candidate(float("nan"), 0.86, 0.02, "2026-11-29"))["beats_baseline"] is False
    [check] = [r for r in model_checks(MODELS["cancellation"], KEY, [candidate(0.85, 0.86, 0.02, "2026-11-29")],
                                       AS_OF) if r.check_name == "beats_baseline"]
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert "auc 0.8500 vs baseline 0.8600" in check.metadata["detail"].value


def test_metadata_reads_right():
    c = candidate(0.88, 0.86, 0.02, "2026-11-29", rows=60438)
    kept = Registration("cancellation", "4", "run", False, 0.88, 0.89, "challenger auc 0.8800 vs champion v3 0.8900")
    metadata = model_metadata(c, kept)
    assert "promoted_to_champion" not in metadata
    assert metadata["promotion"] == "v4 registered, the champion stays: challenger auc 0.8800 vs champion v3 0.8900"
    evaluation = metadata["evaluation"].value
    rows = {cells[0]: cells[1:] for line in evaluation.splitlines()[2:]
            if (cells := [c.strip() for c in line.strip("|").split("|")])}
    assert rows == {"auc": ["0.8800", "0.8600"], "ece": ["0.0200", "-"], "test_rows": ["60438", "-"]}
    by_property = {r.data["hotel"]: r.data for r in metadata["evaluation_by_property"].records}
    assert "nan" not in str(by_property) and by_property["(group)"]["rows"] == "60438"
    assert by_property["Two Week Lodge"]["evaluated"] == "False"
    assert metadata["properties_not_evaluated"] == "Two Week Lodge" and metadata["as_of"] == "2026-11-30"
    new = Registration("cancellation", "1", "run", True, 0.88, None, "no champion yet")
    assert model_metadata(c, new)["promotion"] == "v1 is the champion now: no champion yet"


def test_the_build_line_says_whether_the_run_became_champion():
    from innsight.run_progress import describe

    c = candidate(0.88, 0.86, 0.02, "2026-11-29")
    new = Registration("cancellation", "1", "run", True, 0.88, None, "no champion yet")
    kept = Registration("cancellation", "2", "run", False, 0.88, 0.89, "challenger auc 0.8800 vs champion v1 0.8900")
    assert describe(model_metadata(c, new)) == "v1 champion, auc 0.880 vs 0.860"
    assert describe(model_metadata(c, kept)) == "v2 (champion kept), auc 0.880 vs 0.860"


def test_metadata_links_the_mlflow_run_and_keeps_the_deciding_figures_as_numbers():
    c = candidate(0.88, 0.86, 0.02, "2026-11-29")
    new = Registration("cancellation", "1", "0123abcd", True, 0.88, None, "no champion yet")
    page = "http://127.0.0.1:5000/#/experiments/1/runs/0123abcd"
    metadata = model_metadata(c, new, mlflow_run_url=page)
    assert metadata["mlflow_run"] == dg.MetadataValue.url(page)
    assert metadata["auc"] == 0.88 and metadata["baseline_auc"] == 0.86  # floats: plotted over runs
    assert "mlflow_run" not in model_metadata(c, new)  # no MLflow UI known: no link
    # plots: an image the MLflow UI serves (short enough to show inline), else a data URI
    c.figures = {"roc": plt.figure()}
    served = "http://127.0.0.1:5000/get-artifact?path=plots%2Froc.png&run_uuid=0123abcd"
    assert model_metadata(c, new, page, {"roc": served})["plot_roc"].value == f"![roc]({served})"
    assert model_metadata(c, new)["plot_roc"].value.startswith("![plot](data:image/png;base64,")
