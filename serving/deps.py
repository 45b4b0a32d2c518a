"""The routes' dependencies, typed with ``Annotated``: what a route declares in its
signature is what it gets, built once by ``create_app`` (``serving.services.container``).

    def predict(body: ChurnRequest, _: MlReader, scoring: ScoringDep) -> ChurnResponse

The caller's permission comes first in a signature: credentials are checked (401/403,
rate limit 429) before anything else runs. This is the only module that reads the app's
state.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from base.logging import correlation_id
from base.settings import Settings
from lake.properties import PropertyMaster
from serving.core.auth import (HOW, NO_CREDENTIALS, PERMISSIONS, Principal, Unauthorized,
                               check_permission)
from lake.contact_vault import ContactVault
from operations.outbox import Outbox
from operations.tasks import TaskBoard
from reports.report_store import ReportStore
from reports.subscriptions import Subscriptions
from serving.core.observability import Metrics
from serving.services.champions import Champion, ChampionRegistry
from serving.services.container import Services
from serving.services.dagster_runs import DagsterRuns
from serving.services.event_inbox import EventInbox
from serving.services.language_models import Language
from serving.services.marts_file import MartsFile
from serving.services.online_features import OnlineFeatures
from serving.services.predictions import PredictionLog
from serving.services.price_book import PriceBook
from serving.services.service_logs import ServiceLogs
from serving.services.vision_models import Vision

# Dependencies are async: trivial work, and a plain def would cost a worker-thread round
# trip per request.


def _services(request: Request) -> Services:
    return request.app.state.services


async def settings_dep(request: Request) -> Settings:
    return _services(request).settings


async def champions_dep(request: Request) -> ChampionRegistry:
    return _services(request).champions


async def features_dep(request: Request) -> OnlineFeatures:
    return _services(request).features


async def price_book_dep(request: Request) -> PriceBook:
    return _services(request).price_book.current()


async def properties_dep(request: Request) -> PropertyMaster:
    return _services(request).properties


async def events_dep(request: Request) -> EventInbox:
    return _services(request).events


async def dagster_dep(request: Request) -> DagsterRuns:
    return _services(request).dagster


async def marts_dep(request: Request) -> MartsFile:
    return _services(request).marts


async def metrics_dep(request: Request) -> Metrics:
    return _services(request).metrics


async def prediction_log_dep(request: Request) -> PredictionLog:
    return _services(request).predictions


async def vision_dep(request: Request) -> Vision:
    return _services(request).vision


async def language_dep(request: Request) -> Language:
    return _services(request).language


async def service_logs_dep(request: Request) -> ServiceLogs:
    return _services(request).service_logs


async def outbox_dep(request: Request) -> Outbox:
    return _services(request).outbox


async def vault_dep(request: Request) -> ContactVault:
    return _services(request).vault


async def task_board_dep(request: Request) -> TaskBoard:
    return _services(request).tasks


async def report_store_dep(request: Request) -> ReportStore:
    return _services(request).reports


async def subscriptions_dep(request: Request) -> Subscriptions:
    return _services(request).subscriptions


class Scoring:
    """What a model's route needs, as one dependency (each one costs every request its own
    solving): the champions, the online features, and ``record`` for its prediction."""

    def __init__(self, request: Request):
        self._request = request
        services = _services(request)
        self.champions: ChampionRegistry = services.champions
        self.features: OnlineFeatures = services.features
        self._log, self._metrics = services.predictions, services.metrics

    def record(self, champion: Champion, endpoint: str, inputs: dict[str, Any],
               outputs: dict[str, Any], started: float) -> str:
        """Records a prediction: the metrics and the lake's prediction log (with the
        request's correlation id and caller); returns the prediction id."""
        elapsed = time.perf_counter() - started
        self._metrics.predictions.labels(champion.name, champion.version).inc()
        self._metrics.prediction_latency.labels(champion.name).observe(elapsed)
        return self._log.record(
            model=champion.name, version=champion.version, endpoint=endpoint, inputs=inputs,
            outputs=outputs, latency_ms=round(elapsed * 1000, 3),
            correlation_id=correlation_id.get(),
            client=getattr(self._request.state, "client", None))


