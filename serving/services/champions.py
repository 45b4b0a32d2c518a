"""The champion models the API serves, loaded once and hot-reloaded when the registry's
`champion` alias moves.

A reload loads the new version beside the old one, off the request path (the watcher
thread, every ``poll_seconds``), readies it for serving, then swaps one reference: a
request in flight keeps the model it started with, the next one gets the new version,
none is dropped. A version that cannot be loaded (or is not the kind of model its name
serves) is reported with the reason by ``status()`` and the endpoints' 503s while no
version is served, the version served stays, and it is retried at the next check.
"""

from __future__ import annotations

import gc
import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Generic, Iterator, TypeVar

import duckdb
import mlflow

from ml.cancellation import CancellationModel
from ml.clv import ClvModel
from ml.dynamic_pricing import PricingModel
from ml.forecasting import ForecastModel
from ml.recommenders import RoomRecommender, ServiceRecommender
from ml.registry import CHAMPION, ModelRegistry
from serving.core.error_docs import Documented, documented
from serving.core.errors import Message, Unavailable

log = logging.getLogger("innsight.serving")

M = TypeVar("M")

MODEL_UNAVAILABLE = Message("the {model} model is unavailable: {reason}")
NO_CHAMPION = Message("no champion registered: train it (`make build`, "
                      "or POST /api/v1/ml/retrain/{model})")


@dataclass(frozen=True)
class Champion(Generic[M]):
    """One registered version of a model, loaded and ready: ``model`` is the model object
    itself (``Champion[CancellationModel]``...), called through its public methods."""

    name: str
    version: str
    model: M
    loaded_at: datetime


@dataclass(frozen=True)
class ServedModel(Generic[M]):
    """A registered model the API serves: its name, the class its versions must be, and
    what readies a loaded version for serving (warm caches, serving-time data from the
    marts; the marts connection is None when the marts file is not built)."""

    name: str
    kind: type[M]
    ready: Callable[[M, duckdb.DuckDBPyConnection | None], M] = lambda model, marts: model
    needs_marts: bool = False


CANCELLATION = ServedModel("cancellation", CancellationModel,
                           lambda model, marts: model.for_serving())
CLV = ServedModel("clv", ClvModel, lambda model, marts: model.for_serving())
PRICING = ServedModel("pricing", PricingModel)
FORECASTS = {target: ServedModel(f"forecast_{target}", ForecastModel)
             for target in ("occupancy", "revenue", "housekeeping_demand")}
SERVICES = ServedModel("recommend_services", ServiceRecommender,
                       lambda model, marts: model.for_serving(marts), needs_marts=True)
ROOMS = ServedModel("recommend_rooms", RoomRecommender)
SERVED: tuple[ServedModel, ...] = (CANCELLATION, CLV, PRICING, *FORECASTS.values(), SERVICES, ROOMS)


def unavailable(served: ServedModel) -> Documented:
    """The documented 503 of a route that serves ``served``: no champion registered yet."""
    return documented(Unavailable, MODEL_UNAVAILABLE, "Model not trained yet", model=served.name,
                      reason=NO_CHAMPION.format(model=served.name))


class ChampionRegistry:
    """The champion of each served model, kept current with the model registry."""

    def __init__(self, registry: ModelRegistry, marts_path: Path | None = None,
                 served: tuple[ServedModel, ...] = SERVED, poll_seconds: float = 30.0,
                 metrics=None):
        self.registry = registry
        self.marts_path = marts_path
        self.served = {s.name: s for s in served}
        self.poll_seconds = poll_seconds
        self.metrics = metrics
        self._champions: dict[str, Champion] = {}
        self._problems: dict[str, str] = {}
        self._client = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one refresh at a time

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.served)

    def get(self, served: ServedModel[M]) -> Champion[M]:
        """The champion served now; 503 saying why when there is none."""
        champion = self._champions.get(served.name)
        if champion is None:
            reason = self._problems.get(served.name, "not loaded yet")
            raise Unavailable(MODEL_UNAVAILABLE.format(model=served.name, reason=reason))
        return champion

    def refresh(self) -> dict[str, str]:
        """Load every champion whose registry version differs from the one served; returns
        {name: version} of those loaded."""
        changes: dict[str, str] = {}
        with self._lock:
            try:
                client = self._client = self._client or self.registry.client()
            except Exception as e:  # registry down: keep serving what is loaded
                for name in self.served:
                    if name not in self._champions:
                        self._problems[name] = f"model registry unreachable ({e})"
                log.warning("model registry unreachable: %s", e)
                return changes
            for name, served in self.served.items():
                current = self._champions.get(name)
                try:
                    version = str(client.get_model_version_by_alias(name, CHAMPION).version)
                except mlflow.exceptions.MlflowException:
                    if current is None:
                        self._problems[name] = NO_CHAMPION.format(model=name)
                    continue
                except Exception as e:  # the registry's database went away meanwhile
                    log.warning("model registry unreachable: %s", e)
                    return changes
                if current is not None and current.version == version:
                    continue
                try:
                    champion = self._load(served, version)
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

    def _load(self, served: ServedModel[M], version: str) -> Champion[M]:
        model = self.registry.load_version(served.name, version)
        if not isinstance(model, served.kind):
            raise TypeError(f"it is a {type(model).__name__}, not a {served.kind.__name__}")
        with self._marts(served) as marts:
            model = served.ready(model, marts)
        return Champion(served.name, version, model, datetime.now(timezone.utc))

    @contextmanager
    def _marts(self, served: ServedModel) -> Iterator[duckdb.DuckDBPyConnection | None]:
        path = self.marts_path
        if not served.needs_marts or path is None or not path.exists():
            if served.needs_marts:
                log.warning("marts file %s missing: %s serves its training-time data", path, served.name)
            yield None
            return
        with duckdb.connect(str(path), read_only=True) as marts:
            yield marts

    def _count(self, name: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.reloads.labels(name, outcome).inc()

    def start(self) -> None:
        """Load now, then check the registry every poll_seconds in a daemon thread."""
        self.refresh()
        self._stop.clear()
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
            self._thread.join(timeout=30)

    def status(self) -> dict[str, dict]:
        out = {}
        for name in self.served:
            c = self._champions.get(name)
            if c is None:
                out[name] = {"status": "unavailable", "reason": self._problems.get(name, "not loaded")}
            else:
                out[name] = {"status": "ok", "version": c.version, "loaded_at": c.loaded_at.isoformat()}
                if name in self._problems:  # a newer version that failed: the old one still serves
                    out[name]["problem"] = self._problems[name]
        return out
