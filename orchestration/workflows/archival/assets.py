"""The monthly archival of the prediction log, events, service logs and the outbox."""

from datetime import timedelta

import dagster as dg
import polars as pl

from lake.tables import NOTIFICATIONS_ARCHIVE, TABLES
from orchestration.workflows.resources import WORKFLOWS, Operations

OUTBOX = "outbox"  # the retention key of the outbox (ops database -> the lake's ops/notifications)
# the time column a table's retention counts from (tables without one are not archivable)
TIME_COLUMNS = {"serving/ml_predictions": "predicted_at", "bronze/attendance_events": "event_at",
                "bronze/anomaly_alerts": "detected_at", "bronze/room_inspections": "inspected_at",
                "ops/service_logs": "logged_at", "language/guest_requests": "received_at",
                "language/queued_actions": "queued_at", "ops/tasks": "created_at"}


@dg.asset(
    key=["ops", "archival"], group_name=WORKFLOWS, kinds={"delta"},
    description="Monthly: per INNSIGHT_RETENTION_DAYS, the rows older than their table's "
                "retention move to `archive/<table>` (merged by key, so a rerun moves nothing "
                "twice) and leave the table; tables in INNSIGHT_RETENTION_DELETE are only "
                f"deleted; the outbox's finished messages move to `{NOTIFICATIONS_ARCHIVE.name}` "
                "without their bodies. What moved is in the metadata.",
)
def archival(context: dg.AssetExecutionContext, ops: dg.ResourceParam[Operations]) -> dg.MaterializeResult:
    lake, at = ops.lake, ops.now()
    tables = {t.name: t for t in TABLES}
    moved: dict[str, dict] = {}
    for name, days in sorted(ops.retention_days.items()):
        if days <= 0:
            continue
        cutoff = at - timedelta(days=days)
        if name == OUTBOX:
            rows = ops.outbox.take_older_than(cutoff)
            frame = pl.DataFrame([{**r, "archived_at": at} for r in rows],
                                 schema=NOTIFICATIONS_ARCHIVE.schema)
            lake.ensure(NOTIFICATIONS_ARCHIVE.name, NOTIFICATIONS_ARCHIVE.schema)
            lake.merge(NOTIFICATIONS_ARCHIVE.name, frame, list(NOTIFICATIONS_ARCHIVE.keys))
            moved[name] = {"archived": frame.height, "to": NOTIFICATIONS_ARCHIVE.name}
            continue
        column, table = TIME_COLUMNS.get(name), tables.get(name)
        if column is None or table is None or not lake.exists(name):
            moved[name] = {"skipped": "no such table, or no time column to count from"
                           if not lake.exists(name) or table is None else "no time column"}
            continue
        predicate = f"{column} < '{cutoff.strftime('%Y-%m-%d %H:%M:%S')}'"
        if name in ops.retention_delete:
            moved[name] = {"deleted": lake.delete(name, predicate), "older_than": str(cutoff)}
            continue
        old = lake.read(name).filter(pl.col(column) < cutoff)
        archive = f"archive/{name}"
        lake.ensure(archive, table.schema)
        lake.merge(archive, old, list(table.keys), insert_only=True)  # before the delete
        moved[name] = {"archived": old.height, "deleted": lake.delete(name, predicate),
                       "to": archive, "older_than": str(cutoff)}
    context.log.info(f"archival: {moved}")
    return dg.MaterializeResult(metadata={"moved": dg.MetadataValue.json(moved), **{
        f"{k}_rows": v.get("archived", v.get("deleted", 0)) for k, v in moved.items()}})
