"""POST /clv/predict: a guest's value over the next 12 months."""

from __future__ import annotations

import time

from fastapi import APIRouter

from ml.clv import HORIZON_MONTHS
from serving.core.errors import NotFound, error_responses
from serving.deps import Champions, Features, MlReader, Record
from serving.schemas.ml_schemas import ClvRequest, ClvResponse
from serving.services.champions import CLV

router = APIRouter(tags=["ml: guest value"])


@router.post("/clv/predict", response_model=ClvResponse,
             responses=error_responses(401, 403, 404, 422, 429, 503),
             summary="12-month value of a guest (permission ml:read)")
async def predict(body: ClvRequest, _: MlReader, champions: Champions, features: Features,
                  record_prediction: Record) -> ClvResponse:
    """The champion CLV model on the guest's online features (their history as of the
    latest build): predicted 12-month value, retention probability and segment."""
    started = time.perf_counter()
    champion = champions.get(CLV)
    record = features.record("clv", {"guest_id": body.guest_id})
    if record is None:
        raise NotFound(f"guest '{body.guest_id}' is not in the online feature store (no booking "
                       "with this guest id in the lake yet)")
    out = champion.model.predict_one(record)
    outputs = {"predicted_clv": out["predicted_value_12m"],
               "retention_probability": out["retention_probability"], "segment": out["segment"]}
    prediction_id = record_prediction(champion, "clv/predict",
                                      {"guest_id": body.guest_id, "features": record}, outputs, started)
    return ClvResponse(guest_id=body.guest_id, time_horizon_months=HORIZON_MONTHS, **outputs,
                       model_version=champion.version, prediction_id=prediction_id)
