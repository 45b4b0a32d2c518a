"""The platform's models: what trains each one, and what it learns. Dagster assets and
`innsight evaluate` both read this list."""

from dataclasses import dataclass
from typing import Callable

import duckdb

from ml import churn, clv, forecast, pricing, recommend
from ml.tracking import Candidate


@dataclass(frozen=True)
class ModelSpec:
    train: Callable[[duckdb.DuckDBPyConnection], Candidate | list[Candidate]]
    description: str


MODELS: dict[str, ModelSpec] = {
    "churn": ModelSpec(churn.train, "Cancellation risk of a booking (XGBoost, calibrated), from "
                                    "what is known at booking time; validated on 2017 arrivals."),
    "clv": ModelSpec(clv.train, "12-month guest value, retention probability and segment."),
    "pricing": ModelSpec(pricing.train, "Demand model and price optimiser under business rules."),
    "forecasts": ModelSpec(forecast.train_all, "Prophet forecasts per hotel: occupancy, revenue and "
                                               "housekeeping demand, backtested against seasonal-naive."),
    "recommend_services": ModelSpec(recommend.train_services, "Services to offer a guest."),
    "recommend_rooms": ModelSpec(recommend.train_rooms, "Room types for a stay request."),
}


def candidates(trained: Candidate | list[Candidate]) -> list[Candidate]:
    return trained if isinstance(trained, list) else [trained]
