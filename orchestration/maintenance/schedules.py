"""Lake maintenance on the first of the month."""

import dagster as dg

from orchestration.maintenance.jobs import lake_maintenance

lake_maintenance_schedule = dg.ScheduleDefinition(
    name="monthly_lake_maintenance", job=lake_maintenance, cron_schedule="0 4 1 * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="First of the month, 04:00: compact and vacuum every Delta table.")
