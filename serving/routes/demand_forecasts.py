"""POST /forecast/occupancy | revenue | housekeeping_demand: daily values with intervals."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Body

from serving.core.error_docs import error_responses, invalid
from serving.core.errors import ErrorDetail, InvalidRequest
from serving.deps import MlReader, Properties, ScoringDep
from serving.schemas.ml_schemas import TARGETS, ForecastRequest, forecast_response_model
from serving.schemas.request_examples import examples_for
from serving.services.champions import FORECASTS, unavailable
from serving.services.hotel_lookup import resolve_hotel

router = APIRouter(tags=["ml: forecasts"])


def _route(target: str):
    field, _ = TARGETS[target]
    served = FORECASTS[target]

    def forecast(body: Annotated[ForecastRequest, Body(openapi_examples=examples_for(ForecastRequest))],
                 _: MlReader, scoring: ScoringDep, properties: Properties):
        started = time.perf_counter()
        champion = scoring.champions.get(served)
        model = champion.model
        targets = (properties.hotels if body.hotel.lower() == "all"
                   else [resolve_hotel(properties, body.hotel)])
        targets = [h for h in targets if h.name in model.hotels]
        if not targets:
            raise InvalidRequest(f"no {target} forecast for hotel '{body.hotel}'; forecasts exist "
                                 f"for {model.hotels}",
                                 [ErrorDetail(field="body.hotel", problem="no forecast model")])
        points = []
        for h in targets:
            fc = model.forecast(h.name, body.start_date, body.forecast_days)
            points += [{"date": r.date, "hotel": h.name, "hotel_code": h.code, field: round(r.value, 4),
                        "lower_bound": round(r.lower, 4), "upper_bound": round(r.upper, 4),
                        "confidence": model.interval_width} for r in fc.itertuples()]
        prediction_id = scoring.record(champion, f"forecast/{target}",
                                       body.model_dump(mode="json"), {"points": len(points)}, started)
        return {"target": target, "forecasts": points, "model_version": champion.version,
                "prediction_id": prediction_id}

    forecast.__doc__ = (f"Daily {target.replace('_', ' ')} per hotel from the champion Prophet "
                        "model, with its prediction interval.")
    router.add_api_route(f"/forecast/{target}", forecast, methods=["POST"],
                         response_model=forecast_response_model(target), name=f"forecast_{target}",
                         responses=error_responses(
                             "ml:read", invalid(ForecastRequest, {"forecast_days": 0}, "No days"),
                             unavailable(served)),
                         summary=f"{target.replace('_', ' ').capitalize()} forecast (permission ml:read)")


for _target in TARGETS:
    _route(_target)
