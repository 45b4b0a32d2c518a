"""The anomaly alert job."""

import dagster as dg

ANOMALY_JOB = dg.define_asset_job(
    "anomaly_alerts", selection=dg.AssetSelection.assets(["ops", "anomaly_notices"]),
    description="Camera anomalies -> the duty manager and security, at once.")
