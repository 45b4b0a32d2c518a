"""The platform's models: what trains each one, what it learns, and the name of the Dagster
job that retrains it. The Dagster assets and jobs, `innsight evaluate` and the API's
retrain route all read this list."""

from dataclasses import dataclass
from typing import Callable

import duckdb

from ml import cancellation, clv, dynamic_pricing, forecasting, recommenders
from ml.registry import Candidate
from ml.timeline import Timeline

# The job that refreshes the features and retrains every model (02:00, and `retrain/all`).
RETRAIN_ALL_JOB = "nightly_retraining"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    train: Callable[[duckdb.DuckDBPyConnection, Timeline], Candidate | list[Candidate]]
    description: str  # the Dagster asset's and the MLflow registered model's
    calibrated: bool = False  # its answers are probabilities (an ECE is reported and checked)

    @property
    def retrain_job(self) -> str:
        """The Dagster job that retrains this model alone."""
        return f"retrain_{self.name}"


MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in (
    ModelSpec("cancellation", cancellation.train,
              "Cancellation risk of a booking (XGBoost, calibrated), from what is known at "
              "booking time; evaluated on each property's most recent months.", calibrated=True),
    ModelSpec("clv", clv.train,
              "12-month guest value, retention probability and segment (XGBoost, from each "
              "guest's history); validated out of time against annual spend x recency."),
    ModelSpec("pricing", dynamic_pricing.train,
              "Demand model (XGBoost, demand never rises with price) and a revenue-maximising "
              "price optimiser under floor, ceiling, daily-change and competitor-band rules."),
    ModelSpec("forecasts", forecasting.train_all,
              "Prophet forecasts per hotel: occupancy, revenue and housekeeping demand, "
              "backtested against seasonal-naive."),
    ModelSpec("recommend_services", recommenders.train_services,
              "Services to offer a guest at check-in (XGBoost over the stay and the guest's "
              "history); hit rate at 5 against the most popular services."),
    ModelSpec("recommend_rooms", recommenders.train_rooms,
              "Room types for a stay request (XGBoost over the party, nights, budget and "
              "guest segment); hit rate at 5 against the hotel's most booked room types."),
)}
