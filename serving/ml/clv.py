"""POST /clv/predict: a guest's value over the next 12 months."""

from __future__ import annotations

import time
from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from ml.clv import HORIZON_MONTHS
from serving.auth import require
from serving.errors import NotFound, error_responses
from serving.ml.common import champion, online_record, record_prediction

router = APIRouter(tags=["ml: guest value"])


class ClvRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"guest_id": "G0001234"}]})

    guest_id: str = Field(min_length=1, max_length=64)


class ClvResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "guest_id": "G0001234", "predicted_clv": 1830.5, "time_horizon_months": 12,
        "segment": "loyal", "retention_probability": 0.82, "model_version": "2",
        "prediction_id": "9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"}]})

    guest_id: str
    predicted_clv: float = Field(description="Room revenue plus extras expected over the horizon, "
                                             "in the properties' currency.")
    time_horizon_months: int
    segment: Literal["champion", "loyal", "promising", "at_risk", "dormant"]
    retention_probability: float = Field(ge=0, le=1, description="Probability of another stay "
                                                                 "within the horizon.")
    model_version: str
    prediction_id: str


@router.post("/clv/predict", response_model=ClvResponse,
             responses=error_responses(401, 403, 404, 422, 429, 503),
             summary="12-month value of a guest (permission ml:read)")
async def predict(body: ClvRequest, request: Request, _=Depends(require("ml:read"))) -> ClvResponse:
    """The champion CLV model on the guest's online features (their history as of the
    latest build): predicted 12-month value, retention probability and segment."""
    started = time.perf_counter()
    model = champion(request, "clv")
    record = online_record(request, "clv", {"guest_id": body.guest_id})
    if record is None:
        raise NotFound(f"guest '{body.guest_id}' is not in the online feature store (no booking "
                       "with this guest id in the lake yet)")
    out = model.model.predict_one(record)
    outputs = {"predicted_clv": out["predicted_value_12m"],
               "retention_probability": out["retention_probability"], "segment": out["segment"]}
    prediction_id = record_prediction(request, model, "clv/predict",
                                      {"guest_id": body.guest_id, "features": record}, outputs, started)
    return ClvResponse(guest_id=body.guest_id, time_horizon_months=HORIZON_MONTHS, **outputs,
                       model_version=model.version, prediction_id=prediction_id)
