"""Nightly retraining (02:00), the pricing optimisation (03:00), and a retraining job per
model (what `POST /api/v1/ml/retrain/{model_name}` starts)."""

import dagster as dg

from ml.catalog import MODELS
from orchestration.models.assets import MODELS_GROUP

NIGHTLY_RETRAINING_JOB = dg.define_asset_job(
    "nightly_retraining", selection=dg.AssetSelection.groups("features", MODELS_GROUP),
    description="Refresh the feature store and retrain every model; champions move only "
                "when a challenger beats them on the same held-out data.")

RETRAIN_JOBS = {
    name: dg.define_asset_job(
        f"retrain_{name}", selection=dg.AssetSelection.assets([MODELS_GROUP, name]),
        description=f"Retrain the {name} model on the current marts; its champion moves only "
                    "if the challenger wins.")
    for name in MODELS
}

PRICING_JOB = dg.define_asset_job(
    "pricing_optimisation", selection=dg.AssetSelection.groups("pricing"),
    description="Price schedule for the coming days from the champion pricing model.")

nightly_retraining_schedule = dg.ScheduleDefinition(
    name="nightly_retraining", job=NIGHTLY_RETRAINING_JOB, cron_schedule="0 2 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="02:00 every night: features and models.")

pricing_schedule = dg.ScheduleDefinition(
    name="pricing_optimisation", job=PRICING_JOB, cron_schedule="0 3 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="03:00 every night: the price schedule from the champion pricing model.")
