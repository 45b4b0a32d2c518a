"""GET /health (models, feature store, prediction log; no auth) and GET /metrics."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from serving.auth import require
from serving.errors import error_responses

router = APIRouter(tags=["ml: operations"])


class MlHealth(BaseModel):
    status: str = Field(description="ok, or degraded when a model or the feature store is unavailable.")
    models: dict[str, dict] = Field(description="Per served model: version and load time, or why not.")
    feature_store: dict
    predictions: dict = Field(description="The prediction log: buffered, written, spooled.")


def feature_store_status(request: Request) -> dict:
    """Can the online store answer? Probed at most every 10 s (cheap, but not free)."""
    state = request.app.state
    cached = getattr(state, "feature_store_probe", None)
    if cached and time.monotonic() - cached[0] < 10:
        return cached[1]
    from features.store import feature_store

    try:
        store = feature_store(state.settings)
        services = sorted(s.name for s in store.list_feature_services())
        result = {"status": "ok", "online_store": store.config.online_store.type, "services": services}
        if not services:
            result = {"status": "unavailable", "reason": "no feature service registered: run `make build`"}
    except Exception as e:
        result = {"status": "unavailable", "reason": str(e)}
    state.feature_store_probe = (time.monotonic(), result)
    return result


@router.get("/health", response_model=MlHealth, summary="ML serving health (no auth)",
            responses={503: {"model": MlHealth, "description": "Degraded: a model or store is unavailable."}})
def health(request: Request, response: Response) -> MlHealth:
    models = request.app.state.champions.status()
    store = feature_store_status(request)
    ok = store["status"] == "ok" and all(m["status"] == "ok" for m in models.values())
    if not ok:
        response.status_code = 503
    return MlHealth(status="ok" if ok else "degraded", models=models, feature_store=store,
                    predictions=request.app.state.predictions.stats())


@router.get("/metrics", summary="Prometheus metrics (permission metrics:read)",
            response_class=Response, responses={
                200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format."},
                **error_responses(401, 403, 429)})
def metrics(request: Request, _=Depends(require("metrics:read"))) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
