"""Correlation ids, the access log and Prometheus metrics.

Every request gets a correlation id (the caller's ``X-Correlation-ID`` when it sends a
sane one, else a new one); it is echoed on the response, put on every log line written
while the request runs (``base.logging``), and in every error body and recorded prediction.

Several API worker processes share their metrics through prometheus_client's multiprocess
mode (``shared_metrics_env``, set by whoever starts them): a scrape, whichever worker
answers it, counts every worker's requests and predictions, not its own only. The mode is
the setting's (``api_metrics_dir``), not prometheus_client's variable: Feast sets that one
in any process that imports its metrics module.
"""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from pathlib import Path
from typing import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess, values

from base.logging import correlation_id

HEADER = "x-correlation-id"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
log = logging.getLogger("innsight.serving")
access = logging.getLogger("innsight.serving.access")

LATENCY_BUCKETS = (.001, .0025, .005, .0075, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10)


def shared_metrics_env(folder: Path) -> dict[str, str]:
    """The environment of API worker processes that share their metrics through ``folder``,
    emptied of an earlier run's files (their counts would be added to this run's):
    prometheus_client's variables (read when it is imported: the workers' environment, not
    a setting) and the setting."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    return {"PROMETHEUS_MULTIPROC_DIR": str(folder), "PROMETHEUS_MULTIPROCESS_DIR": str(folder),
            "INNSIGHT_API_METRICS_DIR": str(folder)}


class Metrics:
    """The API's Prometheus metrics, in a registry of its own (one per app); shared with
    the other worker processes through ``shared_dir`` (see ``shared_metrics_env``)."""

    def __init__(self, shared_dir: Path | None = None) -> None:
        self.shared = shared_dir is not None
        if self.shared and values.ValueClass is values.MutexValue:
            raise RuntimeError(
                f"the API's metrics are to be shared through {shared_dir}, but "
                "prometheus_client was imported without PROMETHEUS_MULTIPROC_DIR: start the "
                "workers with it in their environment (`innsight serve` does)")
        self._pending: Callable[[], float] | None = None
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("innsight_http_requests", "HTTP requests answered",
                                ["method", "route", "status"], registry=r)
        self.latency = Histogram("innsight_http_request_duration_seconds",
                                 "Time to answer a request, by route", ["route"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.predictions = Counter("innsight_ml_predictions", "Predictions served",
                                   ["model", "version"], registry=r)
        self.prediction_latency = Histogram("innsight_ml_prediction_duration_seconds",
                                            "Model time per prediction (features + model)",
                                            ["model"], buckets=LATENCY_BUCKETS, registry=r)
        # shared: one series per live worker (a `pid` label), so a worker left on an
        # older champion shows
        self.champion = Gauge("innsight_ml_champion_version",
                              "Registry version of the champion being served (0: none)",
                              ["model"], registry=r, multiprocess_mode="liveall")
        self.reloads = Counter("innsight_ml_champion_reloads", "Champion hot reloads",
                               ["model", "outcome"], registry=r)
        self.rate_limited = Counter("innsight_rate_limited", "Requests refused with 429",
                                    ["client"], registry=r)
        self.predictions_pending = Gauge("innsight_ml_predictions_pending",
                                         "Predictions buffered, not yet in the lake", registry=r,
                                         multiprocess_mode="livesum")
        self.events = Counter("innsight_events", "Events written to the landing zone",
                              ["kind"], registry=r)
        self.llm_answers = Counter("innsight_llm_answers", "Assistant answers, by mode and "
                                   "outcome (answered, refused)", ["mode", "outcome"], registry=r)
        self.llm_tool_calls = Counter("innsight_llm_tool_calls", "Assistant tool calls",
                                      ["tool"], registry=r)
        self.llm_routed = Counter("innsight_llm_routed_requests", "Guest requests routed",
                                  ["category", "needs_human"], registry=r)
        self.llm_latency = Histogram("innsight_llm_duration_seconds", "Time per language "
                                     "operation", ["operation"], buckets=LATENCY_BUCKETS, registry=r)

    def watch_pending(self, count: Callable[[], float]) -> None:
        """The pending-predictions gauge reads ``count`` when scraped. Shared, each worker
        writes its own count when a scrape reaches it: the sum is as of each worker's last."""
        self._pending = count
        if not self.shared:
            self.predictions_pending.set_function(count)

    def exposition(self) -> bytes:
        """The Prometheus text of every metric: this process's, or every live and
        finished worker's when shared."""
        if not self.shared:
            return generate_latest(self.registry)
        if self._pending is not None:
            self.predictions_pending.set(self._pending())
        everyone = CollectorRegistry()
        multiprocess.MultiProcessCollector(everyone)
        return generate_latest(everyone)

    def close(self) -> None:
        """A stopping worker's live gauges leave the shared figures (its counts stay)."""
        if self.shared:
            multiprocess.mark_process_dead(os.getpid())


class RequestContext:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware on the hot path): correlation
    id in and out, one access log line and the request metrics per HTTP request."""

    def __init__(self, app, metrics: Metrics):
        self.app = app
        self.metrics = metrics
        self._templates: dict[int, str] | None = None

    def _template(self, scope) -> str:
        """The matched route's full path template (FastAPI gives the route of an included
        router with its path inside that router: `/health` for `/api/v1/ml/health`)."""
        route = scope.get("route")
        if route is None:
            return "unmatched"
        if self._templates is None:
            from fastapi.routing import iter_route_contexts

            self._templates = {id(c.original_route): c.path
                               for c in iter_route_contexts(getattr(scope.get("app"), "routes", ())) if c.path}
        return self._templates.get(id(route)) or getattr(route, "path", None) or "unmatched"

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        cid = None
        for name, value in scope["headers"]:
            if name == b"x-correlation-id":
                text = value.decode("latin-1")
                cid = text if _VALID.match(text) else None
                break
        cid = cid or uuid.uuid4().hex
        token = correlation_id.set(cid)
        started = time.perf_counter()
        status = 500
        header = (b"x-correlation-id", cid.encode())

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            template = self._template(scope)
            self.metrics.requests.labels(scope["method"], template, str(status)).inc()
            self.metrics.latency.labels(template).observe(elapsed)
            if access.isEnabledFor(logging.INFO):
                state = scope.get("state") or {}
                access.info("request", extra={"fields": {
                    "method": scope["method"], "path": scope["path"], "route": template,
                    "status": status, "duration_ms": round(elapsed * 1000, 3),
                    "client": state.get("client")}})
            correlation_id.reset(token)
