"""The registry gate: `champion` moves only when a challenger beats it on the same data.

"The same data" is the challenger's held-out data: the champion is re-scored on it at the
gate, whatever metric it was stored with when it was trained on older data.

And what a run records besides its evaluation: the marts tables it learned from (MLflow
datasets), the code's commit, the Dagster run that trained it, measurements as metrics, the
model's description; the experiment says it holds model training, not GenAI traces.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import mlflow
import numpy as np
import pandas as pd
import pytest

from ml.catalog import ModelSpec
from ml.registry import GROUP, Candidate, ModelRegistry, tables_read
from ml.timeline import Timeline

X = pd.DataFrame({"x": np.linspace(0, 1, 50)})
Y = 3 * X["x"].to_numpy()


class Scaled(mlflow.pyfunc.PythonModel):
    def __init__(self, factor: float):
        self.factor = factor

    def predict(self, model_input, params=None):
        return model_input["x"].to_numpy() * self.factor


@dataclass(frozen=True)
class HeldOut:
    """Held-out data of one training run: inputs and the truth."""

    x: pd.DataFrame
    y: np.ndarray

    def mae(self, model) -> float:
        return float(np.abs(model.predict(self.x) - self.y).mean())

    def r2(self, model) -> float:
        residual = ((model.predict(self.x) - self.y) ** 2).sum()
        return float(1 - residual / ((self.y - self.y.mean()) ** 2).sum())


TODAY = HeldOut(X, Y)


def mae(model) -> float:
    return TODAY.mae(model)


def candidate(factor: float, name: str = "toy", data: HeldOut = TODAY,
              metric: str = "mae") -> Candidate:
    """A model ``x * factor`` evaluated on ``data``: lower-is-better MAE, or higher-is-better R²."""
    model = Scaled(factor)
    score = data.mae if metric == "mae" else data.r2
    baseline = Scaled(0.0)
    return Candidate(name=name, model=model, input_example=data.x.head(3), primary=metric,
                     higher_is_better=metric == "r2", metrics={metric: score(model)},
                     baseline={metric: score(baseline)}, score=score, params={"factor": factor})


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db",
                         artifacts=tmp_path / "artifacts")


def stored_metric(registry: ModelRegistry, name: str, version: str, metric: str) -> float:
    """The metric a version was logged with when it was trained."""
    client = registry.client()
    run_id = client.get_model_version(name, version).run_id
    return client.get_run(run_id).data.metrics[metric]


def test_lower_is_better_only_a_strictly_better_challenger_replaces_the_champion(registry, tmp_path):
    first = registry.log_and_promote(candidate(2.0))
    assert first.promoted and registry.champion_version("toy") == first.version
    assert first.champion_score is None and first.reason == "no champion yet"
    # another tracking URI is another registry: it has no champion
    assert ModelRegistry(f"sqlite:///{tmp_path}/other.db", tmp_path / "other").champion_version("toy") is None

    worse = registry.log_and_promote(candidate(1.0))
    assert worse.challenger_score > worse.champion_score == first.challenger_score  # MAE
    assert not worse.promoted and registry.champion_version("toy") == first.version

    tie = registry.log_and_promote(candidate(2.0))  # another version, exactly as good
    assert tie.version not in (first.version, worse.version)
    assert tie.challenger_score == tie.champion_score == first.challenger_score
    assert not tie.promoted and registry.champion_version("toy") == first.version

    better = registry.log_and_promote(candidate(2.9))
    assert better.challenger_score < better.champion_score
    assert better.promoted and registry.champion_version("toy") == better.version
    assert registry.load_champion("toy").predict(X)[-1] == 2.9
    assert registry.load_version("toy", first.version).factor == 2.0  # old versions stay

    run = mlflow.get_run(better.run_id)
    assert run.data.params["factor"] == "2.9" and "baseline_mae" in run.data.metrics
    tags = registry.client().get_model_version("toy", tie.version).tags
    assert "challenger mae" in tags["promotion"] and f"champion v{first.version}" in tags["promotion"]


def test_higher_is_better_metric_promotes_only_a_higher_score(registry):
    first = registry.log_and_promote(candidate(1.5, name="toy_r2", metric="r2"))
    assert first.promoted

    lower = registry.log_and_promote(candidate(1.0, name="toy_r2", metric="r2"))
    assert lower.challenger_score < lower.champion_score == first.challenger_score
    assert not lower.promoted and registry.champion_version("toy_r2") == first.version

    higher = registry.log_and_promote(candidate(2.8, name="toy_r2", metric="r2"))
    assert higher.challenger_score > higher.champion_score
    assert higher.promoted and registry.champion_version("toy_r2") == higher.version
    assert registry.load_champion("toy_r2").predict(X)[-1] == pytest.approx(2.8)


def test_the_gate_rescores_the_champion_on_the_new_held_out_data_not_its_stored_metric(registry):
    """The champion x * 2 was trained when y = 3x (stored MAE 0.5). Then the world moves,
    twice; each time its stored metric says the opposite of its score on the new data."""
    champion = registry.log_and_promote(candidate(2.0, name="drift"))
    stored = stored_metric(registry, "drift", champion.version, "mae")
    assert stored == pytest.approx(0.5)

    # y = 2x: the champion is now perfect. A challenger beating the stored 0.5 must not win.
    now = HeldOut(X, 2 * X["x"].to_numpy())
    challenger = candidate(2.5, name="drift", data=now)
    assert challenger.metrics["mae"] < stored
    kept = registry.log_and_promote(challenger)
    assert kept.champion_score == now.mae(Scaled(2.0)) == 0.0
    assert not kept.promoted and registry.champion_version("drift") == champion.version

    # y = 4x: the champion is now far off. A challenger worse than the stored 0.5 must win.
    now = HeldOut(X, 4 * X["x"].to_numpy())
    challenger = candidate(2.9, name="drift", data=now)
    assert challenger.metrics["mae"] > stored
    moved = registry.log_and_promote(challenger)
    assert moved.champion_score == pytest.approx(now.mae(Scaled(2.0))) == pytest.approx(1.0)
    assert moved.challenger_score < moved.champion_score
    assert moved.promoted and registry.champion_version("drift") == moved.version
    assert registry.load_champion("drift").predict(X)[-1] == pytest.approx(2.9)


def test_a_backfill_never_replaces_a_champion_trained_as_of_a_later_day(registry):
    """Like with like: a run as of an earlier day is registered for the record, however good;
    a run as of the same or a later day is compared on its held-out data."""
    def dated(factor: float, as_of: str) -> Candidate:
        c = candidate(factor, name="dated")
        c.params.update(as_of=as_of)
        return c

    champion = registry.log_and_promote(dated(2.0, "2026-11-30"))
    backfill = registry.log_and_promote(dated(3.0, "2016-12-31"))  # perfect, but as of 2016
    assert not backfill.promoted and backfill.champion_score is None
    assert "before the champion" in backfill.reason and "2026-11-30" in backfill.reason
    assert registry.champion_version("dated") == champion.version
    nightly = registry.log_and_promote(dated(3.0, "2026-12-01"))
    assert nightly.promoted and registry.champion_version("dated") == nightly.version


def test_a_champion_that_cannot_answer_the_new_held_out_data_gives_way(registry):
    """A property the champion never saw: its score raises; the challenger that covers it wins.
    A challenger that could not be evaluated at all (NaN) never does."""
    registry.log_and_promote(candidate(2.0, name="grown"))

    def unanswerable(model) -> float:
        if model.predict(X)[-1] == 2.0:
            raise ValueError("no model for hotel 'New Harbour'")
        return 0.0

    covers = candidate(2.5, name="grown")
    covers.score = unanswerable
    moved = registry.log_and_promote(covers)
    assert moved.promoted and "cannot answer" in moved.reason and "New Harbour" in moved.reason
    blind = candidate(3.0, name="grown")
    blind.metrics = {"mae": float("nan")}
    kept = registry.log_and_promote(blind)
    assert not kept.promoted and registry.champion_version("grown") == moved.version


# --- What a run records besides its evaluation: the data, the code, the Dagster run --------

AS_OF = "2026-11-30"


@pytest.fixture
def marts_file(tmp_path: Path) -> Path:
    """A marts file with two tables a toy model reads (one in a schema) and one it does not."""
    path = tmp_path / "marts.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table fct_stays as select range as id, range * 1.5 as t from range(40)")
        con.execute("create schema staging")
        con.execute("create table staging.stg_lines as select 'spa' as item, 12.0 as amount")
        con.execute("create table fct_unread as select 1 as id")
    return path


def train_toy(marts, timeline) -> Candidate:
    """A catalogue-style trainer: reads two tables, measures itself, yields a candidate."""
    [(rows,)] = marts.execute("select count(*) from fct_stays where id >= ?", [0]).fetchall()
    marts.sql("select sum(amount) from staging.stg_lines").fetchall()
    c = candidate(2.0, name="toy_lineage")
    c.params.update({**timeline.params(), "training_seconds": 1.25, "train_rows": rows,
                     "baseline": "x * 0"})
    return c


TOY = ModelSpec("toy_lineage", train_toy, "A toy model that scales x, for the registry's tests.")


def git_head() -> str | None:
    try:
        return subprocess.run(["git", "-C", str(Path(__file__).parent), "rev-parse", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def test_a_run_records_its_training_data_code_dagster_run_and_descriptions(registry, marts_file):
    with duckdb.connect(str(marts_file), read_only=True) as marts:
        [(c, reg)] = registry.train_and_register(TOY, marts, Timeline.of(AS_OF),
                                                 tags={"dagster_run_id": "a1b2c3"})
    client = registry.client()
    run = client.get_run(reg.run_id)

    # the data: the tables the trainer read (not the one it did not), by reference
    inputs = {i.dataset.name: i for i in run.inputs.dataset_inputs}
    assert set(inputs) == {"fct_stays", "staging.stg_lines"}
    stays = inputs["fct_stays"]
    assert json.loads(stays.dataset.source) == {"uri": marts_file.resolve().as_uri()}
    assert json.loads(stays.dataset.profile) == {"num_rows": 40}
    columns = json.loads(stays.dataset.schema)["mlflow_colspec"]
    assert [(col["name"], col["type"]) for col in columns] == [("id", "long"), ("t", "double")]
    assert {t.key: t.value for t in stays.tags} == {"mlflow.data.context": "training", "as_of": AS_OF}

    # the code and the Dagster run
    tags = run.data.tags
    assert tags["dagster_run_id"] == "a1b2c3"
    assert tags["mlflow.source.name"] == f"{__name__}.train_toy"
    head = git_head()
    assert tags.get("mlflow.source.git.commit") == head  # absent outside a git checkout
    assert (head is None) == ("mlflow.source.git.dirty" not in tags)

    # measurements are metrics, settings are params
    assert run.data.metrics["training_seconds"] == 1.25 and run.data.metrics["train_rows"] == 40
    assert not {"training_seconds", "train_rows"} & set(run.data.params)
    assert run.data.params["as_of"] == AS_OF and run.data.params["baseline"] == "x * 0"
    assert c.params["training_seconds"] == 1.25  # still there for the Dagster metadata

    # the registry says what the model is and what this version was
    assert client.get_registered_model("toy_lineage").description == TOY.description
    version = client.get_model_version("toy_lineage", reg.version)
    assert f"as of {AS_OF}" in version.description and "no champion yet" in version.description
    assert tags["mlflow.note.content"] == version.description  # the runs list's Description

    # the experiment is model training, with a description; links open its runs as such
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert "champion" in experiment.tags["mlflow.note.content"]
    assert registry.ui_url(reg.run_id) is None  # no UI given
    registry.ui = "http://127.0.0.1:5000/"
    assert registry.ui_url(reg.run_id) == (
        f"http://127.0.0.1:5000/#/experiments/{experiment.experiment_id}/runs/{reg.run_id}"
        "?workflowType=machine_learning")
    # a figure as the UI serves it: the artifact the run logged under plot_path
    assert registry.plot_url(reg.run_id, "roc") == (
        f"http://127.0.0.1:5000/get-artifact?path=plots%2Froc.png&run_uuid={reg.run_id}")

    # a run that is not Dagster's (innsight evaluate) has no Dagster run id; the same data
    # is the same dataset
    with duckdb.connect(str(marts_file), read_only=True) as marts:
        [(_, plain)] = registry.train_and_register(TOY, marts, Timeline.of(AS_OF))
    again = client.get_run(plain.run_id)
    assert "dagster_run_id" not in again.data.tags
    assert {i.dataset.digest for i in again.inputs.dataset_inputs} == {
        i.dataset.digest for i in run.inputs.dataset_inputs}
    assert client.get_model_version("toy_lineage", plain.version).description.startswith(
        f"Trained as of {AS_OF}, each property held out on its last 3 months. Not promoted: ")


def test_the_data_digest_follows_the_content_not_the_row_order(marts_file):
    def digest(con) -> str:
        [table] = tables_read(con, ["select * from fct_stays"])
        return table.digest

    with duckdb.connect(str(marts_file), read_only=True) as marts:
        before = digest(marts)
    shuffled = duckdb.connect()
    shuffled.execute(f"attach '{marts_file}' as src (read_only)")
    shuffled.execute("create table fct_stays as select * from src.fct_stays order by id desc")
    shuffled.execute("detach src")
    assert digest(shuffled) == before
    shuffled.execute("update fct_stays set t = t + 1 where id = 7")
    assert digest(shuffled) != before
    # a table named only as another schema's or database's is not this one
    assert tables_read(shuffled, ["select * from other.fct_stays", "select * from xfct_stays"]) == []


def test_an_existing_experiment_gains_its_kind_and_description_but_keeps_an_edited_note(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    experiment_id = mlflow.create_experiment("innsight", tags={"mlflow.note.content": "ours"})
    registry = ModelRegistry(uri, tmp_path / "artifacts")
    tags = registry.client().get_experiment(experiment_id).tags
    assert tags["mlflow.experimentKind"] == "custom_model_development"
    assert tags["mlflow.note.content"] == "ours"


def test_the_model_asset_tags_its_mlflow_run_with_its_dagster_run(registry, marts_file, tmp_path):
    from orchestration.models.assets import build_model_asset
    from orchestration.models.resources import TrainingTimeline
    from orchestration.warehouse.resources import Warehouse

    def train_evaluated(marts, timeline) -> Candidate:
        c = train_toy(marts, timeline)
        c.by_property = pd.DataFrame([{"hotel": GROUP, "evaluated": True, "reason": None,
                                       "rows": 50, "mae": c.metrics["mae"],
                                       "baseline_mae": c.baseline["mae"]}])
        return c

    spec = ModelSpec("toy_lineage", train_evaluated, TOY.description)
    warehouse = Warehouse(tmp_path / "build.duckdb", marts_file, str(tmp_path / "lake"),
                          tmp_path / "properties.yml")
    result = dg.materialize([build_model_asset(spec)], resources={
        "registry": registry, "warehouse": warehouse, "training": TrainingTimeline(as_of=AS_OF)})
    [event] = result.get_asset_materialization_events()
    run_id = event.materialization.metadata["mlflow_run_id"].value
    tags = registry.client().get_run(run_id).data.tags
    assert tags["dagster_run_id"] == result.run_id and tags["dagster_job"] == "__ephemeral_asset_job__"
