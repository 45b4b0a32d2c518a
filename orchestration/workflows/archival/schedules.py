"""The archival, on the first of each month."""

import dagster as dg

from orchestration.workflows.archival.jobs import ARCHIVAL_JOB

archival_schedule = dg.ScheduleDefinition(
    name="monthly_archival_schedule", job=ARCHIVAL_JOB, cron_schedule="30 4 1 * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="04:30 on the first of each month: the archival.")
