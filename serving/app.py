"""The Innsight API (`uvicorn serving.app:app`).

Resources — settings, the champion models, the prediction log, the rate limiter and the
metrics — are created once in the lifespan and reached by the routes through
``request.app.state``; shutdown stops the model watcher and flushes the prediction log.
"""

from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from base.settings import Settings, get_settings
from serving import errors, events, health
from serving.champions import ChampionRegistry
from serving.ml import prepare as ml_prepare
from serving.ml import router as ml_router
from ml.dynamic_pricing import SCHEDULE_TABLE
from serving.ml.dynamic_pricing import PriceBook
from serving.observability import Metrics, RequestContext, configure_logging
from serving.predictions import PredictionLog
from serving.ratelimit import RateLimiter

log = logging.getLogger("innsight.serving")

DESCRIPTION = """
Pricing, cancellation risk, guest value, forecasts and recommendations from the champion
models of the MLflow registry and the online features of Feast; events into the lake's
landing zone.

**Auth.** Every endpoint but health needs `Authorization: Bearer <JWT>` (local use:
`innsight token --subject you --role revenue_manager`) or a service key in `X-API-Key`
(`innsight api-key`). Each endpoint names the permission it needs.

**Errors** share one shape: `{"error", "message", "correlation_id", "details"}`. Send
`X-Correlation-ID` to trace a call through the logs; every response echoes it.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        configure_logging()
        state = app.state
        state.predictions.start()
        state.champions.start()
        ml_prepare.warm_feature_store(settings)
        # The models' look-up tables are millions of long-lived objects: keep them out of
        # the cyclic GC, whose full passes over them stalled requests for ~0.4 s.
        gc.collect()
        gc.freeze()
        log.info("API ready", extra={"fields": {"profile": settings.profile,
                                                "models": state.champions.status()}})
        try:
            yield
        finally:
            state.champions.stop()
            state.predictions.close()
            log.info("API stopped; prediction log flushed",
                     extra={"fields": state.predictions.stats()})

    app = FastAPI(title="Innsight API", version="0.2.0", description=DESCRIPTION,
                  lifespan=lifespan)
    metrics = Metrics()
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.limiter = RateLimiter(settings.rate_limit, settings.rate_limit_storage, metrics)
    app.state.predictions = PredictionLog(settings)
    metrics.predictions_pending.set_function(lambda: app.state.predictions.pending)
    app.state.price_book = PriceBook(settings.table_uri(SCHEDULE_TABLE))
    app.state.champions = ChampionRegistry(poll_seconds=settings.champion_poll_seconds,
                                           metrics=metrics, prepare=ml_prepare.PREPARE)
    errors.install(app)
    app.add_middleware(RequestContext, metrics=metrics)
    app.include_router(health.router)
    app.include_router(ml_router)
    app.include_router(events.router)
    return app


app = create_app()
