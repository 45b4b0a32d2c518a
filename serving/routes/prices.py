"""POST /pricing/optimize (a schedule on demand) and GET /pricing/current/{room_type}
(today's price from the 03:00 schedule in the lake)."""

from __future__ import annotations

import time
from datetime import date
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Body, Path, Query

from serving.core.error_docs import documented, error_responses, invalid
from serving.core.errors import ErrorDetail, InvalidRequest, Message, NotFound, Unavailable
from serving.deps import MlReader, Prices, Properties, ScoringDep
from serving.schemas.ml_schemas import (PRICE_FIELDS, CurrentPriceResponse, HotelPrice,
                                        OptimizeRequest, OptimizeResponse)
from serving.schemas.request_examples import examples_for
from serving.services.champions import PRICING, unavailable
from serving.services.hotel_lookup import resolve_hotel

router = APIRouter(tags=["ml: pricing"])

# The room type of the path: declared once, for the route and for its documented 422.
RoomTypeInPath = Annotated[str, Path(min_length=1, max_length=8, description="A room type code.")]
NO_SCHEDULE = Message("no price schedule in the lake yet: run the pricing_optimisation job "
                      "(or `make build`)")
UNKNOWN_ROOM_TYPE = Message("unknown room type '{room_type}'; the schedule has {room_types}")
NOT_SCHEDULED = Message("no price for room type '{room_type}' on {day}: the schedule covers "
                        "{first} to {last} (the 03:00 pricing_optimisation job extends it)")
NOT_AT_HOTEL = Message("hotel {hotel} has no room type '{room_type}'")


@router.post("/pricing/optimize", response_model=OptimizeResponse,
             responses=error_responses("ml:read", invalid(OptimizeRequest, {}, "No date_range"),
                                       unavailable(PRICING)),
             summary="Suggested prices per date and room type (permission ml:read)")
def optimize(body: Annotated[OptimizeRequest, Body(openapi_examples=examples_for(OptimizeRequest))],
             _: MlReader, scoring: ScoringDep, properties: Properties) -> OptimizeResponse:
    """Runs the champion pricing model (demand curve + business rules: floor, ceiling,
    maximum daily change, band around competitors) for the dates and room types asked."""
    started = time.perf_counter()
    champion = scoring.champions.get(PRICING)
    model = champion.model
    targets = [resolve_hotel(properties, body.hotel)] if body.hotel else properties.hotels
    days = (body.date_range.end - body.date_range.start).days + 1
    parts, asked = [], set(body.room_types or [])
    for hotel in targets:
        chosen = [t for t in model.room_types(hotel.name) if not asked or t in asked]
        if chosen:
            parts.append(model.optimise(hotel.name, body.date_range.start, days, chosen)
                         .assign(hotel_code=hotel.code, currency=hotel.currency))
    if not parts:
        known = sorted({t for h in model.hotels() for t in model.room_types(h)})
        raise InvalidRequest(f"no hotel asked has room types {sorted(asked)}; known: {known}",
                             [ErrorDetail(field="body.room_types", problem=f"unknown; one of {known}")])
    schedule = pd.concat(parts, ignore_index=True)
    points = schedule.to_dict("records")
    prediction_id = scoring.record(champion, "pricing/optimize", body.model_dump(mode="json"),
                                   {"prices": len(points)}, started)
    return OptimizeResponse(pricing_schedule=points, model_version=champion.version,
                            prediction_id=prediction_id)


@router.get("/pricing/current/{room_type}", response_model=CurrentPriceResponse,
            responses=error_responses(
                "ml:read",
                documented(NotFound, UNKNOWN_ROOM_TYPE, "Unknown room type", room_type="XX",
                           room_types=["A", "B"]),
                invalid(RoomTypeInPath, "ROOM-TYPE-X", "Room type too long", where=("path", "room_type")),
                documented(Unavailable, NO_SCHEDULE, "No price schedule yet")),
            summary="Today's suggested price of a room type (permission ml:read)")
async def current(_: MlReader, book: Prices, properties: Properties,
                  room_type: RoomTypeInPath,
                  hotel: str | None = Query(None, max_length=64, description="Hotel code or name."),
                  on: date | None = Query(None, description="Another date of the schedule; default today."),
                  ) -> CurrentPriceResponse:
    """The price in effect for a room type: the 03:00 schedule's row for today (or `on`),
    per hotel, as upserted into the lake by the pricing_optimisation job."""
    if book.version is None:
        raise Unavailable(NO_SCHEDULE)
    day = on or date.today()
    rows = book.rows.get((room_type, day))
    if rows is None:
        if room_type not in book.room_types():
            raise NotFound(UNKNOWN_ROOM_TYPE.format(room_type=room_type, room_types=book.room_types()))
        first, last = book.dates
        raise NotFound(NOT_SCHEDULED.format(room_type=room_type, day=day, first=first, last=last))
    if hotel:
        wanted = resolve_hotel(properties, hotel)
        rows = [r for r in rows if r["hotel"] == wanted.name]
        if not rows:
            raise NotFound(NOT_AT_HOTEL.format(hotel=wanted.code, room_type=room_type))
    prices = []
    for r in rows:
        h = properties.find(r["hotel"])
        prices.append(HotelPrice(**{k: r[k] for k in PRICE_FIELDS},
                                 hotel_code=h.code if h else r["hotel"], currency=h and h.currency))
    return CurrentPriceResponse(room_type=room_type, date=day, prices=prices)
