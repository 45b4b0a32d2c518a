"""Workflow runs asked for later: a job, its run config and tags, and when to start it.

``POST /api/v1/workflows/trigger`` with a ``start_at`` in the future keeps the trigger here
(table ``workflow_triggers`` of the ops database: SQLite under ``home/ops`` by default,
PostgreSQL in production); the Dagster sensor ``deferred_runs_sensor`` asks for the runs
that are due (run key = the trigger id, so a trigger launches once) and marks them
launched. A trigger is ``scheduled`` until then, or ``canceled`` before, or ``failed`` when
the code location no longer has its job. SQLAlchemy Core, no ORM; plain Python that the API
and the sensor both use.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

TRIGGER_PREFIX = "trigger-"  # a trigger id, told apart from Dagster's run ids (uuids)
TRIGGER_TAG = "innsight/trigger_id"  # on the run a trigger launched
STATUSES = ("scheduled", "launched", "canceled", "failed")

metadata = sa.MetaData()
TRIGGERS = sa.Table(
    "workflow_triggers", metadata,
    sa.Column("trigger_id", sa.String(64), primary_key=True),
    sa.Column("job_name", sa.String(255), nullable=False),
    sa.Column("run_config", sa.Text, nullable=False),  # JSON
    sa.Column("tags", sa.Text, nullable=False),  # JSON
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("requested_by", sa.String(255)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("note", sa.Text),  # why it failed, who canceled it
)


def _utc(value: datetime | None) -> datetime | None:
    """Aware UTC (SQLite hands back naive datetimes: they were written in UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def is_trigger_id(value: str) -> bool:
    return value.startswith(TRIGGER_PREFIX)


@dataclass(frozen=True)
class DeferredRun:
    trigger_id: str
    job_name: str
    start_at: datetime
    status: str
    run_config: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    requested_by: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    note: str | None = None

    @classmethod
    def _of(cls, row: Any) -> DeferredRun:
        m = row._mapping
        return cls(trigger_id=m["trigger_id"], job_name=m["job_name"],
                   start_at=_utc(m["start_at"]), status=m["status"],
                   run_config=json.loads(m["run_config"]), tags=json.loads(m["tags"]),
                   requested_by=m["requested_by"], created_at=_utc(m["created_at"]),
                   updated_at=_utc(m["updated_at"]), note=m["note"])

    @property
    def run_tags(self) -> dict[str, str]:
        """The tags of the run it launches: its own, and the trigger's id."""
        return {**self.tags, TRIGGER_TAG: self.trigger_id}


class NotScheduled(Exception):
    """The trigger is not waiting any more (launched, canceled or failed)."""


class DeferredRuns:
    """The ``workflow_triggers`` table of one database (created on first use)."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self._ready = False

    @classmethod
    def from_url(cls, url: str) -> DeferredRuns:
        """On the database at ``url``; a SQLite file's folder is made on first use."""
        if url.startswith("sqlite:///"):
            return cls(sa.create_engine(url, connect_args={"timeout": 30}))
        return cls(sa.create_engine(url, pool_pre_ping=True))

    def _begin(self):
        if not self._ready:
            url = self.engine.url
            if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
                Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            metadata.create_all(self.engine, checkfirst=True)
            self._ready = True
        return self.engine.begin()

    def schedule(self, job_name: str, start_at: datetime, run_config: dict[str, Any] | None = None,
                 tags: dict[str, str] | None = None, requested_by: str | None = None) -> DeferredRun:
        if start_at.tzinfo is None:
            raise ValueError(f"start_at {start_at.isoformat()} has no time zone")
        now = _now()
        run = DeferredRun(trigger_id=TRIGGER_PREFIX + uuid.uuid4().hex, job_name=job_name,
                          start_at=_utc(start_at), status="scheduled", run_config=run_config or {},
                          tags=dict(tags or {}), requested_by=requested_by, created_at=now,
                          updated_at=now)
        with self._begin() as con:
            con.execute(TRIGGERS.insert().values(
                trigger_id=run.trigger_id, job_name=job_name, run_config=json.dumps(run.run_config),
                tags=json.dumps(run.tags), start_at=run.start_at, status=run.status,
                requested_by=requested_by, created_at=now, updated_at=now))
        return run

    def get(self, trigger_id: str) -> DeferredRun | None:
        with self._begin() as con:
            row = con.execute(TRIGGERS.select().where(TRIGGERS.c.trigger_id == trigger_id)).first()
        return DeferredRun._of(row) if row else None

    def waiting(self, job_name: str | None = None, limit: int = 100) -> list[DeferredRun]:
        """The scheduled triggers, soonest first."""
        query = TRIGGERS.select().where(TRIGGERS.c.status == "scheduled")
        if job_name:
            query = query.where(TRIGGERS.c.job_name == job_name)
        with self._begin() as con:
            rows = con.execute(query.order_by(TRIGGERS.c.start_at).limit(limit)).all()
        return [DeferredRun._of(r) for r in rows]

    def due(self, now: datetime | None = None) -> list[DeferredRun]:
        """Scheduled triggers whose start time has come, oldest first."""
        now = _utc(now) or _now()
        with self._begin() as con:
            rows = con.execute(TRIGGERS.select()
                               .where(TRIGGERS.c.status == "scheduled", TRIGGERS.c.start_at <= now)
                               .order_by(TRIGGERS.c.start_at)).all()
        return [DeferredRun._of(r) for r in rows]

    def _move(self, trigger_id: str, status: str, note: str | None) -> DeferredRun:
        """From scheduled to ``status``, in one statement (two callers: one wins)."""
        with self._begin() as con:
            moved = con.execute(TRIGGERS.update()
                                .where(TRIGGERS.c.trigger_id == trigger_id,
                                       TRIGGERS.c.status == "scheduled")
                                .values(status=status, note=note, updated_at=_now())).rowcount
        run = self.get(trigger_id)
        if run is None:
            raise KeyError(trigger_id)
        if not moved:
            raise NotScheduled(f"trigger {trigger_id} is {run.status}, not scheduled")
        return run

    def cancel(self, trigger_id: str, by: str | None = None) -> DeferredRun:
        """KeyError: no such trigger; NotScheduled: it already launched (or was canceled)."""
        return self._move(trigger_id, "canceled", f"canceled by {by}" if by else "canceled")

    def launched(self, trigger_id: str) -> DeferredRun:
        return self._move(trigger_id, "launched", None)

    def failed(self, trigger_id: str, reason: str) -> DeferredRun:
        return self._move(trigger_id, "failed", reason)
