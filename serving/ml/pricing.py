"""POST /pricing/optimize (a schedule on demand) and GET /pricing/current/{room_type}
(today's price from the 03:00 schedule in the lake)."""

from __future__ import annotations

import threading
import time
from datetime import date, datetime

import pandas as pd
from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from lake import delta_tables
from ml.dynamic_pricing import optimise
from serving.auth import require
from serving.errors import ErrorDetail, InvalidRequest, NotFound, Unavailable, error_responses
from serving.hotels import find_hotel, hotels
from serving.ml.common import champion, record_prediction, resolve_hotel

router = APIRouter(tags=["ml: pricing"])

MAX_DAYS = 92
EXAMPLE_PRICE = {"date": "2026-12-01", "hotel": "City Hotel", "hotel_code": "CH", "room_type": "A",
                 "suggested_price": 112.4, "current_price": 104.0, "expected_occupancy": 0.85,
                 "competitor_avg": 109.0, "confidence": 0.82, "currency": "EUR"}


class DateRange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: date
    end: date


class OptimizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "date_range": {"start": "2026-12-01", "end": "2026-12-14"}, "room_types": ["A", "D"],
        "hotel": "CH"}]})

    date_range: DateRange
    room_types: list[str] | None = Field(None, max_length=20,
                                         description="Room type codes; default: all of each hotel's.")
    hotel: str | None = Field(None, description="Hotel code or name; default: every hotel.")

    @model_validator(mode="after")
    def _range(self) -> "OptimizeRequest":
        days = (self.date_range.end - self.date_range.start).days + 1
        if days < 1:
            raise ValueError("date_range.end is before date_range.start")
        if days > MAX_DAYS:
            raise ValueError(f"date_range spans {days} days; at most {MAX_DAYS} per request")
        return self


class PricePoint(BaseModel):
    date: date
    hotel: str
    hotel_code: str
    room_type: str
    suggested_price: float
    current_price: float = Field(description="The rate the hotel charges now for that night.")
    expected_occupancy: float = Field(ge=0, le=1, description="At the suggested price.")
    competitor_avg: float = Field(description="Simulated: no competitor feed is connected yet.")
    confidence: float = Field(ge=0, le=1)
    currency: str | None


class OptimizeResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "pricing_schedule": [EXAMPLE_PRICE], "model_version": "4",
        "prediction_id": "9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"}]})

    pricing_schedule: list[PricePoint]
    model_version: str
    prediction_id: str


@router.post("/pricing/optimize", response_model=OptimizeResponse,
             responses=error_responses(401, 403, 422, 429, 503),
             summary="Suggested prices per date and room type (permission ml:read)")
def optimize(body: OptimizeRequest, request: Request, _=Depends(require("ml:read"))) -> OptimizeResponse:
    """Runs the champion pricing model (demand curve + business rules: floor, ceiling,
    maximum daily change, band around competitors) for the dates and room types asked."""
    started = time.perf_counter()
    model = champion(request, "pricing")
    inventory = model.model.tables["inventory"]
    targets = [resolve_hotel(body.hotel)] if body.hotel else hotels()
    days = (body.date_range.end - body.date_range.start).days + 1
    parts, asked = [], set(body.room_types or [])
    for hotel in targets:
        types = sorted(inventory.loc[inventory["hotel"] == hotel.name, "room_type"])
        chosen = [t for t in types if not asked or t in asked]
        if chosen:
            parts.append(optimise(model.model, hotel.name, body.date_range.start, days, chosen)
                         .assign(hotel_code=hotel.code, currency=hotel.currency))
    if not parts:
        known = sorted(set(inventory["room_type"]))
        raise InvalidRequest(f"no hotel asked has room types {sorted(asked)}; known: {known}",
                             [ErrorDetail(field="body.room_types", problem=f"unknown; one of {known}")])
    schedule = pd.concat(parts, ignore_index=True)
    points = schedule.to_dict("records")
    prediction_id = record_prediction(request, model, "pricing/optimize", body.model_dump(mode="json"),
                                      {"prices": len(points)}, started)
    return OptimizeResponse(pricing_schedule=points, model_version=model.version,
                            prediction_id=prediction_id)


