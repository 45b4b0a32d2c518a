"""The registry gate: `champion` moves only when a challenger beats it on the same data."""

import mlflow
import numpy as np
import pandas as pd

from ml.registry import Candidate, champion_version, load_champion, log_and_promote

X = pd.DataFrame({"x": np.linspace(0, 1, 50)})
Y = 3 * X["x"].to_numpy()


class Scaled(mlflow.pyfunc.PythonModel):
    def __init__(self, factor: float):
        self.factor = factor

    def predict(self, model_input, params=None):
        return model_input["x"].to_numpy() * self.factor


def mae(model) -> float:
    return float(np.abs(model.predict(X) - Y).mean())


def candidate(factor: float) -> Candidate:
    model = Scaled(factor)
    return Candidate(name="toy", model=model, input_example=X.head(3), primary="mae",
                     higher_is_better=False, metrics={"mae": mae(model)},
                     baseline={"mae": float(np.abs(Y - Y.mean()).mean())}, score=mae,
                     params={"factor": factor})


def test_first_model_becomes_champion_and_only_a_better_one_replaces_it(home):
    first = log_and_promote(candidate(2.0))
    assert first.promoted and champion_version("toy") == first.version

    worse = log_and_promote(candidate(1.0))
    assert not worse.promoted and champion_version("toy") == first.version
    assert worse.champion_score == first.challenger_score

    better = log_and_promote(candidate(2.9))
    assert better.promoted and champion_version("toy") == better.version
    assert load_champion("toy").predict(X)[-1] == 2.9

    run = mlflow.get_run(better.run_id)
    assert run.data.params["factor"] == "2.9" and "baseline_mae" in run.data.metrics
