"""The new-booking job."""

import dagster as dg

BOOKING_JOB = dg.define_asset_job(
    "booking_risk", selection=dg.AssetSelection.assets(["ops", "booking_actions"]),
    description="New booking events -> cancellation risk -> retention actions and confirmation.")
