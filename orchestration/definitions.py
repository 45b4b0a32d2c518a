"""The Innsight code location (`dagster dev -w workspace.yaml`)."""

from __future__ import annotations

import dagster as dg

from orchestration.ingest.assets import BRONZE_ASSETS
from orchestration.ingest.jobs import BUILD_ALL_JOB, BUILD_LAKEHOUSE_JOB, INGEST_JOBS, PMS_SYNC_JOB
from orchestration.ingest.schedules import pms_sync_schedule
from orchestration.ingest.sensors import landing_sensor
from orchestration.maintenance.jobs import lake_maintenance, lake_maintenance_schedule
from orchestration.warehouse.assets import dbt_models, marts_file
from orchestration.warehouse.project import dbt_resource

defs = dg.Definitions(
    assets=[*BRONZE_ASSETS, dbt_models, marts_file],
    jobs=[BUILD_ALL_JOB, BUILD_LAKEHOUSE_JOB, PMS_SYNC_JOB, *INGEST_JOBS.values(), lake_maintenance],
    sensors=[landing_sensor],
    schedules=[pms_sync_schedule, lake_maintenance_schedule],
    resources={"dbt": dbt_resource()},
)
