"""MLflow tracking and registry: every training run logged, a registered model per use
case, and the `champion` alias moved only when a challenger beats the champion on the
same held-out data."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.models import infer_signature

from innsight.settings import get_settings

CHAMPION = "champion"
EXPERIMENT = "innsight"


def configure() -> MlflowClient:
    """Point MLflow at the configured backend; create the experiment with its artifact root."""
    s = get_settings()
    uri = s.mlflow_uri
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if mlflow.get_experiment_by_name(EXPERIMENT) is None:
        Path(s.mlflow_artifacts).mkdir(parents=True, exist_ok=True)
        mlflow.create_experiment(EXPERIMENT, artifact_location=Path(s.mlflow_artifacts).as_uri())
    mlflow.set_experiment(EXPERIMENT)
    return MlflowClient(uri, registry_uri=uri)


@dataclass
class Candidate:
    """A trained model and its evaluation on held-out data, ready to log and compare."""

    name: str  # registered model name, e.g. "churn"
    model: mlflow.pyfunc.PythonModel
    input_example: pd.DataFrame
    primary: str  # the metric that decides promotion
    higher_is_better: bool
    metrics: dict[str, float]  # the candidate on the held-out data
    baseline: dict[str, float]  # the baseline on the same held-out data
    score: Callable[[Any], float]  # `primary` of any loaded pyfunc model on that data
    params: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)  # name -> matplotlib Figure
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass
class Registration:
    name: str
    version: str
    run_id: str
    promoted: bool
    challenger_score: float
    champion_score: float | None
    reason: str


def log_and_promote(candidate: Candidate) -> Registration:
    """Log the run (params, metrics, baseline, plots, model), register a version, and make it
    champion if there is none or it beats the current champion on the same held-out data."""
    client = configure()
    c = candidate
    with mlflow.start_run(run_name=f"{c.name}-training") as run:
        mlflow.log_params(c.params)
        mlflow.log_metrics(c.metrics)
        mlflow.log_metrics({f"baseline_{k}": v for k, v in c.baseline.items()})
        for name, figure in c.figures.items():
            mlflow.log_figure(figure, f"plots/{name}.png")
        for name, table in c.tables.items():
            mlflow.log_table(table, f"tables/{name}.json")
        output = c.model.predict(c.input_example)
        info = mlflow.pyfunc.log_model(
            name="model", python_model=c.model, registered_model_name=c.name,
            signature=infer_signature(c.input_example, output), input_example=c.input_example)
    version = str(info.registered_model_version)
    challenger = float(c.metrics[c.primary])
    champion = champion_version(c.name)
    champion_score = None
    if champion is None:
        promoted, reason = True, "no champion yet"
    else:
        champion_score = float(c.score(mlflow.pyfunc.load_model(f"models:/{c.name}@{CHAMPION}")))
        better = challenger > champion_score if c.higher_is_better else challenger < champion_score
        promoted = better
        reason = (f"challenger {c.primary} {challenger:.4f} vs champion v{champion} "
                  f"{champion_score:.4f} on the same held-out data")
    if promoted:
        client.set_registered_model_alias(c.name, CHAMPION, version)
    client.set_model_version_tag(c.name, version, "promotion", reason)
    return Registration(c.name, version, run.info.run_id, promoted, challenger, champion_score, reason)


def champion_version(name: str) -> str | None:
    client = configure()
    try:
        return str(client.get_model_version_by_alias(name, CHAMPION).version)
    except mlflow.exceptions.MlflowException:
        return None


def load_champion(name: str):
    configure()
    return mlflow.pyfunc.load_model(f"models:/{name}@{CHAMPION}")
