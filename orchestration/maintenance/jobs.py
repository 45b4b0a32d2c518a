"""Delta maintenance of the lake's registry tables: every table monthly, the API's
prediction log hourly."""

import dagster as dg

from lake.delta_tables import Lake
from lake.tables import TABLES


class MaintenanceConfig(dg.Config):
    tables: list[str] = []  # registry table names; none: every table of the registry


@dg.op(description="Compact small files, vacuum files older than 7 days, write a checkpoint.")
def maintain_lake_tables(context: dg.OpExecutionContext, config: MaintenanceConfig,
                         lake: dg.ResourceParam[Lake]) -> dict:
    known = {table.name for table in TABLES}
    unknown = sorted(set(config.tables) - known)
    if unknown:
        raise dg.Failure(f"not tables of the lake's registry: {unknown}; known: {sorted(known)}")
    report = {}
    for name in config.tables or sorted(known):
        if lake.exists(name):
            report[name] = lake.maintain(name)
            context.log.info(f"{name}: {report[name]}")
    return report


@dg.job(description="Delta table maintenance (optimize, vacuum, checkpoint) of the lake.")
def lake_maintenance():
    maintain_lake_tables()
