"""MLflow tracking and registry: every training run logged (with the marts tables it learned
from, the code's commit and the Dagster run that trained it), a registered model per use
case, and the `champion` alias moved only when a challenger beats the champion on the
same held-out data."""

from __future__ import annotations

import functools
import hashlib
import json
import re
import subprocess
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from urllib.parse import urlencode
from typing import TYPE_CHECKING, Any, Callable

import duckdb
import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.data.dataset import Dataset
from mlflow.data.dataset_source_registry import resolve_dataset_source
from mlflow.data.meta_dataset import MetaDataset
from mlflow.models import infer_signature
from mlflow.utils.mlflow_tags import (MLFLOW_GIT_COMMIT, MLFLOW_GIT_DIRTY, MLFLOW_RUN_NOTE,
                                      MLFLOW_SOURCE_NAME)

from base.databases import ensure_database

if TYPE_CHECKING:
    from ml.catalog import ModelSpec
    from ml.timeline import Timeline


CHAMPION = "champion"
# run tags: the metric that decides a promotion and its direction
PRIMARY_TAG, HIGHER_TAG = "innsight.primary_metric", "innsight.higher_is_better"
GROUP = "(group)"  # the by_property row of the whole group
EXPERIMENT = "innsight"
EXPERIMENT_NOTE = (
    "Innsight's models: one run per model and training (as of a day, evaluated on each "
    "property's last months next to a baseline), with the marts tables it learned from, the "
    "Dagster run that trained it and the code's commit. Each model is registered under its "
    "name; the alias `champion` moves only when a run beats the champion on the same held-out "
    "data.")
# The experiment's kind: classic model training, not a GenAI app (MLflow's "Model training"
# workflow). MLflow 3.17's UI no longer opens an experiment by this tag but by a browser-wide
# GenAI / Model training toggle that starts on GenAI; a link opens the runs with UI_WORKFLOW.
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}
UI_WORKFLOW = "workflowType=machine_learning"
# The repository that holds this code (its commit is recorded with every run).
CODE_ROOT = Path(__file__).resolve().parents[1]
# Numbers measured while training (how long it took, how much data it saw) are metrics, not
# settings: the trainers carry them in Candidate.params, the run logs them under Metrics.
# Besides these, any number named *_seconds or *_rows.
MEASURED = {"on_the_books", "train_guests", "train_stays", "train_bookings", "hotels",
            "evaluated_hotels"}
