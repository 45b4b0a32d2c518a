"""The promises of a running API, on a running API: the champion watcher (its own thread,
polling every 0.2 s) loads a new version while several clients are answered, every answer
is the version it names; a version that fails to load is tried, reported and survives the
old one; and predictions buffered at shutdown reach the lake."""

from __future__ import annotations

import copy
import threading
import time

import mlflow
import pytest
from fastapi.testclient import TestClient

from base.settings import Settings
from features.store import FeatureStore
from lake.delta_tables import Lake
from lake.tables import ML_PREDICTIONS
from ml.registry import CHAMPION, ModelRegistry
from serving.app import create_app
from serving.services.champions import CANCELLATION
from tests.conftest import free_port
from tests.serving.conftest import services

ML = "/api/v1/ml"
CLIENTS = 4


class Unloadable(mlflow.pyfunc.PythonModel):
    """A registered version whose loading fails (as an unreachable artifact store would)."""

    def load_context(self, context):
        raise RuntimeError("artifact store unreachable (test)")

    def predict(self, model_input, params=None):
        return model_input


def register(registry: ModelRegistry, python_model) -> str:
    """Log and register a version of "cancellation" (not promoted); its version."""
    registry.client()
    with mlflow.start_run(run_name="serving-reload-test"):
        info = mlflow.pyfunc.log_model(name="model", python_model=python_model,
                                       registered_model_name="cancellation",
                                       pip_requirements=["mlflow"])
    return str(info.registered_model_version)


def promote(registry: ModelRegistry, version: str) -> None:
    registry.client().set_registered_model_alias("cancellation", CHAMPION, version)


def wait_until(condition, timeout: float = 120.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.05)
    return result


@pytest.fixture(scope="module")
def reload_settings(platform_home) -> Settings:
    """The served platform, its champions polled every 0.2 s; predictions flushed only at
    shutdown (or a batch of a million)."""
    return Settings(home=platform_home, champion_poll_seconds=0.2, dagster_port=free_port(),
                    predictions_flush_seconds=3600, predictions_batch_rows=1_000_000)


@pytest.fixture(scope="module")
def registry(reload_settings):
    registry = ModelRegistry.from_settings(reload_settings)
    original = registry.champion_version("cancellation")
    yield registry
    promote(registry, original)  # the session's other apps serve the trained champion


def test_the_watcher_swaps_champions_under_concurrent_clients(reload_settings, registry, served_bookings):
    from tests.serving.conftest import bearer

    original = registry.champion_version("cancellation")
    trained = registry.load_version("cancellation", original)
    # A recognisable new version: the same model with its calibration shifted (every
    # probability moves), registered like any other.
    shifted = copy.copy(trained)
    shifted.platt = (trained.platt[0], trained.platt[1] + 1.0)
    broken = register(registry, Unloadable())
    new = register(registry, shifted)

    bookings = served_bookings[:12]
    store = FeatureStore.from_settings(reload_settings)
    records = {b: {k: v[0] for k, v in store.online_features("cancellation", [{"booking_id": b}]).items()}
               for b in bookings}
    expected = {version: {b: round(model.predict_one(r)["probability"], 4) for b, r in records.items()}
                for version, model in ((original, trained), (new, shifted))}
    assert all(expected[original][b] != expected[new][b] for b in bookings)

    reader = bearer(reload_settings, "revenue_manager", rate_limit="1000000/minute")
    promote(registry, broken)  # the app starts while the champion cannot be loaded
    with TestClient(create_app(reload_settings)) as client:
        champions = services(client).champions

        # 1. The broken champion was tried: 503 and health say which version and why.
        r = client.post(f"{ML}/churn/predict", json={"booking_id": bookings[0]}, headers=reader)
        assert r.status_code == 503, r.text
        assert f"version {broken} failed to load" in r.json()["message"]
        assert "artifact store unreachable" in r.json()["message"]
        health = client.get(f"{ML}/health")
        assert health.status_code == 503
        assert f"version {broken} failed to load" in health.json()["models"]["cancellation"]["reason"]

        # 2. A good champion: the watcher thread loads it by itself.
        promote(registry, original)
        wait_until(lambda: champions.status()["cancellation"].get("version") == original,
                   what="the watcher loads the good version")
        assert client.get(f"{ML}/health").json()["models"]["cancellation"]["status"] == "ok"

        # 3. Under load from several clients, the new version is promoted.
        answers: list[list[tuple[str, float, str, str]]] = [[] for _ in range(CLIENTS)]
        failures: list[str] = []
        stop = threading.Event()

        def load(n: int) -> None:
            i = n
            while not stop.is_set():
                booking = bookings[i % len(bookings)]
                r = client.post(f"{ML}/churn/predict", json={"booking_id": booking}, headers=reader)
                if r.status_code != 200:
                    failures.append(f"{r.status_code} {r.text[:300]}")
                else:
                    body = r.json()
                    answers[n].append((body["model_version"], body["churn_probability"], booking,
                                       body["prediction_id"]))
                i += 1

        threads = [threading.Thread(target=load, args=(n,), daemon=True) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        try:
            wait_until(lambda: all(len(a) >= 5 for a in answers), what="answers before the swap")
            promote(registry, new)
            wait_until(lambda: all(sum(v == new for v, *_ in a) >= 5 for a in answers),
                       what="every client answered by the new version")
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=60)
        assert not any(t.is_alive() for t in threads)
        assert not failures, failures[:3]
        for per_client in answers:
            versions = [v for v, *_ in per_client]
            # each answer is the model it names ...
            for version, probability, booking, _ in per_client:
                assert probability == expected[version][booking], (version, booking, probability)
            # ... and each client saw one switch, never back
            switch = versions.index(new)
            assert set(versions[:switch]) == {original} and set(versions[switch:]) == {new}, versions
        assert champions.get(CANCELLATION).version == new

        # 4. A broken version again: tried, reported, and the served one keeps answering.
        promote(registry, broken)
        wait_until(lambda: f"version {broken}" in champions.status()["cancellation"].get("problem", ""),
                   what="the watcher tries the broken version")
        r = client.post(f"{ML}/churn/predict", json={"booking_id": bookings[0]}, headers=reader)
        assert r.status_code == 200 and r.json()["model_version"] == new
        assert r.json()["churn_probability"] == expected[new][bookings[0]]
        status = client.get(f"{ML}/health").json()["models"]["cancellation"]
        assert status["status"] == "ok" and status["version"] == new
        assert "artifact store unreachable" in status["problem"]
        metrics = services(client).metrics
        assert metrics.reloads.labels("cancellation", "reloaded")._value.get() >= 1
        assert metrics.reloads.labels("cancellation", "failed")._value.get() >= 2

        served_ids = {pid for per_client in answers for *_, pid in per_client}
        assert services(client).predictions.pending >= len(served_ids)  # none flushed yet
    promote(registry, original)

    # 5. Shutting down flushed the buffered predictions: every answer is in the lake, with
    # the version that gave it.
    log = Lake.from_settings(reload_settings).read(ML_PREDICTIONS.name)
    logged = dict(zip(log["prediction_id"], log["model_version"]))
    for per_client in answers:
        for version, _, _, pid in per_client:
            assert logged.get(pid) == version, pid
