"""POST /pricing/optimize (a schedule on demand) and GET /pricing/current/{room_type}
(today's price from the 03:00 schedule in the lake)."""

from __future__ import annotations

import time
from datetime import date

import pandas as pd
from fastapi import APIRouter, Path, Query

from serving.core.errors import ErrorDetail, InvalidRequest, NotFound, Unavailable, error_responses
from serving.deps import Champions, MlReader, Prices, Properties, Record
from serving.schemas.ml_schemas import (PRICE_FIELDS, CurrentPriceResponse, HotelPrice,
                                        OptimizeRequest, OptimizeResponse)
from serving.services.champions import PRICING
from serving.services.hotel_lookup import resolve_hotel

router = APIRouter(tags=["ml: pricing"])


@router.post("/pricing/optimize", response_model=OptimizeResponse,
             responses=error_responses(401, 403, 422, 429, 503),
             summary="Suggested prices per date and room type (permission ml:read)")
def optimize(body: OptimizeRequest, _: MlReader, champions: Champions, properties: Properties,
             record_prediction: Record) -> OptimizeResponse:
    """Runs the champion pricing model (demand curve + business rules: floor, ceiling,
    maximum daily change, band around competitors) for the dates and room types asked."""
    started = time.perf_counter()
    champion = champions.get(PRICING)
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
    prediction_id = record_prediction(champion, "pricing/optimize", body.model_dump(mode="json"),
                                      {"prices": len(points)}, started)
    return OptimizeResponse(pricing_schedule=points, model_version=champion.version,
                            prediction_id=prediction_id)


@router.get("/pricing/current/{room_type}", response_model=CurrentPriceResponse,
            responses=error_responses(401, 403, 404, 422, 429, 503),
            summary="Today's suggested price of a room type (permission ml:read)")
async def current(_: MlReader, book: Prices, properties: Properties,
                  room_type: str = Path(min_length=1, max_length=8, examples=["A"]),
                  hotel: str | None = Query(None, max_length=64, description="Hotel code or name."),
                  on: date | None = Query(None, description="Another date of the schedule; default today."),
                  ) -> CurrentPriceResponse:
    """The price in effect for a room type: the 03:00 schedule's row for today (or `on`),
    per hotel, as upserted into the lake by the pricing_optimisation job."""
    if book.version is None:
        raise Unavailable("no price schedule in the lake yet: run the pricing_optimisation job "
                          "(or `make build`)")
    day = on or date.today()
    rows = book.rows.get((room_type, day))
    if rows is None:
        if room_type not in book.room_types():
            raise NotFound(f"unknown room type '{room_type}'; the schedule has {book.room_types()}")
        first, last = book.dates
        raise NotFound(f"no price for room type '{room_type}' on {day}: the schedule covers "
                       f"{first} to {last} (the 03:00 pricing_optimisation job extends it)")
    if hotel:
        wanted = resolve_hotel(properties, hotel)
        rows = [r for r in rows if r["hotel"] == wanted.name]
        if not rows:
            raise NotFound(f"hotel {wanted.code} has no room type '{room_type}'")
    prices = []
    for r in rows:
        h = properties.find(r["hotel"])
        prices.append(HotelPrice(**{k: r[k] for k in PRICE_FIELDS},
                                 hotel_code=h.code if h else r["hotel"], currency=h and h.currency))
    return CurrentPriceResponse(room_type=room_type, date=day, prices=prices)
