"""What every ML route needs: its champion, online features, hotels by code or name, and
recording the prediction (lake log + metrics)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import Request

from serving.champions import Champion
from serving.errors import ErrorDetail, InvalidRequest, Unavailable
from serving.hotels import Hotel, find_hotel, known_hotels
from serving.observability import correlation_id


def champion(request: Request, name: str) -> Champion:
    return request.app.state.champions.get(name)


def online_record(request: Request, service: str, entity: dict[str, Any]) -> dict[str, Any] | None:
    """The online features of one entity as a dict; None when the store does not know it."""
    from features.store import online_features

    try:
        values = online_features(service, [entity], settings=request.app.state.settings)
    except Exception as e:  # store not built / unreachable: say so, do not guess
        raise Unavailable(f"the online feature store cannot serve '{service}': {e}. "
                          "Build it with `make build` (features/online_store asset).") from e
    record = {k: v[0] for k, v in values.items()}
    known = [v for k, v in record.items() if k not in entity and v is not None]
    return record if known else None


def resolve_hotel(value: str, field: str = "hotel") -> Hotel:
    """A hotel by code ("RH") or name ("Resort Hotel"); 422 naming the field otherwise."""
    hotel = find_hotel(value)
    if hotel is None:
        known = known_hotels()
        raise InvalidRequest(f"unknown hotel '{value}'; known hotels: {known}",
                             [ErrorDetail(field=f"body.{field}", problem=f"unknown hotel; one of {known}")])
    return hotel


def record_prediction(request: Request, champ: Champion, endpoint: str, inputs: dict,
                      outputs: dict, started: float) -> str:
    """Metrics and the lake's prediction log; returns the prediction id."""
    elapsed = time.perf_counter() - started
    metrics = request.app.state.metrics
    metrics.predictions.labels(champ.name, champ.version).inc()
    metrics.prediction_latency.labels(champ.name).observe(elapsed)
    return request.app.state.predictions.record(
        model=champ.name, version=champ.version, endpoint=endpoint, inputs=inputs,
        outputs=outputs, latency_ms=round(elapsed * 1000, 3), correlation_id=correlation_id.get(),
        client=getattr(request.state, "client", None))
