"""POST /churn/predict: cancellation risk of a booking."""

from __future__ import annotations

import time
from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from serving.auth import require
from serving.bookings import BookingFields
from serving.errors import NotFound, error_responses
from serving.ml.common import champion, online_record, record_prediction

router = APIRouter(tags=["ml: cancellation risk"])


class ChurnRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"booking_id": "CH-2f0c1d9e7a51-1"},
        {"booking_id": "WEB-20250117-0042", "features": BookingFields.model_config["json_schema_extra"]["examples"][0]},
    ]})

    booking_id: str | None = Field(None, min_length=1, max_length=64,
                                   description="A booking the online store knows needs nothing else.")
    guest_id: str | None = Field(None, max_length=64, description="Recorded with the prediction.")
    features: BookingFields | None = Field(
        None, description="A new booking's fields; when given, they are scored instead of the "
                          "online store's.")

    @model_validator(mode="after")
    def _something_to_score(self) -> "ChurnRequest":
        if self.booking_id is None and self.features is None:
            raise ValueError("give booking_id (a known booking) or features (a new booking)")
        return self


class RiskFactor(BaseModel):
    factor: str = Field(description="The booking field, e.g. deposit_type, lead_time, agent.")
    value: str | int | float | None = Field(description="Its value on this booking.")
    impact: float = Field(description="Change of the probability it causes (+ raises the risk).")


class ChurnResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "booking_id": "CH-2f0c1d9e7a51-1", "churn_probability": 0.35, "risk_level": "medium",
        "risk_factors": [{"factor": "lead_time", "value": 74, "impact": 0.15},
                         {"factor": "market_segment", "value": "Online TA", "impact": 0.08}],
        "recommended_actions": ["send_confirmation_email", "offer_flexible_dates"],
        "features_from": "online_store", "model_version": "3",
        "prediction_id": "9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"}]})

    booking_id: str | None
    churn_probability: float = Field(ge=0, le=1, description="Calibrated cancellation probability.")
    risk_level: Literal["low", "medium", "high"] = Field(description="low < 0.30 <= medium < 0.60 <= high")
    risk_factors: list[RiskFactor]
    recommended_actions: list[str]
    features_from: Literal["online_store", "request"]
    model_version: str
    prediction_id: str


@router.post("/churn/predict", response_model=ChurnResponse,
             responses=error_responses(401, 403, 404, 422, 429, 503),
             summary="Cancellation risk of a booking (permission ml:read)")
async def predict(body: ChurnRequest, request: Request, _=Depends(require("ml:read"))) -> ChurnResponse:
    """Scores a known booking from the online feature store by its id, or a new booking
    from its fields, with the champion cancellation model: probability, risk level, the
    booking fields that move it most, and actions for the front desk."""
    started = time.perf_counter()
    model = champion(request, "cancellation")
    if body.features is not None:
        record, source = body.features.model_dump(), "request"
    else:
        record, source = online_record(request, "cancellation", {"booking_id": body.booking_id}), "online_store"
        if record is None:
            raise NotFound(f"booking '{body.booking_id}' is not in the online feature store; "
                           "send its fields in `features` to score a new booking")
    out = model.model.predict_one(record)
    outputs = {"churn_probability": round(out["probability"], 4), "risk_level": out["risk_level"],
               "risk_factors": out["top_factors"], "recommended_actions": out["actions"]}
    prediction_id = record_prediction(
        request, model, "churn/predict",
        {"booking_id": body.booking_id, "guest_id": body.guest_id, "features_from": source,
         "features": record}, outputs, started)
    return ChurnResponse(booking_id=body.booking_id, **outputs, features_from=source,
                         model_version=model.version, prediction_id=prediction_id)
