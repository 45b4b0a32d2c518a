"""POST /forecast/occupancy | revenue | housekeeping_demand: daily values with intervals."""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Literal

import pandas as pd
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, create_model

from serving.auth import require
from serving.errors import ErrorDetail, InvalidRequest, error_responses
from serving.hotels import hotels
from serving.ml.common import champion, record_prediction, resolve_hotel

router = APIRouter(tags=["ml: forecasts"])

# target -> (response field, what it is)
TARGETS = {
    "occupancy": ("predicted_occupancy", "Share of rooms sold (0-1)."),
    "revenue": ("predicted_revenue", "Room revenue, in the hotel's currency."),
    "housekeeping_demand": ("predicted_rooms_to_clean", "Rooms to clean that day (departures "
                                                        "and stay-overs)."),
}


class ForecastRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"forecast_days": 30, "hotel": "all", "room_type": "all"},
        {"forecast_days": 14, "hotel": "CH", "start_date": "2017-08-25"}]})

    forecast_days: int = Field(30, ge=1, le=365)
    hotel: str = Field("all", description="Hotel code or name, or `all`.")
    room_type: Literal["all"] = Field("all", description="Forecasts are per hotel (all room types).")
    start_date: date | None = Field(None, description="Default: the day after each hotel's data ends.")


def _point_model(target: str) -> type[BaseModel]:
    field, doc = TARGETS[target]
    return create_model(
        f"{target.title().replace('_', '')}Forecast",
        date=(date, ...), hotel=(str, ...), hotel_code=(str, ...),
        **{field: (float, Field(description=doc))},
        lower_bound=(float, ...), upper_bound=(float, ...),
        confidence=(float, Field(description="Coverage of the [lower, upper] interval.")),
    )


def _response_model(target: str) -> type[BaseModel]:
    field, _ = TARGETS[target]
    example = {"date": "2017-08-25", "hotel": "City Hotel", "hotel_code": "CH", field: 0.78,
               "lower_bound": 0.70, "upper_bound": 0.85, "confidence": 0.8}
    return create_model(
        f"{target.title().replace('_', '')}ForecastResponse",
        __config__=ConfigDict(json_schema_extra={"examples": [{
            "target": target, "forecasts": [example], "model_version": "3",
            "prediction_id": "9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"}]}),
        target=(str, ...), forecasts=(list[_point_model(target)], ...), model_version=(str, ...),
        prediction_id=(str, ...),
    )


def _route(target: str):
    field, _ = TARGETS[target]
    response_model = _response_model(target)

    def forecast(body: ForecastRequest, request: Request, _=Depends(require("ml:read"))):
        started = time.perf_counter()
        model = champion(request, f"forecast_{target}")
        inner = model.model
        targets = hotels() if body.hotel.lower() == "all" else [resolve_hotel(body.hotel)]
        targets = [h for h in targets if h.name in inner.hotels]
        if not targets:
            raise InvalidRequest(f"no {target} forecast for hotel '{body.hotel}'; forecasts exist "
                                 f"for {inner.hotels}",
                                 [ErrorDetail(field="body.hotel", problem="no forecast model")])
        points = []
        for h in targets:
            start = body.start_date or date.fromisoformat(inner.trained_until[h.name]) + timedelta(days=1)
            fc = inner.predict(pd.DataFrame({"hotel": [h.name], "start_date": [str(start)],
                                             "horizon_days": [body.forecast_days]}))
            points += [{"date": r.date, "hotel": h.name, "hotel_code": h.code, field: round(r.value, 4),
                        "lower_bound": round(r.lower, 4), "upper_bound": round(r.upper, 4),
                        "confidence": inner.interval_width} for r in fc.itertuples()]
        prediction_id = record_prediction(request, model, f"forecast/{target}",
                                          body.model_dump(mode="json"), {"points": len(points)}, started)
        return {"target": target, "forecasts": points, "model_version": model.version,
                "prediction_id": prediction_id}

    forecast.__doc__ = (f"Daily {target.replace('_', ' ')} per hotel from the champion Prophet "
                        "model, with its prediction interval.")
    router.add_api_route(f"/forecast/{target}", forecast, methods=["POST"],
                         response_model=response_model, name=f"forecast_{target}",
                         responses=error_responses(401, 403, 422, 429, 503),
                         summary=f"{target.replace('_', ' ').capitalize()} forecast (permission ml:read)")


for _target in TARGETS:
    _route(_target)
