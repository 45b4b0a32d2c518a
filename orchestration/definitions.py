"""The Innsight code location (`dagster dev -w workspace.yaml`)."""

from __future__ import annotations

import dagster as dg

from orchestration.ingest.assets import BRONZE_ASSETS
from orchestration.ingest.jobs import BUILD_ALL_JOB, BUILD_LAKEHOUSE_JOB, INGEST_JOBS, PMS_SYNC_JOB
from orchestration.ingest.schedules import pms_sync_schedule
from orchestration.ingest.sensors import landing_sensor
from orchestration.maintenance.jobs import lake_maintenance, lake_maintenance_schedule
from orchestration.models.assets import MODEL_ASSETS
from orchestration.feature_store.assets import FEATURE_ASSETS
from orchestration.ml.dynamic_pricing import price_schedule
from orchestration.models.schedules import (NIGHTLY_RETRAINING_JOB, PRICING_JOB, RETRAIN_JOBS,
                                        nightly_retraining_schedule, pricing_schedule)
from orchestration.warehouse.assets import dbt_models, marts_file
from orchestration.warehouse.resources import dbt_resource

defs = dg.Definitions(
    assets=[*BRONZE_ASSETS, dbt_models, marts_file, *FEATURE_ASSETS, *MODEL_ASSETS, price_schedule],
    jobs=[BUILD_ALL_JOB, BUILD_LAKEHOUSE_JOB, PMS_SYNC_JOB, *INGEST_JOBS.values(), lake_maintenance,
          NIGHTLY_RETRAINING_JOB, PRICING_JOB, *RETRAIN_JOBS.values()],
    sensors=[landing_sensor],
    schedules=[pms_sync_schedule, lake_maintenance_schedule, nightly_retraining_schedule,
               pricing_schedule],
    resources={"dbt": dbt_resource()},
)
