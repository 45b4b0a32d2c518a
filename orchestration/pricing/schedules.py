"""The pricing optimisation at 03:00."""

import dagster as dg

from orchestration.pricing.jobs import PRICING_JOB

pricing_schedule = dg.ScheduleDefinition(
    name="pricing_optimisation", job=PRICING_JOB, cron_schedule="0 3 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="03:00 every night: the price schedule from the champion pricing model.")
