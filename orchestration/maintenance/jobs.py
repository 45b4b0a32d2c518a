"""Monthly Delta maintenance of every table of the lake's registry."""

import dagster as dg

from lake.delta_tables import Lake
from lake.tables import TABLES


@dg.op(description="Compact small files, vacuum files older than 7 days, write a checkpoint.")
def maintain_lake_tables(context: dg.OpExecutionContext, lake: dg.ResourceParam[Lake]) -> dict:
    report = {}
    for table in TABLES:
        if lake.exists(table.name):
            report[table.name] = lake.maintain(table.name)
            context.log.info(f"{table.name}: {report[table.name]}")
    return report


@dg.job(description="Delta table maintenance (optimize, vacuum, checkpoint) of the lake.")
def lake_maintenance():
    maintain_lake_tables()
