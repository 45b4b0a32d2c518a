"""The Innsight API.

Serve it with the factory (settings are read when the app is made, not at import):

    uvicorn --factory serving.app:create_app          # `innsight serve` starts it so

``create_app(settings)`` builds, once, everything the routes use (``Services``): the lake,
the feature store, the model registry and the champions it serves, the prediction log,
the price book, the property master, the landing zone for events; routes receive them
through the typed dependencies of ``serving.deps``. The lifespan loads the champions and
warms the feature store before the first request; shutdown stops the model watcher and
flushes the prediction log to the lake.
"""

from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from base.logging import configure_logging
from base.settings import Settings
from features.store import FeatureStore
from lake.delta_tables import Lake
from lake.ingest import LandingZone
from lake.contact_vault import ContactVault
from lake.properties import PropertyMaster
from ml.registry import ModelRegistry
from operations.deferred_runs import DeferredRuns
from operations.outbox import Outbox
from operations.senders import AddressBook
from operations.tasks import Roster, TaskBoard
from reports.report_store import ReportStore
from reports.subscriptions import Subscriptions
from serving.core import docs, errors
from serving.core.auth import Authenticator
from serving.core.observability import Metrics, RequestContext
from serving.core.rate_limits import RateLimiter
from serving.routes import (cancellation_risk, cv_documents, cv_faces, cv_health, cv_images,
                            demand_forecasts, event_intake, guest_value, llm_assistant,
                            llm_health, llm_messages, llm_monitoring, llm_routing,
                            model_operations, ops_logs, platform_health, prices, recommendations,
                            workflow_runs)
from serving.routes import guest_contacts, ops_notifications, ops_tasks, reports
from serving.services.champions import ChampionRegistry
from serving.services.container import Services
from serving.services.dagster_runs import DagsterRuns
from serving.services.event_inbox import EventInbox
from serving.services.example_data import read_sample
from serving.services.hotel_lookup import PropertyScope
from serving.services.language_models import Language
from serving.services.marts_file import MartsFile
from serving.services.online_features import OnlineFeatures
from serving.services.predictions import PredictionLog
from serving.services.price_book import PriceBook
from serving.services.service_logs import ServiceLogs
from serving.services.vision_models import Vision

log = logging.getLogger("innsight.serving")

DESCRIPTION = """
Pricing, cancellation risk, guest value, forecasts and recommendations from the champion
models of the MLflow registry and the online features of Feast; face attendance, image
search, room inspection, anomalies and documents (`/api/v1/cv`); the staff assistant, guest
request routing, messages and log monitoring in Vietnamese and English (`/api/v1/llm`);
events into the lake's landing zone.

**Auth.** Every endpoint but health needs `Authorization: Bearer <JWT>` (local use:
`innsight token --role revenue_manager`; `--role` is repeatable, `--subject` defaults to
`$USER`) or a service key in `X-API-Key` (`innsight api-key --name pms-sync --role service`).
Each endpoint names the permission it needs.

**Examples.** Each request's examples are made of this platform's data (a booking and a
guest the online store knows, a hotel and room type of the property master): sent as they
are, they answer with success. Each error status shows what this endpoint answers with it.

**Errors** share one shape: `{"error", "message", "correlation_id", "details"}`. Send
`X-Correlation-ID` to trace a call through the logs; every response echoes it.
"""

ML_ROUTES = (cancellation_risk, guest_value, prices, demand_forecasts, recommendations,
             model_operations)
CV_ROUTES = (cv_faces, cv_images, cv_documents, cv_health)
LLM_ROUTES = (llm_assistant, llm_routing, llm_messages, llm_monitoring, llm_health)


def build_services(settings: Settings) -> Services:
    """Every object the routes use, from the settings (nothing is loaded yet)."""
    lake = Lake.from_settings(settings)
    metrics = Metrics(settings.api_metrics_dir)
    predictions = PredictionLog(lake, settings.home / "serving" / "predictions_spool",
                                flush_seconds=settings.predictions_flush_seconds,
                                batch_rows=settings.predictions_batch_rows)
    metrics.watch_pending(lambda: predictions.pending)
    properties = PropertyMaster.load(settings.properties_file)
    champions = ChampionRegistry(ModelRegistry.from_settings(settings), settings.marts_path,
                                 poll_seconds=settings.champion_poll_seconds, metrics=metrics)
    features = OnlineFeatures(FeatureStore.from_settings(settings))
    price_book = PriceBook(lake)
    vault = ContactVault.from_settings(settings)
    return Services(
        settings=settings,
        metrics=metrics,
        authenticator=Authenticator.from_settings(settings),
        limiter=RateLimiter(settings.rate_limit, settings.rate_limit_storage, metrics),
        properties=properties,
        champions=champions,
        features=features,
        predictions=predictions,
        price_book=price_book,
        events=EventInbox.from_settings(settings, LandingZone.from_settings(settings)),
        dagster=DagsterRuns(settings.api_host, settings.dagster_port,
                            DeferredRuns.from_url(settings.ops_database_url)),
        marts=MartsFile(settings.marts_path),
        vision=Vision.from_settings(settings, lake),
        language=Language(settings, lake, champions, features, price_book,
                          {h.name: h.currency for h in properties.hotels if h.currency}),
        service_logs=ServiceLogs(lake),
        outbox=Outbox(settings.ops_database_url, AddressBook.from_settings(settings, vault).channel),
        vault=vault,
        tasks=TaskBoard(lake, Roster(lake), properties, settings.task_due_minutes),
        reports=ReportStore(settings.lake_root),
        subscriptions=Subscriptions.from_url(settings.ops_database_url),
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API on ``settings`` (default: ``Settings()``, from the environment and
    innsight.env)."""
    settings = settings or Settings()
    services = build_services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        configure_logging()
        services.predictions.start()
        services.events.start()  # the event spool: lands what an earlier process left
        services.champions.start()
        services.features.warm_up()
        services.vision.load()
        services.language.load()
        # The models' look-up tables are millions of long-lived objects: keep them out of
        # the cyclic GC, whose full passes over them stalled requests for ~0.4 s.
        gc.collect()
        gc.freeze()
        log.info("API ready", extra={"fields": {"profile": settings.profile,
                                                "models": services.champions.status()}})
        try:
            yield
        finally:
            services.champions.stop()
            services.events.close()  # the spool's last events land
            services.predictions.close()
            services.metrics.close()
            log.info("API stopped; prediction log flushed",
                     extra={"fields": services.predictions.stats()})

    app = FastAPI(title="Innsight API", version="0.2.0", description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None)  # served offline below
    app.state.services = services  # read by serving.deps only
    errors.install(app)
    docs.install(app)
    docs.serve_examples(app, lambda: read_sample(settings.marts_path, services.features,
                                                 services.properties, services.tasks),
                        data_version=services.marts.version)
    app.add_middleware(PropertyScope, properties=services.properties)
    app.add_middleware(RequestContext, metrics=services.metrics)
    app.include_router(platform_health.router)
    # each domain's routers straight under the app with its prefix: a router nested in
    # another costs every request one more level of matching
    for prefix, modules in (("/api/v1/ml", ML_ROUTES), ("/api/v1/cv", CV_ROUTES),
                            ("/api/v1/llm", LLM_ROUTES)):
        for module in modules:
            app.include_router(module.router, prefix=prefix)
    app.include_router(event_intake.router)
    app.include_router(workflow_runs.router)
    app.include_router(ops_logs.router)
    app.include_router(ops_tasks.router)
    app.include_router(ops_notifications.router)
    app.include_router(guest_contacts.router)
    app.include_router(reports.router)
    return app
