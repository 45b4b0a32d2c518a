"""The pricing optimisation job."""

import dagster as dg

from orchestration.pricing.assets import PRICING

PRICING_JOB = dg.define_asset_job(
    "pricing_optimisation", selection=dg.AssetSelection.groups(PRICING),
    description="Price schedule for the coming days from the champion pricing model.")