class PriceBook:
    """The lake's price schedule in memory, indexed by (room type, date); re-read when the
    Delta table has a new version (checked at most every `check_seconds`)."""

    def __init__(self, uri: str, check_seconds: float = 30.0):
        self.uri, self.check_seconds = uri, check_seconds
        self.version: int | None = None
        self.rows: dict[tuple[str, date], list[dict]] = {}
        self.dates: tuple[date, date] | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def current(self) -> "PriceBook":
        if time.monotonic() - self._checked > self.check_seconds:
            with self._lock:
                if time.monotonic() - self._checked > self.check_seconds:
                    self._reload()
        return self

    def _reload(self) -> None:
        version = delta_tables.version(self.uri)
        self._checked = time.monotonic()
        if version is None or version == self.version:
            return
        frame = delta_tables.read(self.uri)
        rows: dict[tuple[str, date], list[dict]] = {}
        for r in frame.sort(["room_type", "date", "hotel"]).iter_rows(named=True):
            rows.setdefault((r["room_type"], r["date"]), []).append(r)
        self.rows, self.version = rows, version
        self.dates = (frame["date"].min(), frame["date"].max()) if frame.height else None


PRICE_FIELDS = ("hotel", "suggested_price", "current_price", "expected_occupancy",
                "competitor_avg", "confidence", "model_version", "generated_at")


class HotelPrice(BaseModel):
    hotel: str
    hotel_code: str
    suggested_price: float
    current_price: float
    expected_occupancy: float
    competitor_avg: float
    confidence: float
    currency: str | None
    model_version: str
    generated_at: datetime


class CurrentPriceResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "room_type": "A", "date": "2026-11-22",
        "prices": [{k: v for k, v in EXAMPLE_PRICE.items() if k not in ("date", "room_type")}
                   | {"model_version": "4", "generated_at": "2026-11-22T03:00:12Z"}]}]})

    room_type: str
    date: date
    prices: list[HotelPrice] = Field(description="One per hotel that has the room type.")


@router.get("/pricing/current/{room_type}", response_model=CurrentPriceResponse,
            responses=error_responses(401, 403, 404, 422, 429, 503),
            summary="Today's suggested price of a room type (permission ml:read)")
async def current(request: Request,
                  room_type: str = Path(min_length=1, max_length=8, examples=["A"]),
                  hotel: str | None = Query(None, max_length=64, description="Hotel code or name."),
                  on: date | None = Query(None, description="Another date of the schedule; default today."),
                  _=Depends(require("ml:read"))) -> CurrentPriceResponse:
    """The price in effect for a room type: the 03:00 schedule's row for today (or `on`),
    per hotel, as upserted into the lake by the pricing_optimisation job."""
    book = request.app.state.price_book.current()
    if book.version is None:
        raise Unavailable("no price schedule in the lake yet: run the pricing_optimisation job "
                          "(or `make build`)")
    day = on or date.today()
    rows = book.rows.get((room_type, day))
    if rows is None:
        if not any(key[0] == room_type for key in book.rows):
            known = sorted({key[0] for key in book.rows})
            raise NotFound(f"unknown room type '{room_type}'; the schedule has {known}")
        first, last = book.dates
        raise NotFound(f"no price for room type '{room_type}' on {day}: the schedule covers "
                       f"{first} to {last} (the 03:00 pricing_optimisation job extends it)")
    if hotel:
        wanted = resolve_hotel(hotel, field="hotel")
        rows = [r for r in rows if r["hotel"] == wanted.name]
        if not rows:
            raise NotFound(f"hotel {wanted.code} has no room type '{room_type}'")
    prices = []
    for r in rows:
        h = find_hotel(r["hotel"])
        prices.append(HotelPrice(**{k: r[k] for k in PRICE_FIELDS},
                                 hotel_code=h.code if h else r["hotel"], currency=h and h.currency))
    return CurrentPriceResponse(room_type=room_type, date=day, prices=prices)

