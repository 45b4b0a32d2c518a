"""Monthly Delta maintenance of every lake table."""


import dagster as dg

from base.settings import get_settings
from lake import delta_tables as dt
from lake.ingest import INGEST_LOG, QUARANTINE
from lake.sources import SOURCES
from serving.predictions import TABLE as ML_PREDICTIONS


@dg.op(description="Compact small files, vacuum files older than 7 days, write a checkpoint.")
def maintain_lake_tables(context: dg.OpExecutionContext) -> dict:
    report = {}
    for name in [s.table for s in SOURCES.values()] + [QUARANTINE, INGEST_LOG, ML_PREDICTIONS]:
        uri = get_settings().table_uri(name)
        if dt.table_exists(uri):
            report[name] = dt.maintain(uri)
            context.log.info(f"{name}: {report[name]}")
    return report


@dg.job(description="Delta table maintenance (optimize, vacuum, checkpoint) of the lake.")
def lake_maintenance():
    maintain_lake_tables()


lake_maintenance_schedule = dg.ScheduleDefinition(
    name="monthly_lake_maintenance", job=lake_maintenance, cron_schedule="0 4 1 * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="First of the month, 04:00: compact and vacuum every Delta table.",
)
