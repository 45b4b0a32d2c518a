"""Nightly retraining at 02:00."""

import dagster as dg

from orchestration.models.jobs import NIGHTLY_RETRAINING_JOB

nightly_retraining_schedule = dg.ScheduleDefinition(
    name="nightly_retraining", job=NIGHTLY_RETRAINING_JOB, cron_schedule="0 2 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="02:00 every night: features and models.")
