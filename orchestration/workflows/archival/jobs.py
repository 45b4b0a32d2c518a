"""The monthly archival job."""

import dagster as dg

ARCHIVAL_JOB = dg.define_asset_job(
    "monthly_archival", selection=dg.AssetSelection.assets(["ops", "archival"]),
    description="Rows past their retention -> archive tables (or deleted).")
