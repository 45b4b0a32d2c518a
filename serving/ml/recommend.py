"""POST /recommend/services and /recommend/rooms."""

from __future__ import annotations

import json
import re
import time
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from serving.auth import require
from serving.bookings import Meal, MarketSegment
from serving.errors import ErrorDetail, InvalidRequest, NotFound, error_responses
from serving.ml.common import champion, online_record, record_prediction, resolve_hotel

router = APIRouter(tags=["ml: recommendations"])

Segment = Literal["business", "leisure", "corporate", "group"]


class ServiceContext(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_room: str | None = Field(None, max_length=16)
    check_in_date: date | None = None
    guest_segment: Segment | None = None
    hotel: str | None = Field(None, description="Hotel code or name of the stay.")
    nights: int | None = Field(None, ge=1, le=365)
    adults: int | None = Field(None, ge=1, le=60)
    children: int | None = Field(None, ge=0, le=20)
    meal: Meal | None = None
    market_segment: MarketSegment | None = None


class ServicesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "guest_id": "G00000020", "top_k": 5,
        "context": {"current_room": "201", "check_in_date": "2017-12-20", "guest_segment": "business"}}]})

    guest_id: str = Field(min_length=1, max_length=64)
    top_k: int = Field(5, ge=1, le=10)
    context: ServiceContext | None = Field(
        None, description="The stay; what is missing comes from the guest's usual stays. A guest "
                          "the lake does not know needs at least `guest_segment`.")


class ServiceRecommendation(BaseModel):
    service_id: str
    service_name: str
    category: str
    score: float = Field(description="Probability the guest takes it on this stay.")
    reason: str
    estimated_revenue: float | None = Field(description="Average charge of the service per stay "
                                                        "that had it, in the hotel's currency.")


class ServicesResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "guest_id": "G00000020", "recommendations": [{
            "service_id": "massage_60_min", "service_name": "Massage 60 min", "category": "spa",
            "score": 0.41, "reason": "popular with business guests", "estimated_revenue": 85.0}],
        "model_version": "2", "prediction_id": "9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"}]})

    guest_id: str
    recommendations: list[ServiceRecommendation]
    model_version: str
    prediction_id: str


def service_id(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


@router.post("/recommend/services", response_model=ServicesResponse,
             responses=error_responses(401, 403, 404, 422, 429, 503),
             summary="Services to offer a guest (permission ml:read)")
def services(body: ServicesRequest, request: Request, _=Depends(require("ml:read"))) -> ServicesResponse:
    """Ranks the hotel's services for a guest's stay from their past stays, segment and the
    stay's context; the list covers different needs rather than near-duplicates."""
    started = time.perf_counter()
    model = champion(request, "recommend_services")
    inner = model.model
    ctx = body.context or ServiceContext()
    known = body.guest_id in inner.profiles.index
    if not known and ctx.guest_segment is None:
        raise NotFound(f"guest '{body.guest_id}' has no stay in the lake; give "
                       "context.guest_segment to get recommendations for a new guest")
    row = {"guest_id": body.guest_id, "segment": ctx.guest_segment,
           "hotel": resolve_hotel(ctx.hotel, "context.hotel").name if ctx.hotel else None,
           "nights": ctx.nights, "adults": ctx.adults, "children": ctx.children,
           "meal": ctx.meal, "market_segment": ctx.market_segment}
    out = inner.predict(pd.DataFrame([row]), params={"top_k": body.top_k})
    amounts = getattr(inner, "serving_amounts", {})
    recs = [ServiceRecommendation(service_id=service_id(r["service"]), service_name=r["service"],
                                  category=r["category"], score=r["score"], reason=r["reason"],
                                  estimated_revenue=amounts.get(r["service"]))
            for r in json.loads(out["recommendations"].iat[0])]
    prediction_id = record_prediction(request, model, "recommend/services", body.model_dump(mode="json"),
                                      {"services": [r.service_id for r in recs]}, started)
    return ServicesResponse(guest_id=body.guest_id, recommendations=recs,
                            model_version=model.version, prediction_id=prediction_id)


class RoomPreferences(BaseModel):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{"budget": "high"}]})
    budget: Literal["low", "medium", "high"] | float | None = Field(
        None, description="Per night: a number in the hotel's currency, or low / medium / high "
                          "(thirds of the hotel's typical rates).")


class RoomsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "guest_id": "G00000020", "hotel": "HAN", "check_in": "2017-12-01", "check_out": "2017-12-03",
        "adults": 2, "children": 0, "preferences": {"budget": "high"}}]})

    hotel: str = Field(description="Hotel code or name.")
    check_in: date
    check_out: date
    adults: int = Field(2, ge=1, le=60)
    children: int = Field(0, ge=0, le=20)
    guest_id: str | None = Field(None, max_length=64, description="Known guests get their segment.")
    segment: Segment | None = None
    preferences: RoomPreferences | None = None
    top_k: int = Field(3, ge=1, le=10)

    @model_validator(mode="after")
    def _stay(self) -> "RoomsRequest":
        if self.check_out <= self.check_in:
            raise ValueError("check_out must be after check_in")
        return self


class RoomRecommendation(BaseModel):
    room_type: str
    score: float
    typical_rate: float | None
    reason: str


class RoomsResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "hotel": "Innsight Hanoi Old Quarter", "hotel_code": "HAN", "recommendations": [
            {"room_type": "D", "score": 0.52, "typical_rate": 95.0,
             "reason": "most often taken by similar requests (party of 2)"}],
        "unmet_preferences": ["view"], "model_version": "2",
        "prediction_id": "9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"}]})

    hotel: str
    hotel_code: str
    recommendations: list[RoomRecommendation]
    unmet_preferences: list[str] = Field(description="Preferences the model has no data for "
                                                     "(e.g. view); they did not affect the ranking.")
    model_version: str
    prediction_id: str


@router.post("/recommend/rooms", response_model=RoomsResponse,
             responses=error_responses(401, 403, 404, 422, 429, 503),
             summary="Room types for a stay request (permission ml:read)")
def rooms(body: RoomsRequest, request: Request, _=Depends(require("ml:read"))) -> RoomsResponse:
    """Ranks a hotel's room types for a party, stay length, season, segment and budget."""
    started = time.perf_counter()
    model = champion(request, "recommend_rooms")
    inner = model.model
    hotel = resolve_hotel(body.hotel)
    if hotel.name not in inner.hotel_types:
        raise InvalidRequest(f"no room data for {hotel.code} yet; hotels with rooms: "
                             f"{sorted(inner.hotel_types)}",
                             [ErrorDetail(field="body.hotel", problem="no room data")])
    segment = body.segment
    if body.guest_id and segment is None:
        profile = online_record(request, "clv", {"guest_id": body.guest_id})
        if profile is None:
            raise NotFound(f"guest '{body.guest_id}' is not in the online feature store; leave "
                           "guest_id out or give segment")
        segment = profile.get("segment")
    prefs = body.preferences or RoomPreferences()
    budget = prefs.budget
    if isinstance(budget, str):
        rates = sorted(r for (h, _), r in inner.typical_rate.items() if h == hotel.name and r)
        budget = float(np.quantile(rates, {"low": 1 / 3, "medium": 2 / 3, "high": 1.0}[budget])) if rates else None
    row = {"hotel": hotel.name, "adults": body.adults, "children": body.children,
           "nights": (body.check_out - body.check_in).days, "segment": segment,
           "arrival_month": body.check_in.month, "budget": budget}
    out = inner.predict(pd.DataFrame([row]), params={"top_k": body.top_k})
    recs = [RoomRecommendation(**r) for r in json.loads(out["recommendations"].iat[0])]
    prediction_id = record_prediction(request, model, "recommend/rooms", body.model_dump(mode="json"),
                                      {"room_types": [r.room_type for r in recs]}, started)
    return RoomsResponse(hotel=hotel.name, hotel_code=hotel.code, recommendations=recs,
                         unmet_preferences=sorted(set(prefs.model_dump(exclude_none=True)) - {"budget"}),
                         model_version=model.version, prediction_id=prediction_id)
