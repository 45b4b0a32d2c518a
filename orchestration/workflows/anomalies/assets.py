"""Alerts to the duty manager and security for each camera anomaly."""

from datetime import timedelta

import dagster as dg
import polars as pl

from orchestration.workflows.resources import WORKFLOWS, Operations
from operations.workflows import anomaly_alerts

ALERTS = dg.AssetKey(["bronze", "anomaly_alerts"])
RECENT = timedelta(hours=6)  # an older alert is history, not an emergency


@dg.asset(
    key=["ops", "anomaly_notices"], group_name=WORKFLOWS, deps=[ALERTS], kinds={"delta", "email"},
    description="Anomaly alerts of the last 6 hours: the duty manager and security each get one "
                "message per alert (anomaly:<alert_id>:<role>); critical and high ones go to "
                "the `<role>:urgent` route and repeat every 5 / 10 minutes until acknowledged.",
)
def anomaly_notices(context: dg.AssetExecutionContext,
                    ops: dg.ResourceParam[Operations]) -> dg.MaterializeResult:
    alerts = ops.lake.read("bronze/anomaly_alerts")
    if alerts.is_empty():
        return dg.MaterializeResult(metadata={"alerts": 0, "messages_queued": 0})
    recent = alerts.filter(pl.col("detected_at") >= ops.now() - RECENT)
    counts = ops.send(anomaly_alerts(recent, ops.hotels))
    context.log.info(f"{recent.height} recent alerts: {counts}")
    return dg.MaterializeResult(metadata={"alerts": recent.height, **counts})
