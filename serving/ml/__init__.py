"""The ML endpoints (`/api/v1/ml`): one module per use case."""

from fastapi import APIRouter

from serving.ml import churn, clv, forecast, pricing, recommend, retrain, status

router = APIRouter(prefix="/api/v1/ml")
for _module in (churn, clv, pricing, forecast, recommend, retrain, status):
    router.include_router(_module.router)
