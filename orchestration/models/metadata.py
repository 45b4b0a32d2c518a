"""How a model's evaluation reads in Dagster metadata: metrics next to their baseline, plots."""

import base64
import io

import dagster as dg
import pandas as pd

from ml.registry import Candidate, Registration


def comparison_table(candidate: Candidate) -> pd.DataFrame:
    names = list(dict.fromkeys([*candidate.metrics, *candidate.baseline]))
    return pd.DataFrame({
        "metric": names,
        "model": [candidate.metrics.get(n) for n in names],
        "baseline": [candidate.baseline.get(n) for n in names],
    })


def property_table(candidate: Candidate) -> pd.DataFrame:
    """Per property and for the group: evaluated or why not, held-out rows, the deciding
    metric next to its baseline (and the calibration error where the model reports one)."""
    t = candidate.by_property
    metric = candidate.primary
    columns = ["hotel", "evaluated", "rows", *(c for c in ("test_start",) if c in t),
               *(c for c in (metric, f"baseline_{metric}", "ece", "baseline_ece") if c in t), "reason"]
    return t[columns].fillna("").astype(str).replace({"nan": ""})


def plot_markdown(figure) -> str:
    """A matplotlib figure as an inline PNG, so the plot shows in the asset's metadata."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=70, bbox_inches="tight")
    return f"![plot](data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()})"


def model_metadata(candidate: Candidate, registration: Registration) -> dict:
    metadata = {
        "evaluation": dg.MetadataValue.md(
            comparison_table(candidate).to_markdown(index=False, floatfmt=".4f")),
        candidate.primary: float(candidate.metrics[candidate.primary]),
        f"baseline_{candidate.primary}": float(candidate.baseline.get(candidate.primary, float("nan"))),
        "registered_version": registration.version,
        "promoted_to_champion": registration.promoted,
        "promotion": registration.reason,
        "mlflow_run_id": registration.run_id,
    }
    if candidate.by_property is not None:
        metadata["evaluation_by_property"] = dg.MetadataValue.md(
            property_table(candidate).to_markdown(index=False))
        not_evaluated = candidate.by_property.loc[~candidate.by_property["evaluated"].astype(bool), "hotel"]
        metadata["properties_not_evaluated"] = ", ".join(map(str, not_evaluated)) or "none"
    if "as_of" in candidate.params:
        metadata["as_of"] = str(candidate.params["as_of"])
    if "training_seconds" in candidate.params:
        metadata["training_seconds"] = float(candidate.params["training_seconds"])
    for name, figure in candidate.figures.items():
        metadata[f"plot_{name}"] = dg.MetadataValue.md(plot_markdown(figure))
    return metadata
