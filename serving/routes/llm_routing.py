"""POST /api/v1/llm/routing/classify: a guest message -> category, priority, team and the
structured request; the request becomes a row of the lake table language/guest_requests
for the workflows."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Body

from base.logging import correlation_id
from serving.core.error_docs import error_responses, invalid
from serving.deps import LanguageDep, LlmUser, MetricsDep
from serving.schemas.llm_schemas import RoutingRequest, RoutingResponse
from serving.schemas.request_examples import examples_for

router = APIRouter(tags=["llm: routing"])


@router.post("/routing/classify", response_model=RoutingResponse,
             responses=error_responses("llm:query", invalid(RoutingRequest, {}, "No request")),
             summary="Route a guest message to a team (permission llm:query)")
def classify(body: Annotated[RoutingRequest, Body(openapi_examples=examples_for(RoutingRequest))],
             principal: LlmUser, language: LanguageDep, metrics: MetricsDep) -> RoutingResponse:
    """Category (housekeeping, maintenance, front desk, concierge, food & beverage, billing,
    complaint, emergency), priority, team and the structured request (type, room number,
    items, quantity, urgency) of a message in Vietnamese, English or both, with or without
    diacritics. Below the confidence threshold `needs_human` is true: a person reads it
    before any workflow acts. The request is stored (lake table language/guest_requests)
    with its `request_id`; an emergency is always urgent."""
    started = time.perf_counter()
    req = body.request
    routed = language.route(req.message)
    if req.room_number:  # the channel knows the guest's room better than the text does
        routed["request"]["room_number"] = req.room_number
    request_id = language.record_request(
        req.message, routed, guest_id=req.guest_id, hotel=req.hotel, channel=req.channel,
        received_at=req.timestamp, requested_by=principal.subject, correlation_id=correlation_id.get())
    metrics.llm_routed.labels(routed["category"], str(routed["needs_human"]).lower()).inc()
    metrics.llm_latency.labels("routing").observe(time.perf_counter() - started)
    r = routed["request"]
    return RoutingResponse(
        request_id=request_id, category=routed["category"], priority=routed["priority"],
        assigned_to=f"{routed['team']}_team",
        structured_request={"type": r["type"], "room_number": r["room_number"], "items": r["items"],
                            "quantity": r["quantity"], "urgency": r["urgency"]},
        confidence=routed["confidence"], needs_human=routed["needs_human"], reason=routed["reason"],
        language=routed["language"],
        workflow_id=("guest_request.needs_human" if routed["needs_human"]
                     else f"guest_request.{routed['category']}"),
        routed_by=routed["routed_by"])
