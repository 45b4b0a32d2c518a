"""Service logs in the lake table ops/service_logs (``lake.tables.SERVICE_LOGS``): a batch
posted to /api/v1/ops/logs is one Delta append; reads prune the day partitions, then filter
by service, level and time, newest first. The log monitor (``language.log_monitoring``)
reads its records from here when the analyze route is sent no logs."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timezone
from typing import Any

import polars as pl

from lake.delta_tables import Lake
from lake.tables import SERVICE_LOGS
from language.log_monitoring import LogRecord

TABLE = SERVICE_LOGS.name
LEVEL_RANK = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50, "fatal": 50}


def _days(since: datetime | None, until: datetime | None) -> list[tuple]:
    """deltalake filters on the date partition for a time range."""
    filters = []
    if since is not None:
        filters.append(("logged_date", ">=", since.astimezone(timezone.utc).date()))
    if until is not None:
        filters.append(("logged_date", "<=", until.astimezone(timezone.utc).date()))
    return filters


class ServiceLogs:
    def __init__(self, lake: Lake):
        self.lake = lake
        self._write = threading.Lock()

    def append(self, records: list[dict[str, Any]], client: str | None) -> list[str]:
        """Append the records (service, level, message, logged_at, logger, correlation_id,
        attributes) in one commit; their log ids."""
        now = datetime.now(timezone.utc)
        rows = []
        for r in records:
            logged_at = (r.get("logged_at") or now).astimezone(timezone.utc)
            rows.append({"log_id": uuid.uuid4().hex, "logged_at": logged_at,
                         "logged_date": logged_at.date(), "service": r["service"],
                         "level": r["level"], "message": r["message"], "logger": r.get("logger"),
                         "correlation_id": r.get("correlation_id"),
                         "attributes": json.dumps(r.get("attributes") or {}, default=str,
                                                  ensure_ascii=False),
                         "received_at": now, "client": client})
        frame = pl.DataFrame(rows, schema=SERVICE_LOGS.schema)
        with self._write:
            self.lake.ensure(TABLE, SERVICE_LOGS.schema, list(SERVICE_LOGS.partition_by))
            self.lake.append(TABLE, frame)
        return [r["log_id"] for r in rows]

    def frame(self, service: str | None = None, min_level: str | None = None,
              since: datetime | None = None, until: datetime | None = None,
              limit: int | None = None) -> pl.DataFrame:
        """The records (``since`` inclusive, ``until`` exclusive), newest first."""
        table = self.lake.read(TABLE, filters=_days(since, until) or None)
        if table.is_empty():
            return pl.DataFrame(schema=SERVICE_LOGS.schema)
        conditions = []
        if service:
            conditions.append(pl.col("service") == service)
        if min_level:
            at_least = [name for name, rank in LEVEL_RANK.items() if rank >= LEVEL_RANK[min_level]]
            conditions.append(pl.col("level").is_in(at_least))
        if since is not None:
            conditions.append(pl.col("logged_at") >= since.astimezone(timezone.utc))
        if until is not None:
            conditions.append(pl.col("logged_at") < until.astimezone(timezone.utc))
        if conditions:
            table = table.filter(*conditions)
        table = table.sort(["logged_at", "received_at"], descending=True)
        return table.head(limit) if limit else table

    def query(self, service: str | None = None, min_level: str | None = None,
              since: datetime | None = None, until: datetime | None = None,
              limit: int = 100) -> list[dict[str, Any]]:
        rows = self.frame(service, min_level, since, until, limit).drop("logged_date").to_dicts()
        for row in rows:
            row["attributes"] = json.loads(row["attributes"] or "{}")
        return rows

    def for_monitoring(self, service: str | None, since: datetime, until: datetime,
                       limit: int = 50_000) -> list[LogRecord]:
        """The log monitor's records of a time range (the newest ``limit``)."""
        frame = self.frame(service, None, since, until, limit)
        return [LogRecord(s, level, message, at) for s, level, message, at in
                frame.select("service", "level", "message", "logged_at").iter_rows()]

