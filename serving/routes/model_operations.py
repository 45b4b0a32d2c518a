"""POST /retrain/{model_name} (a Dagster run), GET /health (models, feature store,
prediction log; no auth) and GET /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Path, Response
from prometheus_client import CONTENT_TYPE_LATEST

from ml.catalog import MODELS, RETRAIN_ALL_JOB
from serving.core.error_docs import documented, error_responses, invalid
from serving.core.errors import Unavailable
from serving.deps import Admin, Champions, Dagster, Features, MetricsDep, MetricsReader, PredictionLogDep
from serving.schemas.ml_schemas import MlHealth, ModelName, RetrainResponse
from serving.services.dagster_runs import DAGSTER_UNAVAILABLE

router = APIRouter(tags=["ml: operations"])


@router.post("/retrain/{model_name}", response_model=RetrainResponse, status_code=202,
             responses=error_responses(
                 "admin", invalid(ModelName, "churn", "Unknown model", where=("path", "model_name")),
                 documented(Unavailable, DAGSTER_UNAVAILABLE, "Dagster not running",
                            url="http://127.0.0.1:3000", job=MODELS["cancellation"].retrain_job,
                            problem="Exception occured during execution of query")),
             summary="Retrain a model now (permission admin)")
def retrain(principal: Admin, dagster: Dagster,
            model_name: ModelName = Path(description="A model, or `all`.")) -> RetrainResponse:
    """Submits the model's retraining job to Dagster (`all`: the nightly job, features
    included). The challenger replaces the champion only if it wins on the same held-out
    data; the API picks the new champion up within `champion_poll_seconds`."""
    job = RETRAIN_ALL_JOB if model_name == "all" else MODELS[model_name].retrain_job
    run_id = dagster.submit(job, tags={"innsight/requested_by": principal.subject})
    return RetrainResponse(model_name=model_name, job_name=job, run_id=run_id, status="submitted",
                           run_url=dagster.run_url(run_id))


@router.get("/health", response_model=MlHealth, summary="ML serving health (no auth)",
            responses={503: {"model": MlHealth, "description": "Degraded: a model or store is unavailable."}})
def health(champions: Champions, features: Features, predictions: PredictionLogDep,
           response: Response) -> MlHealth:
    models = champions.status()
    store = features.status()
    ok = store["status"] == "ok" and all(m["status"] == "ok" for m in models.values())
    if not ok:
        response.status_code = 503
    return MlHealth(status="ok" if ok else "degraded", models=models, feature_store=store,
                    predictions=predictions.stats())


@router.get("/metrics", summary="Prometheus metrics (permission metrics:read)",
            response_class=Response, responses={
                200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format."},
                **error_responses("metrics:read")})
def metrics(_: MetricsReader, metrics: MetricsDep) -> Response:
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
