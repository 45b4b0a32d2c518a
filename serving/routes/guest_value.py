"""POST /clv/predict: a guest's value over the next 12 months."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Body

from ml.clv import HORIZON_MONTHS
from serving.core.error_docs import documented, error_responses, invalid
from serving.core.errors import Message, NotFound
from serving.deps import MlReader, ScoringDep
from serving.schemas.ml_schemas import ClvRequest, ClvResponse
from serving.schemas.request_examples import examples_for
from serving.services.champions import CLV, unavailable

router = APIRouter(tags=["ml: guest value"])

GUEST_NOT_IN_STORE = Message("guest '{guest_id}' is not in the online feature store (no booking "
                             "with this guest id in the lake yet)")


@router.post("/clv/predict", response_model=ClvResponse,
             responses=error_responses(
                 "ml:read",
                 documented(NotFound, GUEST_NOT_IN_STORE, "Unknown guest", guest_id="XX-0000"),
                 invalid(ClvRequest, {}, "No guest_id"),
                 unavailable(CLV)),
             summary="12-month value of a guest (permission ml:read)")
async def predict(body: Annotated[ClvRequest, Body(openapi_examples=examples_for(ClvRequest))],
                  _: MlReader, scoring: ScoringDep) -> ClvResponse:
    """The champion CLV model on the guest's online features (their history as of the
    latest build): predicted 12-month value, retention probability and segment."""
    started = time.perf_counter()
    champion = scoring.champions.get(CLV)
    record = scoring.features.record("clv", {"guest_id": body.guest_id})
    if record is None:
        raise NotFound(GUEST_NOT_IN_STORE.format(guest_id=body.guest_id))
    out = champion.model.predict_one(record)
    outputs = {"predicted_clv": out["predicted_value_12m"],
               "retention_probability": out["retention_probability"], "segment": out["segment"]}
    prediction_id = scoring.record(champion, "clv/predict",
                                   {"guest_id": body.guest_id, "features": record}, outputs, started)
    return ClvResponse(guest_id=body.guest_id, time_horizon_months=HORIZON_MONTHS, **outputs,
                       model_version=champion.version, prediction_id=prediction_id)