# What a logged model needs to be loaded elsewhere, pinned to this environment's versions.
# Stating it spares MLflow inferring it in a subprocess (~25 s of each ~29 s log).
MODEL_PACKAGES = ("mlflow", "xgboost-cpu", "numba", "pandas", "numpy", "scikit-learn", "scipy", "prophet",
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
    # What it learned from, as MLflow datasets (``train_and_register`` fills it in).
    training_data: list[Dataset] = field(default_factory=list)


def is_measured(key: str, value: Any) -> bool:
    """A param that is a measurement of the run (a duration, a row count), not a setting."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and (key in MEASURED or key.endswith(("_seconds", "_rows"))))


class MartsTable(MetaDataset):
    """A marts table a model learned from, logged by reference: where it is, its columns, its
    row count and a digest of its content (the same digest means the same rows)."""

    def __init__(self, source, name: str, digest: str, schema, rows: int):
        self._rows = rows
        super().__init__(source, name=name, digest=digest, schema=schema)

    @property
    def profile(self) -> dict:
        return {"num_rows": self._rows}

    def to_dict(self) -> dict[str, str]:
        return {**super().to_dict(), "profile": json.dumps(self.profile)}


class RecordingConnection:
    """The marts connection as a trainer sees it, noting the SQL it runs, so the run records
    the tables the model actually read (no list to keep in step with the trainers)."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._con, self.statements = con, []

    def execute(self, query, *args, **kwargs):
        self.statements.append(str(query))
        return self._con.execute(query, *args, **kwargs)

    def sql(self, query, *args, **kwargs):
        self.statements.append(str(query))
        return self._con.sql(query, *args, **kwargs)

    query = sql

    def __getattr__(self, name):
        return getattr(self._con, name)


def tables_read(marts: duckdb.DuckDBPyConnection, statements: list[str]) -> list[MartsTable]:
    """The tables of the marts database that ``statements`` name, as MLflow datasets."""
    path = marts.execute("select path from duckdb_databases() "
                         "where database_name = current_database()").fetchone()[0]
    text = "\n".join(statements)
    found = []
    for schema, table in marts.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database() order by all").fetchall():
        # `fct_bookings` (not `x.fct_bookings`) in the main schema, `staging.stg_x` elsewhere
        pattern = (rf"(?<![\w.]){re.escape(table)}\b" if schema == "main"
                   else rf"\b{re.escape(schema)}\.{re.escape(table)}\b")
        if not re.search(pattern, text, re.IGNORECASE):
            continue
        name = table if schema == "main" else f"{schema}.{table}"
        quoted = f'"{schema}"."{table}"'
        # an order-free hash of every row (the alias is the row; a column may be named `t`):
        # cheap, about 0.5 s for 10 million rows
        rows, content = marts.execute(
            f"select count(*), sum(hash(_row)::hugeint) from {quoted} as _row").fetchone()
        empty = marts.execute(f"select * from {quoted} limit 0").df()
        digest = hashlib.sha256(f"{name}:{list(empty.dtypes.items())}:{rows}:{content}".encode())
        with warnings.catch_warnings():  # MLflow's hints on integer columns and on file URIs
            warnings.simplefilter("ignore")
            columns = infer_signature(empty).inputs
            source = resolve_dataset_source(Path(path).resolve().as_uri() if path else "memory")
        found.append(MartsTable(source, name, digest.hexdigest()[:10], columns, int(rows)))
    return found


@functools.cache
def source_tags() -> dict[str, str]:
    """MLflow's standard tags of the code's git commit (and whether the checkout had local
    changes); none outside a git checkout. Once per process: the code it runs is loaded."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(CODE_ROOT), *args], capture_output=True,
                              text=True, check=True, timeout=30).stdout.strip()
    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {}
    return {MLFLOW_GIT_COMMIT: commit, MLFLOW_GIT_DIRTY: str(dirty).lower()}


def plot_path(name: str) -> str:
    """Where a candidate's figure is logged in its run's artifacts."""
    return f"plots/{name}.png"


def describe(c: "Candidate", promoted: bool, reason: str) -> str:
    """What a run was, in one line: its as-of day and what the champion gate did, and why."""
    what = f"Trained as of {c.params['as_of']}" if c.params.get("as_of") else "Trained"
    if c.params.get("evaluation_months"):
        what += f", each property held out on its last {c.params['evaluation_months']} months"
    return f"{what}. {'Promoted to champion' if promoted else 'Not promoted'}: {reason}."


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

    def __init__(self, tracking_uri: str, artifacts: Path, ui: str | None = None):
        # ui: where the MLflow UI answers (`innsight serve` starts it), for links to runs
        self.tracking_uri, self.artifacts, self.ui = tracking_uri, Path(artifacts), ui

    @classmethod
    def from_settings(cls, settings) -> "ModelRegistry":
        return cls(settings.mlflow_uri, Path(settings.mlflow_artifacts), settings.mlflow_url)

    def client(self) -> MlflowClient:
        """Point MLflow at this backend; create the experiment with its artifact root."""
        uri = self.tracking_uri
        if uri.startswith("sqlite:///"):
            Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        elif uri.startswith("postgresql"):  # the production profile's own database
            ensure_database(uri)
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        client = MlflowClient(uri, registry_uri=uri)
        experiment = mlflow.get_experiment_by_name(EXPERIMENT)
        if experiment is None:
            self.artifacts.mkdir(parents=True, exist_ok=True)
            mlflow.create_experiment(EXPERIMENT, artifact_location=self.artifacts.as_uri(),
                                     tags={**EXPERIMENT_KIND, MLFLOW_RUN_NOTE: EXPERIMENT_NOTE})
        else:  # one created before these tags: add what it lacks, keep what someone edited
            for key, value in {**EXPERIMENT_KIND, MLFLOW_RUN_NOTE: EXPERIMENT_NOTE}.items():
                if key not in experiment.tags:
                    client.set_experiment_tag(experiment.experiment_id, key, value)
        mlflow.set_experiment(EXPERIMENT)
        return client

    def ui_url(self, run_id: str | None = None) -> str | None:
        """The MLflow UI's page of the training runs, or of one run, in its model-training
        workflow; None when the registry was given no UI."""
        if not self.ui:
            return None
        experiment = self.client().get_experiment_by_name(EXPERIMENT).experiment_id
        page = f"runs/{run_id}" if run_id else "runs"
        return f"{self.ui.rstrip('/')}/#/experiments/{experiment}/{page}?{UI_WORKFLOW}"

    def plot_url(self, run_id: str, name: str) -> str | None:
        """A logged figure as the MLflow UI serves it (an image other pages can show)."""
        if not self.ui:
            return None
        return f"{self.ui.rstrip('/')}/get-artifact?{urlencode({'path': plot_path(name), 'run_uuid': run_id})}"

    def train_and_register(self, spec: "ModelSpec", marts: duckdb.DuckDBPyConnection,
                           timeline: "Timeline", tags: dict[str, str] | None = None
                           ) -> list[tuple[Candidate, Registration]]:
        """Train a catalogue model on the marts as of the timeline's day, log every
        candidate it yields with the tables it read, and promote each one that beats its
        champion: what the Dagster assets and `innsight evaluate` both run. ``tags``: run tags
        from the caller (the Dagster run id)."""
        recording = RecordingConnection(marts)
        trained = spec.train(recording, timeline)
        candidates = trained if isinstance(trained, list) else [trained]
        data = tables_read(marts, recording.statements)
        # the trainer's function, resolvable with the commit: "ml.cancellation.train"
        entry = f"{getattr(spec.train, '__module__', '')}.{getattr(spec.train, '__name__', spec.name)}"
        for c in candidates:
            c.training_data = c.training_data or data
        return [(c, self.log_and_promote(c, description=spec.description,
                                         tags={MLFLOW_SOURCE_NAME: entry, **(tags or {})}))
                for c in candidates]

    def log_and_promote(self, candidate: Candidate, description: str | None = None,
                        tags: dict[str, str] | None = None) -> Registration:
        """Log the run (params, measurements and metrics, baseline, training data, plots,
        model; the code's commit and ``tags``), register a version, and make it champion if
        there is none or it beats the current champion on the same held-out data (the champion
        re-scored now, not its stored metric). ``description``: the registered model's."""
        client = self.client()
        c = candidate
        # the metric that decides promotion, for whoever reads the champion later (reports)
        decides = {PRIMARY_TAG: c.primary, HIGHER_TAG: str(c.higher_is_better).lower()}
        with mlflow.start_run(run_name=f"{c.name}-training",
                              tags={**source_tags(), **decides, **(tags or {})}) as run:
            mlflow.log_params({k: v for k, v in c.params.items() if not is_measured(k, v)})
            # a measurement the metrics already hold is not logged twice
            mlflow.log_metrics({k: float(v) for k, v in c.params.items()
                                if is_measured(k, v) and k not in c.metrics})
            mlflow.log_metrics(c.metrics)
            if c.training_data:
                as_of = {"as_of": str(c.params["as_of"])} if c.params.get("as_of") else {}
                mlflow.log_inputs(c.training_data, contexts=["training"] * len(c.training_data),
                                  tags_list=[as_of] * len(c.training_data))
            mlflow.log_metrics({f"baseline_{k}": v for k, v in c.baseline.items()})
            for name, figure in c.figures.items():
                mlflow.log_figure(figure, plot_path(name))
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
        # what the registry and the runs list show of this run, in words
        note = describe(c, promoted, reason)
        client.update_model_version(c.name, version, description=note)
        client.set_tag(run.info.run_id, MLFLOW_RUN_NOTE, note)
        if description:
            client.update_registered_model(c.name, description=description)
        return Registration(c.name, version, run.info.run_id, promoted, challenger,
                            champion_score, reason)

    def log_training(self, name: str, params: dict[str, Any], metrics: dict[str, float],
                     artifacts: dict[str, Path] | None = None, tags: dict[str, str] | None = None,
                     note: str | None = None) -> str:
        """Log a training run that is not a catalogue model (e.g. the room-inspection probe,
        whose own gate decides what is served): params, measurements, metrics, files; the
        code's commit and ``tags``. Returns the run id."""
        self.client()
        with mlflow.start_run(run_name=f"{name}-training", tags={
                **source_tags(), **(tags or {}), **({MLFLOW_RUN_NOTE: note} if note else {})}) as run:
            mlflow.log_params({k: v for k, v in params.items() if not is_measured(k, v)})
            mlflow.log_metrics({k: float(v) for k, v in params.items() if is_measured(k, v)})
            mlflow.log_metrics(metrics)
            for folder, path in (artifacts or {}).items():
                mlflow.log_artifact(str(path), folder)
        return run.info.run_id

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

    def champion_card(self, name: str) -> dict[str, Any] | None:
        """The champion of ``name`` as a report shows it: version, the metric that decides
        promotion with its held-out value and baseline, when and as of which day it was
        trained; None when there is no champion."""
        version = self.champion_version(name)
        if version is None:
            return None
        client = self.client()
        run = client.get_run(client.get_model_version(name, version).run_id)
        metric = run.data.tags.get(PRIMARY_TAG)
        metrics = run.data.metrics
        return {"model": name, "version": version, "metric": metric,
                "value": metrics.get(metric), "baseline": metrics.get(f"baseline_{metric}"),
                "higher_is_better": run.data.tags.get(HIGHER_TAG, "true") == "true",
                "trained_at": datetime.fromtimestamp(run.info.start_time / 1000,
                                                     timezone.utc).isoformat(timespec="seconds"),
                "as_of": run.data.params.get("as_of")}

    def champions(self) -> list[str]:
        """The registered models that have a champion."""
        return sorted(m.name for m in self.client().search_registered_models()
                      if CHAMPION in (m.aliases or {}))

    def load_champion(self, name: str):
        """The champion as an MLflow pyfunc model."""
        self.client()
        return mlflow.pyfunc.load_model(f"models:/{name}@{CHAMPION}")

    def load_version(self, name: str, version: str):
        """One registered version's Python model object (what the API serves)."""
        self.client()
        return mlflow.pyfunc.load_model(f"models:/{name}/{version}").unwrap_python_model()
