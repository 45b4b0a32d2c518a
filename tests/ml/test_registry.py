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


def test_first_model_becomes_champion_and_only_a_better_one_replaces_it(registry):
    first = registry.log_and_promote(candidate(2.0))
    assert first.promoted and registry.champion_version("toy") == first.version
    assert first.champion_score is None and first.reason == "no champion yet"

    worse = registry.log_and_promote(candidate(1.0))
    assert not worse.promoted and registry.champion_version("toy") == first.version
    assert worse.champion_score == first.challenger_score
    assert worse.challenger_score > worse.champion_score  # MAE: lower is better

    better = registry.log_and_promote(candidate(2.9))
    assert better.promoted and registry.champion_version("toy") == better.version
    assert registry.load_champion("toy").predict(X)[-1] == 2.9
    assert registry.load_version("toy", first.version).factor == 2.0  # old versions stay

    run = mlflow.get_run(better.run_id)
    assert run.data.params["factor"] == "2.9" and "baseline_mae" in run.data.metrics
    tags = registry.client().get_model_version("toy", worse.version).tags
    assert "challenger mae" in tags["promotion"] and f"champion v{first.version}" in tags["promotion"]


def test_a_tie_keeps_the_champion(registry):
    champion = registry.log_and_promote(candidate(2.5))
    tie = registry.log_and_promote(candidate(2.5))  # another version, exactly as good
    assert tie.version != champion.version
    assert tie.challenger_score == tie.champion_score == champion.challenger_score
    assert not tie.promoted and registry.champion_version("toy") == champion.version


def test_higher_is_better_metric_promotes_the_higher_score(registry):
    first = registry.log_and_promote(candidate(1.5, name="toy_r2", metric="r2"))
    assert first.promoted

    lower = registry.log_and_promote(candidate(1.0, name="toy_r2", metric="r2"))
    assert lower.challenger_score < lower.champion_score
    assert not lower.promoted and registry.champion_version("toy_r2") == first.version

    same = registry.log_and_promote(candidate(1.5, name="toy_r2", metric="r2"))
    assert same.challenger_score == same.champion_score and not same.promoted

    higher = registry.log_and_promote(candidate(2.8, name="toy_r2", metric="r2"))
    assert higher.challenger_score > higher.champion_score
    assert higher.promoted and registry.champion_version("toy_r2") == higher.version
    assert registry.load_champion("toy_r2").predict(X)[-1] == pytest.approx(2.8)


def test_the_gate_rescores_the_champion_on_the_new_held_out_data_not_its_stored_metric(registry):
    """The world moved from y = 3x to y = 2x: the stored metrics of the champions (measured
    on the old data) say the opposite of their scores on the new held-out data."""
    later = HeldOut(X, 2 * X["x"].to_numpy())

    # A champion that was mediocre then (x * 2 on y = 3x) and is perfect now.
    old = registry.log_and_promote(candidate(2.0, name="drift_a"))
    challenger = candidate(2.5, name="drift_a", data=later)
    stored = stored_metric(registry, "drift_a", old.version, "mae")
    assert challenger.metrics["mae"] < stored  # by the stored metric the challenger would win
    kept = registry.log_and_promote(challenger)
    assert kept.champion_score == pytest.approx(later.mae(Scaled(2.0))) == 0.0
    assert kept.champion_score != pytest.approx(stored)
    assert not kept.promoted and registry.champion_version("drift_a") == old.version

    # A champion that was perfect then (x * 3 on y = 3x) and is off now.
    perfect = registry.log_and_promote(candidate(3.0, name="drift_b"))
    assert stored_metric(registry, "drift_b", perfect.version, "mae") == 0.0
    challenger = candidate(2.2, name="drift_b", data=later)
    assert challenger.metrics["mae"] > 0.0  # by the stored metric the champion would stay
    moved = registry.log_and_promote(challenger)
    assert moved.champion_score == pytest.approx(later.mae(Scaled(3.0)))
    assert moved.challenger_score < moved.champion_score
    assert moved.promoted and registry.champion_version("drift_b") == moved.version
    assert registry.load_champion("drift_b").predict(X)[-1] == pytest.approx(2.2)


def test_registries_are_separate_by_tracking_uri(tmp_path):
    a = ModelRegistry(f"sqlite:///{tmp_path}/a/mlflow.db", tmp_path / "a" / "artifacts")
    b = ModelRegistry(f"sqlite:///{tmp_path}/b/mlflow.db", tmp_path / "b" / "artifacts")
    registration = a.log_and_promote(candidate(2.0))
    assert a.champion_version("toy") == registration.version
    assert b.champion_version("toy") is None
    assert any((tmp_path / "a" / "artifacts").rglob("MLmodel"))
    assert not (tmp_path / "b" / "artifacts").exists() or not any(
        (tmp_path / "b" / "artifacts").rglob("MLmodel"))
