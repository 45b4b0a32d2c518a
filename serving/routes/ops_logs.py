"""POST /api/v1/ops/logs (a batch of service log records into the lake table
ops/service_logs) and GET /api/v1/ops/logs (read back by service, level and time)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request
from pydantic import AwareDatetime

from serving.core.error_docs import error_responses, invalid
from serving.deps import OpsReader, OpsWriter, ServiceLogsDep
from serving.schemas.ops_schemas import (Level, LogBatch, LogBatchResponse, LogQueryResponse,
                                         ServiceLogOut, ServiceName)
from serving.schemas.request_examples import examples_for

router = APIRouter(prefix="/api/v1/ops", tags=["ops: service logs"])


@router.post("/logs", response_model=LogBatchResponse, status_code=201,
             summary="Post service logs (permission ops:write)",
             responses=error_responses("ops:write", invalid(LogBatch, {"records": []}, "No records")))
def post_logs(body: Annotated[LogBatch, Body(openapi_examples=examples_for(LogBatch))],
              _: OpsWriter, logs: ServiceLogsDep, request: Request) -> LogBatchResponse:
    """Appends the batch to the lake table `ops/service_logs` in one commit (partitioned by
    day), with the time received and the caller; a record without `logged_at` is stamped
    with the time received. The log monitor (`/api/v1/llm/monitoring/analyze` sent no logs)
    reads them from there."""
    ids = logs.append([r.model_dump() for r in body.records], getattr(request.state, "client", None))
    return LogBatchResponse(accepted=len(ids), log_ids=ids, table="ops/service_logs")


@router.get("/logs", response_model=LogQueryResponse,
            summary="Read service logs (permission ops:read)",
            responses=error_responses("ops:read"))
def read_logs(_: OpsReader, logs: ServiceLogsDep,
              service: Annotated[ServiceName | None, Query(description="Only this service's.")] = None,
              level: Annotated[Level | None, Query(description="This level or above (warning: "
                                                                "warning, error, critical, fatal).")] = None,
              since: Annotated[AwareDatetime | None, Query(description="Logged at or after (with its time zone).")] = None,
              until: Annotated[AwareDatetime | None, Query(description="Logged before (with its time zone).")] = None,
              limit: Annotated[int, Query(ge=1, le=5_000)] = 100) -> LogQueryResponse:
    """The records of `ops/service_logs` that match, newest first (by `logged_at`)."""
    records = [ServiceLogOut(**r) for r in logs.query(service, level, since, until, limit)]
    return LogQueryResponse(records=records, count=len(records), limit=limit)
