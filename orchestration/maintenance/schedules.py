"""Lake maintenance: every table on the first of the month; the API's prediction log every
hour, because its writer commits a small file every few seconds and each commit reads the
table's file list: unmaintained, a flush's CPU grows with the files of the day (a 200-row
append took 18 ms on a compacted table, 35-45 ms at 800 files)."""

import dagster as dg

from lake.tables import ML_PREDICTIONS
from orchestration.maintenance.jobs import lake_maintenance

lake_maintenance_schedule = dg.ScheduleDefinition(
    name="monthly_lake_maintenance", job=lake_maintenance, cron_schedule="0 4 1 * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="First of the month, 04:00: compact and vacuum every Delta table.")

prediction_log_maintenance_schedule = dg.ScheduleDefinition(
    name="hourly_prediction_log_compaction", job=lake_maintenance, cron_schedule="45 * * * *",
    run_config={"ops": {"maintain_lake_tables": {"config": {"tables": [ML_PREDICTIONS.name]}}}},
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every hour at :45: compact the API's prediction log (a file per flush) "
                "so that the next flushes read a short file list.")
