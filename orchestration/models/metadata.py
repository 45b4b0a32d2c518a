"""How a model's evaluation reads in Dagster metadata: metrics next to their baseline (counts
as integers, nothing where a figure does not exist), one line on what the champion gate
did and why, the evaluation per property, plots, a link to the MLflow run.

Plots: the Dagster UI renders a markdown entry inline only under 1,000 characters
(MetadataEntry.tsx); a data-URI PNG is far longer, so it shows behind "[Show Markdown]".
Dagster has no image metadata type, so the plots stay one click away, the deciding figures
are numbers (plotted across materialisations) and the run link opens them in MLflow."""

import base64
import io
import math

import dagster as dg
import pandas as pd

from ml.registry import Candidate, Registration


def shown(value) -> str:
    """A figure as a person reads it: 60438, 0.8875, or "-" when there is none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if float(value).is_integer() and abs(value) >= 1:
        return str(int(value))
    return f"{value:.4f}"


def comparison_table(candidate: Candidate) -> pd.DataFrame:
    names = list(dict.fromkeys([*candidate.metrics, *candidate.baseline]))
    return pd.DataFrame({
        "metric": names,
        "model": [shown(candidate.metrics.get(n)) for n in names],
        "baseline": [shown(candidate.baseline.get(n)) for n in names],
    })


PROMOTED = "is the champion now"


def promotion(registration: Registration) -> str:
    """What the champion gate did with this run, and why, in one line."""
    if registration.promoted:
        return f"v{registration.version} {PROMOTED}: {registration.reason}"
    return f"v{registration.version} registered, the champion stays: {registration.reason}"


def property_table(candidate: Candidate) -> pd.DataFrame:
    """Per property and for the group: evaluated or why not, held-out rows, the deciding
    metric next to its baseline (and the calibration error where the model reports one)."""
    t = candidate.by_property
    metric = candidate.primary
    columns = ["hotel", "evaluated", "rows", *(c for c in ("test_start",) if c in t),
               *(c for c in (metric, f"baseline_{metric}", "ece", "baseline_ece") if c in t), "reason"]
    return t[columns].map(shown)


def plot_markdown(figure) -> str:
    """A matplotlib figure as a data-URI PNG in markdown: the UI shows it a click away
    ("[Show Markdown]"), offline, with no server to fetch it from."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=70, bbox_inches="tight")
    return f"![plot](data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()})"


def as_table(frame: pd.DataFrame) -> dg.TableMetadataValue:
    """A small frame of shown values as a Dagster table, which the UI draws inline."""
    return dg.MetadataValue.table(
        records=[dg.TableRecord(row) for row in frame.to_dict("records")],
        schema=dg.TableSchema(columns=[dg.TableColumn(str(c), "string") for c in frame.columns]))


def model_metadata(candidate: Candidate, registration: Registration,
                   mlflow_run_url: str | None = None, plot_urls: dict[str, str] | None = None) -> dict:
    """``mlflow_run_url``: the run's page in the MLflow UI (``ModelRegistry.ui_url``), linked;
    ``plot_urls``: each figure as the MLflow UI serves it (``ModelRegistry.plot_url``), shown
    inline (a data-URI image is too long for the UI to show but a click away)."""
    metadata = {
        "evaluation": dg.MetadataValue.md(
            comparison_table(candidate).to_markdown(index=False, disable_numparse=True)),
        "promotion": promotion(registration),
        "registered_version": registration.version,
        "mlflow_run_id": registration.run_id,
    }
    if mlflow_run_url:
        metadata["mlflow_run"] = dg.MetadataValue.url(mlflow_run_url)
    for name, value in ((candidate.primary, candidate.metrics.get(candidate.primary)),
                        (f"baseline_{candidate.primary}", candidate.baseline.get(candidate.primary))):
        if value is not None and not math.isnan(value):  # numbers, so Dagster plots them over runs
            metadata[name] = float(value)
    if candidate.by_property is not None:
        metadata["evaluation_by_property"] = as_table(property_table(candidate))
        not_evaluated = candidate.by_property.loc[~candidate.by_property["evaluated"].astype(bool), "hotel"]
        metadata["properties_not_evaluated"] = ", ".join(map(str, not_evaluated)) or "none"
    if "as_of" in candidate.params:
        metadata["as_of"] = str(candidate.params["as_of"])
    if "training_seconds" in candidate.params:
        metadata["training_seconds"] = float(candidate.params["training_seconds"])
    for name, figure in candidate.figures.items():
        url = (plot_urls or {}).get(name)
        metadata[f"plot_{name}"] = dg.MetadataValue.md(
            f"![{name}]({url})" if url else plot_markdown(figure))
    return metadata
