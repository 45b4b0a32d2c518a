"""The champion models the API serves, loaded once and hot-reloaded when the registry's
`champion` alias moves.

A reload loads the new version beside the old one, off the request path, then swaps one
reference: a request in flight keeps the model it started with, the next one gets the
new version, none is dropped. A model that cannot be loaded leaves its endpoints
answering 503 with the reason, and is retried at the next check.
"""

from __future__ import annotations

import gc
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import mlflow

from ml.registry import CHAMPION, configure
from serving.errors import Unavailable

log = logging.getLogger("innsight.serving")

SERVED = ("cancellation", "clv", "pricing", "forecast_occupancy", "forecast_revenue",
          "forecast_housekeeping_demand", "recommend_services", "recommend_rooms")


@dataclass(frozen=True)
class Champion:
    name: str
    version: str
    model: Any  # the python model object (ml.cancellation.CancellationModel, ...), for its fast paths
    loaded_at: datetime


class ChampionRegistry:
    def __init__(self, names=SERVED, poll_seconds: float = 30.0, metrics=None,
                 prepare=None):
        self.names = tuple(names)
        self.poll_seconds = poll_seconds
        self.metrics = metrics
        # name -> callable(Champion) -> Champion: warms caches before a model is served
        self.prepare = prepare or {}
        self._champions: dict[str, Champion] = {}
        self._problems: dict[str, str] = {}
        self._client = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one refresh at a time

    def get(self, name: str) -> Champion:
        champion = self._champions.get(name)
        if champion is None:
            reason = self._problems.get(name, "not loaded yet")
            raise Unavailable(f"the {name} model is unavailable: {reason}")
        return champion

    def refresh(self) -> dict[str, str]:
        """Load every champion whose registry version differs from the one served."""
        changes = {}
        with self._lock:
            try:
                client = self._client = self._client or configure()
            except Exception as e:  # registry down: keep serving what is loaded
                for name in self.names:
                    if name not in self._champions:
                        self._problems[name] = f"model registry unreachable ({e})"
                log.warning("model registry unreachable: %s", e)
                return changes
            for name in self.names:
                current = self._champions.get(name)
                try:
                    version = str(client.get_model_version_by_alias(name, CHAMPION).version)
                except mlflow.exceptions.MlflowException:
                    if current is None:
                        self._problems[name] = ("no champion registered: train it (`make build`, "
                                                f"or POST /api/v1/ml/retrain/{name})")
                    continue
                if current is not None and current.version == version:
                    continue
                try:
                    champion = self._load(name, version)
                except Exception as e:
                    self._problems[name] = f"version {version} failed to load: {e}"
                    log.exception("champion %s v%s failed to load", name, version)
                    self._count(name, "failed")
                    continue
                self._champions[name] = champion  # the swap
                gc.freeze()  # the new model's tables join the long-lived objects (see app.py)
                self._problems.pop(name, None)
                changes[name] = version
                if current is not None:
                    self._count(name, "reloaded")
                    log.info("champion %s reloaded: v%s -> v%s", name, current.version, version)
                if self.metrics is not None:
                    self.metrics.champion.labels(name).set(float(version))
        return changes

    def _load(self, name: str, version: str) -> Champion:
        model = mlflow.pyfunc.load_model(f"models:/{name}/{version}").unwrap_python_model()
        champion = Champion(name, version, model, datetime.now(timezone.utc))
        prepare = self.prepare.get(name)
        return prepare(champion) if prepare else champion

    def _count(self, name: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.reloads.labels(name, outcome).inc()

    def start(self) -> None:
        """Load now, then check the registry every poll_seconds in a daemon thread."""
        self.refresh()
        self._thread = threading.Thread(target=self._run, name="champion-reload", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
            except Exception:  # never let the watcher die
                log.exception("champion refresh failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def status(self) -> dict[str, dict]:
        out = {}
        for name in self.names:
            c = self._champions.get(name)
            out[name] = ({"status": "ok", "version": c.version, "loaded_at": c.loaded_at.isoformat()}
                         if c else {"status": "unavailable", "reason": self._problems.get(name, "not loaded")})
        return out
