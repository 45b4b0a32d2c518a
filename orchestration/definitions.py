"""The Innsight code location (`dagster dev -w workspace.yaml`).

The one place the orchestration reads the settings: ``defs`` is built from ``Settings()``
(environment and innsight.env); tests and the command line call ``build_definitions`` with
their own. Each domain folder holds its assets, jobs, schedules and sensors.
"""

from __future__ import annotations

import dagster as dg

from base.settings import Settings
from operations.deferred_runs import DeferredRuns
from orchestration.events.sensors import event_bus_sensor
from orchestration.feature_store.assets import FEATURE_ASSETS
from orchestration.ingest.assets import bronze_assets, bronze_column_docs
from orchestration.ingest.jobs import BUILD_ALL_JOB, BUILD_LAKEHOUSE_JOB, INGEST_JOBS, PMS_SYNC_JOB
from orchestration.ingest.schedules import pms_sync_schedule
from orchestration.ingest.sensors import landing_sensor
from orchestration.maintenance.jobs import lake_maintenance
from orchestration.maintenance.schedules import (lake_maintenance_schedule,
                                               prediction_log_maintenance_schedule)
from orchestration.language.assets import knowledge_base
from orchestration.language.jobs import KNOWLEDGE_JOB
from orchestration.language.sensors import knowledge_sensor
from orchestration.models.assets import MODEL_ASSETS
from orchestration.models.jobs import NIGHTLY_RETRAINING_JOB, RETRAIN_JOBS
from orchestration.models.schedules import nightly_retraining_schedule
from orchestration.pricing.assets import build_price_schedule_asset
from orchestration.pricing.jobs import PRICING_JOB
from orchestration.pricing.schedules import pricing_schedule
from orchestration.reports.assets import report_assets
from orchestration.reports.jobs import REPORT_JOBS
from orchestration.reports.schedules import REPORT_SCHEDULES
from orchestration.resources import platform_resources
from orchestration.vision.assets import VISION_ASSETS
from orchestration.vision.jobs import VISION_JOB, vector_maintenance
from orchestration.vision.schedules import vector_maintenance_schedule
from orchestration.warehouse.assets import warehouse_assets
from orchestration.warehouse.resources import dbt_project
from orchestration.workflows.definitions import (WORKFLOW_ASSETS, WORKFLOW_JOBS,
                                                  WORKFLOW_SCHEDULES, WORKFLOW_SENSORS)
from orchestration.workflow_api.sensors import build_deferred_runs_sensor


def build_definitions(settings: Settings) -> dg.Definitions:
    jobs = [BUILD_ALL_JOB, BUILD_LAKEHOUSE_JOB, PMS_SYNC_JOB, *INGEST_JOBS.values(),
            lake_maintenance, NIGHTLY_RETRAINING_JOB, PRICING_JOB, *RETRAIN_JOBS.values(),
            VISION_JOB, vector_maintenance, KNOWLEDGE_JOB, *WORKFLOW_JOBS, *REPORT_JOBS.values()]
    return dg.Definitions(
        assets=[*bronze_assets(settings.freshness_hours, settings.quarantine_tolerance,
                               bronze_column_docs(settings.dbt_project_dir)),
                *warehouse_assets(dbt_project(settings), settings.marts_path),
                *FEATURE_ASSETS, *MODEL_ASSETS,
                build_price_schedule_asset(settings.pricing_horizon_days), *VISION_ASSETS,
                knowledge_base, *WORKFLOW_ASSETS, *report_assets(settings.reports_start)],
        jobs=jobs,
        # the API's triggers for later may name any job
        sensors=[landing_sensor, knowledge_sensor, build_deferred_runs_sensor(jobs),
                 event_bus_sensor,  # RabbitMQ's events -> landing/ (skips with the spool)
                 *WORKFLOW_SENSORS],
        schedules=[pms_sync_schedule, lake_maintenance_schedule, prediction_log_maintenance_schedule,
                   nightly_retraining_schedule,
                   pricing_schedule, vector_maintenance_schedule, *WORKFLOW_SCHEDULES,
                   *REPORT_SCHEDULES],
        resources={**platform_resources(settings),
                   "deferred_runs": DeferredRuns.from_url(settings.ops_database_url)},
    )


defs = build_definitions(Settings())
