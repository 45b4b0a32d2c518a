"""Jobs that ingest a source and rebuild everything downstream of it."""

from __future__ import annotations

import dagster as dg

from lake.sources import SOURCES
from orchestration.ingest.assets import bronze_key
from orchestration.reports.resources import REPORTS
from orchestration.warehouse import MARTS_FILE

# Ingest jobs rebuild the lakehouse up to the marts file; models retrain on their own schedule.
LAKEHOUSE = dg.AssetSelection.assets(MARTS_FILE).upstream()


def ingest_job_name(source_name: str) -> str:
    return f"ingest_{source_name}"


INGEST_JOBS = {
    name: dg.define_asset_job(
        ingest_job_name(name),
        selection=dg.AssetSelection.assets(bronze_key(source)).downstream() & LAKEHOUSE,
        description=f"Ingest new landing files of {name} and rebuild the marts that read it.",
    )
    for name, source in SOURCES.items()
}

PMS_SYNC_JOB = dg.define_asset_job(
    "pms_sync",
    selection=dg.AssetSelection.assets(
        *[bronze_key(s) for s in SOURCES.values() if s.folder == "pms"]).downstream() & LAKEHOUSE,
    description="Hourly PMS sync: ingest every waiting PMS export and rebuild the marts.",
)

BUILD_LAKEHOUSE_JOB = dg.define_asset_job(
    "build_lakehouse",
    selection=LAKEHOUSE,
    description="Landing → bronze → dbt models → the published marts file.",
)

BUILD_ALL_JOB = dg.define_asset_job(
    # the reports are partitioned by period: their own jobs render one period each
    "build_all", selection=dg.AssetSelection.all() - dg.AssetSelection.groups(REPORTS),
    description="The whole platform: the lakehouse, then everything built on the marts "
                "(the reports excepted: one job per kind renders a period).",
)
