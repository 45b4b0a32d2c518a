"""POST /churn/predict: cancellation risk of a booking (the seeds' path and field names)."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Body

from serving.core.error_docs import documented, error_responses, invalid
from serving.core.errors import Message, NotFound
from serving.deps import MlReader, ScoringDep
from serving.schemas.ml_schemas import ChurnRequest, ChurnResponse
from serving.schemas.request_examples import examples_for
from serving.services.champions import CANCELLATION, unavailable

router = APIRouter(tags=["ml: cancellation risk"])

BOOKING_NOT_IN_STORE = Message("booking '{booking_id}' is not in the online feature store; send "
                               "its fields in `features` to score a new booking")


@router.post("/churn/predict", response_model=ChurnResponse,
             responses=error_responses(
                 "ml:read",
                 documented(NotFound, BOOKING_NOT_IN_STORE, "Unknown booking", booking_id="XX-0000"),
                 invalid(ChurnRequest, {}, "Neither booking_id nor features"),
                 unavailable(CANCELLATION)),
             summary="Cancellation risk of a booking (permission ml:read)")
async def predict(body: Annotated[ChurnRequest, Body(openapi_examples=examples_for(ChurnRequest))],
                  _: MlReader, scoring: ScoringDep) -> ChurnResponse:
    """Scores a known booking from the online feature store by its id, or a new booking
    from its fields, with the champion cancellation model: probability, risk level, the
    booking fields that move it most, and actions for the front desk. `evaluation` says
    whether the model was checked on this hotel's own recent months (and why not)."""
    started = time.perf_counter()
    champion = scoring.champions.get(CANCELLATION)
    if body.features is not None:
        record, source = body.features.model_dump(), "request"
    else:
        record = scoring.features.record("cancellation", {"booking_id": body.booking_id})
        source = "online_store"
        if record is None:
            raise NotFound(BOOKING_NOT_IN_STORE.format(booking_id=body.booking_id))
    out = champion.model.predict_one(record)
    outputs = {"churn_probability": round(out["probability"], 4), "risk_level": out["risk_level"],
               "risk_factors": out["top_factors"], "recommended_actions": out["actions"]}
    prediction_id = scoring.record(
        champion, "churn/predict",
        {"booking_id": body.booking_id, "guest_id": body.guest_id, "features_from": source,
         "features": record}, outputs, started)
    return ChurnResponse(booking_id=body.booking_id, **outputs, features_from=source,
                         model_version=champion.version,
                         evaluation=champion.model.evaluation_for(record.get("hotel")),
                         prediction_id=prediction_id)
