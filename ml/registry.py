"""MLflow tracking and registry: every training run logged, a registered model per use
case, and the `champion` alias moved only when a challenger beats the champion on the
same held-out data."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import duckdb
import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.models import infer_signature

if TYPE_CHECKING:
    from ml.catalog import ModelSpec
    from ml.timeline import Timeline


CHAMPION = "champion"
GROUP = "(group)"  # the by_property row of the whole group
EXPERIMENT = "innsight"
# What a logged model needs to be loaded elsewhere, pinned to this environment's versions.
# Stating it spares MLflow inferring it in a subprocess (~25 s of each ~29 s log).
MODEL_PACKAGES = ("mlflow", "xgboost-cpu", "pandas", "numpy", "scikit-learn", "scipy", "prophet",
                  "polars", "pyarrow", "duckdb")


def model_requirements() -> list[str]:
    pins = []
    for name in MODEL_PACKAGES:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return pins


@dataclass
class Candidate:
    """A trained model and its evaluation on held-out data, ready to log and compare."""

    name: str  # registered model name, e.g. "cancellation"
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
    # The evaluation per property and for the group: one row per hotel plus GROUP, columns
    # hotel, evaluated, reason, rows, then the metrics and their baseline_ twins.
    by_property: pd.DataFrame | None = None


def property_metrics(by_property: pd.DataFrame) -> dict[str, float]:
    """The per-property figures as MLflow metrics, ``<hotel>/<metric>`` (the group's are the
    run's own metrics)."""
    skip = {"hotel", "evaluated", "reason", "rows", "first_day", "last_day", "test_start"}
    out = {}
    for row in by_property.to_dict("records"):
        if row["hotel"] == GROUP or not row.get("evaluated"):
            continue
        for key, value in row.items():
            if key not in skip and isinstance(value, (int, float)) and pd.notna(value):
                out[f"{row['hotel']}/{key}"] = float(value)
    return out


@dataclass
class Registration:
    name: str
    version: str
    run_id: str
    promoted: bool
    challenger_score: float
    champion_score: float | None
    reason: str


class ModelRegistry:
    """MLflow at one tracking URI: where every model is trained into, registered and served
    from. Built by an entry point (``ModelRegistry.from_settings``) and handed down."""

    def __init__(self, tracking_uri: str, artifacts: Path):
        self.tracking_uri, self.artifacts = tracking_uri, Path(artifacts)

    @classmethod
    def from_settings(cls, settings) -> "ModelRegistry":
        return cls(settings.mlflow_uri, Path(settings.mlflow_artifacts))

    def client(self) -> MlflowClient:
        """Point MLflow at this backend; create the experiment with its artifact root."""
        uri = self.tracking_uri
        if uri.startswith("sqlite:///"):
            Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        if mlflow.get_experiment_by_name(EXPERIMENT) is None:
            self.artifacts.mkdir(parents=True, exist_ok=True)
            mlflow.create_experiment(EXPERIMENT, artifact_location=self.artifacts.as_uri())
        mlflow.set_experiment(EXPERIMENT)
        return MlflowClient(uri, registry_uri=uri)

    def train_and_register(self, spec: "ModelSpec", marts: duckdb.DuckDBPyConnection,
                           timeline: "Timeline") -> list[tuple[Candidate, Registration]]:
        """Train a catalogue model on the marts as of the timeline's day, log every
        candidate it yields, and promote each one that beats its champion: what the Dagster
        assets and `innsight evaluate` both run."""
        trained = spec.train(marts, timeline)
        return [(c, self.log_and_promote(c)) for c in (trained if isinstance(trained, list) else [trained])]

    def log_and_promote(self, candidate: Candidate) -> Registration:
        """Log the run (params, metrics, baseline, plots, model), register a version, and
        make it champion if there is none or it beats the current champion on the same
        held-out data (the champion re-scored now, not its stored metric)."""
        client = self.client()
        c = candidate
        with mlflow.start_run(run_name=f"{c.name}-training") as run:
            mlflow.log_params(c.params)
            mlflow.log_metrics(c.metrics)
            mlflow.log_metrics({f"baseline_{k}": v for k, v in c.baseline.items()})
            for name, figure in c.figures.items():
                mlflow.log_figure(figure, f"plots/{name}.png")
            for name, table in c.tables.items():
                mlflow.log_table(table, f"tables/{name}.json")
            if c.by_property is not None:
                mlflow.log_table(c.by_property, "tables/evaluation_by_property.json")
                mlflow.log_metrics(property_metrics(c.by_property))
            output = c.model.predict(c.input_example)
            info = mlflow.pyfunc.log_model(
                name="model", python_model=c.model, registered_model_name=c.name,
                signature=infer_signature(c.input_example, output), input_example=c.input_example,
                pip_requirements=model_requirements())
        version = str(info.registered_model_version)
        challenger = float(c.metrics[c.primary])
        champion = self.champion_version(c.name)
        champion_score = None
        champion_as_of = self._as_of(c.name, champion)
        if champion is None:
            promoted, reason = True, "no champion yet"
        elif c.params.get("as_of") and champion_as_of and str(c.params["as_of"]) < champion_as_of:
            # a backfill: what the platform would have trained then, never what it serves now
            promoted, reason = False, (f"trained as of {c.params['as_of']}, before the champion "
                                       f"v{champion}'s as-of day {champion_as_of}: kept for the record")
        elif challenger != challenger:  # NaN: no property could be held out
            promoted, reason = False, f"not evaluated ({c.primary} is undefined): champion v{champion} kept"
        else:
            try:
                champion_score = float(c.score(self.load_champion(c.name)))
            except (ValueError, KeyError) as e:  # e.g. a property the champion has never seen
                champion_score = None
                promoted, reason = True, (f"champion v{champion} cannot answer the held-out data "
                                          f"({str(e)[:300]}); the challenger can")
            else:
                # A tie keeps the champion: a new version must be better, not as good.
                promoted = (challenger > champion_score if c.higher_is_better
                            else challenger < champion_score)
                reason = (f"challenger {c.primary} {challenger:.4f} vs champion v{champion} "
                          f"{champion_score:.4f} on the same held-out data")
        if promoted:
            client.set_registered_model_alias(c.name, CHAMPION, version)
        client.set_model_version_tag(c.name, version, "promotion", reason)
        return Registration(c.name, version, run.info.run_id, promoted, challenger,
                            champion_score, reason)

    def _as_of(self, name: str, version: str | None) -> str | None:
        """The as-of day a registered version was trained on (None for older runs)."""
        if version is None:
            return None
        client = self.client()
        run_id = client.get_model_version(name, version).run_id
        return client.get_run(run_id).data.params.get("as_of")

    def champion_version(self, name: str) -> str | None:
        try:
            return str(self.client().get_model_version_by_alias(name, CHAMPION).version)
        except mlflow.exceptions.MlflowException:
            return None

    def load_champion(self, name: str):
        """The champion as an MLflow pyfunc model."""
        self.client()
        return mlflow.pyfunc.load_model(f"models:/{name}@{CHAMPION}")

    def load_version(self, name: str, version: str):
        """One registered version's Python model object (what the API serves)."""
        self.client()
        return mlflow.pyfunc.load_model(f"models:/{name}/{version}").unwrap_python_model()
