"""The lost-and-found job."""

import dagster as dg

LOST_FOUND_JOB = dg.define_asset_job(
    "lost_found", selection=dg.AssetSelection.assets(["ops", "lost_found_matches"]),
    description="Reported losses x found items -> return notices for staff to confirm.")
