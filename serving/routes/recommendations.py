"""POST /recommend/services and /recommend/rooms."""

from __future__ import annotations

import re
import time
from typing import Annotated

from fastapi import APIRouter, Body

from serving.core.error_docs import documented, error_responses, invalid
from serving.core.errors import ErrorDetail, InvalidRequest, Message, NotFound
from serving.deps import MlReader, Properties, ScoringDep
from serving.schemas.ml_schemas import (RoomPreferences, RoomRecommendation, RoomsRequest,
                                        RoomsResponse, ServiceContext, ServiceRecommendation,
                                        ServicesRequest, ServicesResponse)
from serving.schemas.request_examples import examples_for
from serving.services.champions import ROOMS, SERVICES, unavailable
from serving.services.hotel_lookup import resolve_hotel

router = APIRouter(tags=["ml: recommendations"])

GUEST_WITHOUT_STAY = Message("guest '{guest_id}' has no stay in the lake; give "
                             "context.guest_segment to get recommendations for a new guest")
GUEST_NOT_IN_STORE = Message("guest '{guest_id}' is not in the online feature store; leave "
                             "guest_id out or give segment")


def service_id(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


@router.post("/recommend/services", response_model=ServicesResponse,
             responses=error_responses(
                 "ml:read",
                 documented(NotFound, GUEST_WITHOUT_STAY, "Unknown guest, no segment",
                            guest_id="XX-0000"),
                 invalid(ServicesRequest, {}, "No guest_id"),
                 unavailable(SERVICES)),
             summary="Services to offer a guest (permission ml:read)")
def services(body: Annotated[ServicesRequest, Body(openapi_examples=examples_for(ServicesRequest))],
             _: MlReader, scoring: ScoringDep, properties: Properties) -> ServicesResponse:
    """Ranks the hotel's services for a guest's stay from their past stays, segment and the
    stay's context; the list covers different needs rather than near-duplicates."""
    started = time.perf_counter()
    champion = scoring.champions.get(SERVICES)
    model = champion.model
    ctx = body.context or ServiceContext()
    if not model.knows(body.guest_id) and ctx.guest_segment is None:
        raise NotFound(GUEST_WITHOUT_STAY.format(guest_id=body.guest_id))
    stay = {"guest_id": body.guest_id, "segment": ctx.guest_segment,
            "hotel": resolve_hotel(properties, ctx.hotel, "body.context.hotel").name if ctx.hotel else None,
            "nights": ctx.nights, "adults": ctx.adults, "children": ctx.children,
            "meal": ctx.meal, "market_segment": ctx.market_segment}
    recs = [ServiceRecommendation(service_id=service_id(r["service"]), service_name=r["service"],
                                  category=r["category"], score=r["score"], reason=r["reason"],
                                  estimated_revenue=model.average_charge(r["service"]))
            for r in model.recommend(stay, body.top_k)]
    prediction_id = scoring.record(champion, "recommend/services", body.model_dump(mode="json"),
                                   {"services": [r.service_id for r in recs]}, started)
    return ServicesResponse(guest_id=body.guest_id, recommendations=recs,
                            model_version=champion.version, prediction_id=prediction_id)


@router.post("/recommend/rooms", response_model=RoomsResponse,
             responses=error_responses(
                 "ml:read",
                 documented(NotFound, GUEST_NOT_IN_STORE, "Unknown guest", guest_id="XX-0000"),
                 invalid(RoomsRequest, {}, "No hotel or dates"),
                 unavailable(ROOMS)),
             summary="Room types for a stay request (permission ml:read)")
def rooms(body: Annotated[RoomsRequest, Body(openapi_examples=examples_for(RoomsRequest))],
          _: MlReader, scoring: ScoringDep, properties: Properties) -> RoomsResponse:
    """Ranks a hotel's room types for a party, stay length, season, segment and budget."""
    started = time.perf_counter()
    champion = scoring.champions.get(ROOMS)
    model = champion.model
    hotel = resolve_hotel(properties, body.hotel)
    if hotel.name not in model.hotels():
        raise InvalidRequest(f"no room data for {hotel.code} yet; hotels with rooms: "
                             f"{model.hotels()}",
                             [ErrorDetail(field="body.hotel", problem="no room data")])
    segment = body.segment
    if body.guest_id and segment is None:
        profile = scoring.features.record("clv", {"guest_id": body.guest_id})
        if profile is None:
            raise NotFound(GUEST_NOT_IN_STORE.format(guest_id=body.guest_id))
        segment = profile.get("segment")
    prefs = body.preferences or RoomPreferences()
    budget = prefs.budget
    if isinstance(budget, str):
        budget = model.budget_band(hotel.name, budget)
    stay = {"hotel": hotel.name, "adults": body.adults, "children": body.children,
            "nights": (body.check_out - body.check_in).days, "segment": segment,
            "arrival_month": body.check_in.month, "budget": budget}
    recs = [RoomRecommendation(**r) for r in model.recommend(stay, body.top_k)]
    prediction_id = scoring.record(champion, "recommend/rooms", body.model_dump(mode="json"),
                                   {"room_types": [r.room_type for r in recs]}, started)
    return RoomsResponse(hotel=hotel.name, hotel_code=hotel.code, recommendations=recs,
                         unmet_preferences=sorted(set(prefs.model_dump(exclude_none=True)) - {"budget"}),
                         model_version=champion.version, prediction_id=prediction_id)
