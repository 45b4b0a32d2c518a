"""GET /api/v1/llm/health (embedder, knowledge base, router, LLM reachable or not; no auth)
and GET /api/v1/llm/metrics (the language families of the Prometheus metrics)."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from serving.core.error_docs import error_responses
from serving.deps import LanguageDep, MetricsDep, MetricsReader
from serving.schemas.llm_schemas import LlmHealth

router = APIRouter(tags=["health"])


@router.get("/health", response_model=LlmHealth,
            responses={503: {"model": LlmHealth, "description": "The knowledge base is not built "
                             "or the router not loaded: each says why."}},
            summary="The language models and stores, and whether the LLM answers (no auth)")
def health(language: LanguageDep) -> LlmHealth | JSONResponse:
    """An LLM that does not answer degrades nothing but the polish of messages and the
    assistant's LLM mode (it answers deterministically): it is reported, not a 503."""
    parts = language.status()
    ok = parts["knowledge_base"]["built"] and parts["router"]["loaded"]
    body = LlmHealth(status="ok" if ok else "degraded", checked_at=datetime.now(timezone.utc), **parts)
    if ok:
        return body
    return JSONResponse(body.model_dump(mode="json"), status.HTTP_503_SERVICE_UNAVAILABLE)


@router.get("/metrics", summary="Prometheus metrics of the language service (permission metrics:read)",
            response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text "
                             "format."}, **error_responses("metrics:read")})
def metrics(_: MetricsReader, metrics: MetricsDep) -> Response:
    """Assistant answers by mode and outcome, tool calls, routed requests by category and
    hand-over, and the time per operation."""
    text = metrics.exposition().decode()
    keep = [line for line in text.splitlines()
            if line.split(" ")[0 if not line.startswith("#") else 2].startswith("innsight_llm")]
    return Response("\n".join(keep) + "\n", media_type=CONTENT_TYPE_LATEST)
