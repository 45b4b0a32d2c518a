"""The registry gate: `champion` moves only when a challenger beats it on the same data.

"The same data" is the challenger's held-out data: the champion is re-scored on it at the
gate, whatever metric it was stored with when it was trained on older data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from ml.registry import Candidate, ModelRegistry

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
