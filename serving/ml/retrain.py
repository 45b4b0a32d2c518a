"""POST /retrain/{model_name}: starts the model's Dagster job and returns its run id."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from ml.catalog import MODELS
from serving.auth import require
from serving.errors import Unavailable, error_responses

router = APIRouter(tags=["ml: operations"])

ModelName = Literal[tuple([*MODELS, "all"])]


class RetrainResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "model_name": "cancellation", "job_name": "retrain_churn",
        "run_id": "5f0e6a1c-3b2d-4e8f-9a7b-1c2d3e4f5a6b", "status": "submitted",
        "run_url": "http://127.0.0.1:3000/runs/5f0e6a1c-3b2d-4e8f-9a7b-1c2d3e4f5a6b"}]})

    model_name: str
    job_name: str
    run_id: str = Field(description="The Dagster run; follow it at run_url.")
    status: Literal["submitted"]
    run_url: str


@router.post("/retrain/{model_name}", response_model=RetrainResponse, status_code=202,
             responses=error_responses(401, 403, 422, 429, 503),
             summary="Retrain a model now (permission admin)")
def retrain(request: Request, model_name: ModelName = Path(description="A model, or `all`."),
            _=Depends(require("admin"))) -> RetrainResponse:
    """Submits the model's retraining job to Dagster (`all`: the nightly job, features
    included). The challenger replaces the champion only if it wins on the same held-out
    data; the API picks the new champion up within `champion_poll_seconds`."""
    from dagster_graphql import DagsterGraphQLClient

    settings = request.app.state.settings
    job = "nightly_retraining" if model_name == "all" else f"retrain_{model_name}"
    client = DagsterGraphQLClient(settings.api_host, port_number=settings.dagster_port, timeout=10)
    try:
        run_id = client.submit_job_execution(job, tags={"innsight/requested_by": request.state.client})
    except Exception as e:  # GraphQL errors and transport errors alike: Dagster is not there
        raise Unavailable(f"Dagster at {settings.dagster_url} did not accept the {job} run: {e}. "
                          "Is the Dagster UI running (`make serve`)?") from None
    return RetrainResponse(model_name=model_name, job_name=job, run_id=run_id, status="submitted",
                           run_url=f"{settings.dagster_url}/runs/{run_id}")
