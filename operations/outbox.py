"""The outbox: every message the platform sends is first a row here.

A workflow step that decides to tell someone writes the message in the same step, keyed by
an idempotency key that names the fact (``attendance-late:<shift_id>``): the same fact
decided twice — an event posted twice, a run retried — finds the row already there, so one
fact is one message. The sender (``operations.senders.Postman``) claims due rows, delivers
them and records the outcome: sent, or a retry after an exponential backoff, or dead after
the configured number of attempts (dead letters stay listed and can be re-sent). A message
with ``repeat_seconds`` (a critical alert) is delivered again at that interval until someone
acknowledges it.

One table of the ops database (SQLite by default, PostgreSQL in production): a row changes
with every attempt, which a Delta table is not made for; the monthly archival moves old rows
to the lake.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

import sqlalchemy as sa

from base.databases import engine_with

METADATA = sa.MetaData()
TS = sa.DateTime(timezone=True)
OUTBOX = sa.Table(
    "outbox", METADATA,
    sa.Column("message_id", sa.String(32), primary_key=True),
    sa.Column("idempotency_key", sa.String(255), nullable=False, unique=True),
    sa.Column("workflow", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),  # email | webhook
    sa.Column("recipient", sa.String(255), nullable=False),  # guest:<id>, <role>@<hotel>...
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("payload", sa.Text),  # JSON a webhook receives (else the rendered message)
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("repeat_seconds", sa.Integer),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("deliveries", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", TS, nullable=False, index=True),
    sa.Column("lease_until", TS),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("sent_at", TS),
    sa.Column("acked_at", TS),
    sa.Column("acked_by", sa.String(128)),
)
# pending: waiting for its (next) attempt; sending: claimed by a sender; sent: delivered
# (a repeating one stays due until acknowledged); dead: gave up; acknowledged: a person
# acknowledged it (repeats stop).
STATUSES = ("pending", "sending", "sent", "dead", "acknowledged")
SEVERITIES = ("info", "warning", "critical")
LEASE = timedelta(minutes=2)  # a claim left by a crashed sender is taken over after this


def now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(ts: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes (stored as UTC)
    return ts if ts is None or ts.tzinfo else ts.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Message:
    """A message a workflow decided to send."""

    key: str  # idempotency key: the fact it tells, e.g. attendance-late:<shift_id>
    workflow: str
    recipient: str  # guest:<guest_id> | <role>@<hotel code> (staff) | email:<address> | pms:rates
    subject: str
    body: str
    language: str = "en"
    severity: str = "info"
    repeat_seconds: int | None = None
    payload: dict[str, Any] | None = None  # what a webhook receives, besides the text


@dataclass
class Stored:
    """A row of the outbox."""

    message_id: str
    idempotency_key: str
    workflow: str
    channel: str
    recipient: str
    language: str
    subject: str
    body: str
    payload: dict[str, Any] | None
    severity: str
    repeat_seconds: int | None
    status: str
    attempts: int
    deliveries: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    acked_at: datetime | None
    acked_by: str | None
    created: bool = field(default=False)  # by this enqueue (False: the key was there)

    @classmethod
    def of(cls, row, created: bool = False) -> "Stored":
        d = dict(row._mapping)
        d.pop("lease_until", None)
        for k in ("next_attempt_at", "created_at", "sent_at", "acked_at"):
            d[k] = _aware(d[k])
        d["payload"] = json.loads(d["payload"]) if d["payload"] else None
        return cls(**d, created=created)


class Outbox:
    """The outbox table (made on first use). ``channel_of(recipient)`` says how a recipient
    is reached now (``AddressBook.channel``)."""

    def __init__(self, url: str, channel_of=lambda recipient: "email"):
        self.url = url
        self.channel_of = channel_of

    @property
    def engine(self) -> sa.Engine:
        return engine_with(self.url, METADATA)

    # -- writing ---------------------------------------------------------------------------

    def enqueue(self, messages: Iterable[Message], at: datetime | None = None) -> list[Stored]:
        """Store each message unless its key is already there; the rows, old or new (``created``
        says which). One transaction: all of them or none."""
        at = at or now()
        out = []
        with self.engine.begin() as con:
            for m in messages:
                if m.severity not in SEVERITIES:
                    raise ValueError(f"severity {m.severity!r} is not one of {SEVERITIES}")
                found = con.execute(OUTBOX.select().where(OUTBOX.c.idempotency_key == m.key)).first()
                if found is not None:
                    out.append(Stored.of(found))
                    continue
                row = dict(
                    message_id=uuid.uuid4().hex, idempotency_key=m.key, workflow=m.workflow,
                    channel=self.channel_of(m.recipient), recipient=m.recipient,
                    language=m.language, subject=m.subject, body=m.body,
                    payload=json.dumps(m.payload, default=str) if m.payload else None,
                    severity=m.severity, repeat_seconds=m.repeat_seconds, status="pending",
                    attempts=0, deliveries=0, next_attempt_at=at, lease_until=None,
                    last_error=None, created_at=at, sent_at=None, acked_at=None, acked_by=None)
                try:
                    with con.begin_nested():
                        con.execute(OUTBOX.insert().values(**row))
                except sa.exc.IntegrityError:  # another writer stored the key meanwhile
                    found = con.execute(OUTBOX.select().where(OUTBOX.c.idempotency_key == m.key)).one()
                    out.append(Stored.of(found))
                    continue
                out.append(Stored.of(_Row(row), created=True))
        return out

    def claim(self, limit: int = 100, at: datetime | None = None) -> list[Stored]:
        """Rows due now, each leased to the caller (no other sender takes them meanwhile):
        pending ones whose attempt is due, repeating ones not yet acknowledged, and claims a
        crashed sender left behind."""
        at = at or now()
        due = sa.or_(
            sa.and_(OUTBOX.c.status == "pending", OUTBOX.c.next_attempt_at <= at),
            sa.and_(OUTBOX.c.status == "sent", OUTBOX.c.repeat_seconds.is_not(None),
                    OUTBOX.c.next_attempt_at <= at),
            sa.and_(OUTBOX.c.status == "sending", OUTBOX.c.lease_until <= at))
        claimed = []
        with self.engine.begin() as con:
            rows = con.execute(OUTBOX.select().where(due).order_by(OUTBOX.c.next_attempt_at)
                               .limit(limit)).all()
            for row in rows:
                # compare-and-set: only one sender wins a row
                taken = con.execute(OUTBOX.update().where(
                    OUTBOX.c.message_id == row.message_id, OUTBOX.c.status == row.status,
                    OUTBOX.c.next_attempt_at == row.next_attempt_at
                ).values(status="sending", lease_until=at + LEASE)).rowcount
                if taken:
                    claimed.append(Stored.of(row))
        return claimed

    def delivered(self, message: Stored, at: datetime | None = None) -> None:
        at = at or now()
        repeat = message.repeat_seconds and message.acked_at is None
        with self.engine.begin() as con:
            con.execute(OUTBOX.update().where(OUTBOX.c.message_id == message.message_id).values(
                status="sent", sent_at=at, lease_until=None, last_error=None,
                attempts=OUTBOX.c.attempts + 1, deliveries=OUTBOX.c.deliveries + 1,
                next_attempt_at=at + timedelta(seconds=message.repeat_seconds) if repeat else at))
            # acknowledged while it was being sent: the acknowledgement stands
            con.execute(OUTBOX.update().where(OUTBOX.c.message_id == message.message_id,
                                              OUTBOX.c.acked_at.is_not(None))
                        .values(status="acknowledged"))

    def failed(self, message: Stored, error: str, retry_in: timedelta | None,
               at: datetime | None = None) -> str:
        """Record a failed attempt: pending again after ``retry_in``, or dead (None). For a
        repeating message already delivered once, a failed repeat keeps it sent."""
        at = at or now()
        status = "dead" if retry_in is None else "pending"
        if message.deliveries and status == "pending":
            status = "sent"
        with self.engine.begin() as con:
            con.execute(OUTBOX.update().where(OUTBOX.c.message_id == message.message_id).values(
                status=status, attempts=OUTBOX.c.attempts + 1, last_error=error[:2000],
                lease_until=None, next_attempt_at=at + (retry_in or timedelta())))
        return status

    def release(self, message: Stored) -> None:
        """Hand a claimed row back as it was, no attempt counted (not tried this round)."""
        with self.engine.begin() as con:
            con.execute(OUTBOX.update().where(OUTBOX.c.message_id == message.message_id,
                                              OUTBOX.c.status == "sending")
                        .values(status="sent" if message.deliveries else "pending", lease_until=None))

    def acknowledge(self, message_id: str, by: str, at: datetime | None = None) -> Stored | None:
        """A person acknowledged the message: repeats stop. None: no such message."""
        at = at or now()
        with self.engine.begin() as con:
            con.execute(OUTBOX.update().where(OUTBOX.c.message_id == message_id,
                                              OUTBOX.c.acked_at.is_(None)).values(
                acked_at=at, acked_by=by,
                status=sa.case((OUTBOX.c.status.in_(("sent", "dead")), "acknowledged"),
                               else_=OUTBOX.c.status)))
        return self.get(message_id)

    def resend(self, message_id: str, at: datetime | None = None) -> Stored | None:
        """Deliver the message again (a dead letter, or one sent): due now, attempts afresh."""
        at = at or now()
        with self.engine.begin() as con:
            con.execute(OUTBOX.update().where(OUTBOX.c.message_id == message_id,
                                              OUTBOX.c.status != "sending").values(
                status="pending", attempts=0, next_attempt_at=at, last_error=None,
                acked_at=None, acked_by=None))
        return self.get(message_id)

    def cancel_for(self, recipient: str, reason: str, at: datetime | None = None) -> list[str]:
        """Stop every message to ``recipient`` still due (pending, or repeating and not yet
        acknowledged): each becomes dead with ``reason`` as its last error (a guest's contact
        erased, say). A message a sender holds right now is left to it. The ids stopped."""
        at = at or now()
        due = sa.and_(OUTBOX.c.recipient == recipient, sa.or_(
            OUTBOX.c.status == "pending",
            sa.and_(OUTBOX.c.status == "sent", OUTBOX.c.repeat_seconds.is_not(None),
                    OUTBOX.c.acked_at.is_(None))))
        with self.engine.begin() as con:
            ids = [r.message_id for r in con.execute(sa.select(OUTBOX.c.message_id).where(due))]
            if ids:
                con.execute(OUTBOX.update().where(OUTBOX.c.message_id.in_(ids), due).values(
                    status="dead", last_error=reason[:2000], lease_until=None, next_attempt_at=at))
        return ids

    # -- reading ---------------------------------------------------------------------------

    def get(self, message_id: str) -> Stored | None:
        with self.engine.connect() as con:
            row = con.execute(OUTBOX.select().where(OUTBOX.c.message_id == message_id)).first()
        return Stored.of(row) if row else None

    def by_key(self, key: str) -> Stored | None:
        with self.engine.connect() as con:
            row = con.execute(OUTBOX.select().where(OUTBOX.c.idempotency_key == key)).first()
        return Stored.of(row) if row else None

    def list(self, status: str | None = None, workflow: str | None = None,
             recipient: str | None = None, key_prefix: str | None = None,
             limit: int = 100) -> list[Stored]:
        query = OUTBOX.select().order_by(OUTBOX.c.created_at.desc()).limit(limit)
        for column, value in (("status", status), ("workflow", workflow), ("recipient", recipient)):
            if value is not None:
                query = query.where(OUTBOX.c[column] == value)
        if key_prefix:
            query = query.where(OUTBOX.c.idempotency_key.startswith(key_prefix))
        with self.engine.connect() as con:
            return [Stored.of(r) for r in con.execute(query)]

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as con:
            rows = con.execute(sa.select(OUTBOX.c.status, sa.func.count())
                               .group_by(OUTBOX.c.status)).all()
        return {s: n for s, n in rows}

    def take_older_than(self, cutoff: datetime) -> list[dict]:
        """Remove and return the finished rows (sent, dead, acknowledged, not repeating) created
        before ``cutoff``, without their bodies (the archival moves them to the lake)."""
        finished = sa.and_(OUTBOX.c.created_at < cutoff,
                           sa.or_(OUTBOX.c.status.in_(("dead", "acknowledged")),
                                  sa.and_(OUTBOX.c.status == "sent",
                                          OUTBOX.c.repeat_seconds.is_(None))))
        columns = [OUTBOX.c[c] for c in ("message_id", "idempotency_key", "workflow", "channel",
                                         "recipient", "language", "subject", "status",
                                         "attempts", "last_error", "created_at", "sent_at")]
        with self.engine.begin() as con:
            rows = [dict(r._mapping) for r in con.execute(sa.select(*columns).where(finished))]
            con.execute(OUTBOX.delete().where(finished))
        for r in rows:
            r["created_at"], r["sent_at"] = _aware(r["created_at"]), _aware(r["sent_at"])
        return rows


class _Row:
    """A dict seen as a row (``Stored.of`` of what was just inserted)."""

    def __init__(self, values: dict):
        self._mapping = values