async def scoring_dep(request: Request) -> Scoring:
    return Scoring(request)


SettingsDep = Annotated[Settings, Depends(settings_dep)]
Champions = Annotated[ChampionRegistry, Depends(champions_dep)]
Features = Annotated[OnlineFeatures, Depends(features_dep)]
Prices = Annotated[PriceBook, Depends(price_book_dep)]
Properties = Annotated[PropertyMaster, Depends(properties_dep)]
Events = Annotated[EventInbox, Depends(events_dep)]
Dagster = Annotated[DagsterRuns, Depends(dagster_dep)]
Marts = Annotated[MartsFile, Depends(marts_dep)]
MetricsDep = Annotated[Metrics, Depends(metrics_dep)]
PredictionLogDep = Annotated[PredictionLog, Depends(prediction_log_dep)]
ScoringDep = Annotated[Scoring, Depends(scoring_dep)]
VisionDep = Annotated[Vision, Depends(vision_dep)]
LanguageDep = Annotated[Language, Depends(language_dep)]
ServiceLogsDep = Annotated[ServiceLogs, Depends(service_logs_dep)]
OutboxDep = Annotated[Outbox, Depends(outbox_dep)]
VaultDep = Annotated[ContactVault, Depends(vault_dep)]
TaskBoardDep = Annotated[TaskBoard, Depends(task_board_dep)]
ReportStoreDep = Annotated[ReportStore, Depends(report_store_dep)]
SubscriptionsDep = Annotated[Subscriptions, Depends(subscriptions_dep)]


# -- who is calling -----------------------------------------------------------------------

# auto_error=False: the 401 is ours, with a message that says what to send.
api_key = APIKeyHeader(name="X-API-Key", auto_error=False,
                       description="A service API key from `innsight api-key`.")


class Permission(HTTPBearer):
    """A dependency: the authenticated caller (a bearer JWT, or a service key in
    X-API-Key), if it holds ``permission`` and is within its rate limit. It is FastAPI's
    bearer scheme itself (the docs' security requirement) rather than a dependency on it:
    each dependency costs every request its own solving."""

    def __init__(self, permission: str):
        if permission not in PERMISSIONS:
            raise ValueError(f"unknown permission {permission!r}")
        super().__init__(auto_error=False, scheme_name="HTTPBearer",
                         description="A JWT from `innsight token`.")
        self.permission = permission

    async def __call__(self, request: Request,  # type: ignore[override]
                       key: str | None = Depends(api_key)) -> Principal:
        services = _services(request)
        scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
        if token and scheme.lower() == "bearer":
            principal = services.authenticator.token(token)
        elif key:
            principal = services.authenticator.api_key(key)
        elif request.headers.get("authorization"):
            raise Unauthorized(f"the Authorization header must use the Bearer scheme; {HOW}")
        else:
            raise Unauthorized(NO_CREDENTIALS)
        check_permission(principal, self.permission)
        await services.limiter.hit(principal)
        request.state.client = principal.subject
        return principal


def require(permission: str) -> Permission:
    """The dependency of a route that needs ``permission`` (see ``Permission``)."""
    return Permission(permission)


MlReader = Annotated[Principal, Depends(require("ml:read"))]
CvReader = Annotated[Principal, Depends(require("cv:read"))]
CvWriter = Annotated[Principal, Depends(require("cv:write"))]
LlmUser = Annotated[Principal, Depends(require("llm:query"))]
EventWriter = Annotated[Principal, Depends(require("events:write"))]
MetricsReader = Annotated[Principal, Depends(require("metrics:read"))]
Admin = Annotated[Principal, Depends(require("admin"))]
OpsReader = Annotated[Principal, Depends(require("ops:read"))]
OpsWriter = Annotated[Principal, Depends(require("ops:write"))]
WorkflowRunner = Annotated[Principal, Depends(require("workflows:run"))]
ContactEraser = Annotated[Principal, Depends(require("contacts:erase"))]
ReportReader = Annotated[Principal, Depends(require("reports:read"))]
ReportWriter = Annotated[Principal, Depends(require("reports:write"))]
