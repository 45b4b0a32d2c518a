"""The hourly PMS sync."""

from __future__ import annotations

import dagster as dg

from orchestration.ingest.jobs import PMS_SYNC_JOB

pms_sync_schedule = dg.ScheduleDefinition(
    name="hourly_pms_sync",
    job=PMS_SYNC_JOB,
    cron_schedule="0 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every hour: ingest waiting PMS exports and rebuild the marts that read them.",
)
