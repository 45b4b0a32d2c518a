"""Vector store maintenance every Sunday night."""

import dagster as dg

from orchestration.vision.jobs import vector_maintenance

vector_maintenance_schedule = dg.ScheduleDefinition(
    name="weekly_vector_maintenance", job=vector_maintenance, cron_schedule="30 3 * * 0",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Sunday 03:30: compact the LanceDB tables and delete versions older than a week.")
