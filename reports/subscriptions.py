"""Who receives which report: subscriptions in the ops database.

A subscription is an email address, the properties whose reports it receives (hotel codes,
or ``group`` for the group's report), the kinds (daily, weekly, monthly) and one language.
There is one per address: subscribing an address again replaces what it receives, so a
form sent twice, or a manager changing their mind, leaves one subscription, not two.

One table (``report_subscriptions``) of the ops database, beside the outbox (SQLite by
default, PostgreSQL in production), made on first use. Property codes are taken as given:
the caller (the API) checks them against the property master.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa

from base.databases import engine_with
from reports.periods import KINDS
from reports.report_store import LANGUAGES

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")  # a deliverable shape; the mail server says the rest

METADATA = sa.MetaData()
TS = sa.DateTime(timezone=True)
SUBSCRIPTIONS = sa.Table(
    "report_subscriptions", METADATA,
    sa.Column("subscription_id", sa.String(32), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    # JSON lists: a subscription is read whole, never queried by one of its items
    sa.Column("properties", sa.Text, nullable=False),
    sa.Column("kinds", sa.Text, nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
)


@dataclass(frozen=True)
class Subscription:
    subscription_id: str
    email: str
    properties: tuple[str, ...]  # hotel codes, or "group"
    kinds: tuple[str, ...]  # in the order of reports.periods.KINDS
    language: str
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, row) -> "Subscription":
        d = dict(row._mapping)
        created = d["created_at"]
        return cls(subscription_id=d["subscription_id"], email=d["email"],
                   properties=tuple(json.loads(d["properties"])), kinds=tuple(json.loads(d["kinds"])),
                   language=d["language"], created_by=d["created_by"],
                   # SQLite hands back naive datetimes (stored as UTC)
                   created_at=created if created.tzinfo else created.replace(tzinfo=timezone.utc))

    def receives(self, kind: str, prop: str) -> bool:
        return kind in self.kinds and prop in self.properties


def _checked(email: str, properties, kinds, language: str) -> tuple[str, list[str], list[str]]:
    """The address (lower case), the properties (each once, in order) and the kinds (in
    KINDS' order); ValueError saying what is wrong."""
    address = email.strip().lower()
    if not EMAIL.match(address):
        raise ValueError(f"{email!r} is not an email address")
    if isinstance(properties, str) or isinstance(kinds, str):
        raise ValueError("properties and kinds are lists")
    properties, kinds = list(properties), list(kinds)
    if not all(isinstance(p, str) for p in properties):
        raise ValueError(f"properties are hotel codes (text): {properties!r}")
    props = list(dict.fromkeys(p.strip() for p in properties))
    if not props or "" in props:
        raise ValueError("a subscription needs at least one property: a hotel code, or 'group' "
                         "for the group's report (and no empty code)")
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown report kind(s) {unknown}; known kinds: {', '.join(KINDS)}")
    if not kinds:
        raise ValueError(f"a subscription needs at least one kind: {', '.join(KINDS)}")
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; reports are written in "
                         f"{', '.join(LANGUAGES)}")
    return address, props, [k for k in KINDS if k in kinds]


class Subscriptions:
    """The ``report_subscriptions`` table of the database at ``url`` (made on first use)."""

    def __init__(self, url: str):
        self.url = url

    @classmethod
    def from_url(cls, url: str) -> "Subscriptions":
        return cls(url)

    @property
    def engine(self) -> sa.Engine:
        return engine_with(self.url, METADATA)

    def subscribe(self, email: str, properties, kinds, language: str = "en", *, by: str,
                  at: datetime | None = None) -> tuple[Subscription, bool]:
        """Subscribe ``email`` to ``kinds`` of the reports of ``properties``; an address
        already subscribed gets these instead of what it had (its id and creation stay).
        The subscription, and whether it was created (False: updated)."""
        address, props, wanted = _checked(email, properties, kinds, language)
        values = dict(properties=json.dumps(props), kinds=json.dumps(wanted), language=language)
        with self.engine.begin() as con:
            found = con.execute(SUBSCRIPTIONS.select().where(SUBSCRIPTIONS.c.email == address)).first()
            created = found is None
            if created:
                try:
                    with con.begin_nested():
                        con.execute(SUBSCRIPTIONS.insert().values(
                            subscription_id=uuid.uuid4().hex, email=address, created_by=by,
                            created_at=at or datetime.now(timezone.utc), **values))
                except sa.exc.IntegrityError:  # another request subscribed it meanwhile
                    created = False
            if not created:
                con.execute(SUBSCRIPTIONS.update().where(SUBSCRIPTIONS.c.email == address)
                            .values(**values))
            row = con.execute(SUBSCRIPTIONS.select().where(SUBSCRIPTIONS.c.email == address)).one()
        return Subscription.of(row), created

    def list(self, email: str | None = None) -> list[Subscription]:
        """Every subscription by address (or the one of ``email``, any case)."""
        query = SUBSCRIPTIONS.select().order_by(SUBSCRIPTIONS.c.email)
        if email is not None:
            query = query.where(SUBSCRIPTIONS.c.email == email.strip().lower())
        with self.engine.connect() as con:
            return [Subscription.of(r) for r in con.execute(query)]

    def get(self, subscription_id: str) -> Subscription | None:
        with self.engine.connect() as con:
            row = con.execute(SUBSCRIPTIONS.select().where(
                SUBSCRIPTIONS.c.subscription_id == subscription_id)).first()
        return Subscription.of(row) if row else None

    def remove(self, subscription_id: str) -> bool:
        """Unsubscribe; False when there was no such subscription."""
        with self.engine.begin() as con:
            return con.execute(SUBSCRIPTIONS.delete().where(
                SUBSCRIPTIONS.c.subscription_id == subscription_id)).rowcount > 0

    def recipients(self, kind: str, prop: str) -> list[Subscription]:
        """Who receives the ``kind`` report of ``prop`` (a hotel code or "group")."""
        if kind not in KINDS:
            raise ValueError(f"unknown report kind {kind!r}; known kinds: {', '.join(KINDS)}")
        # a group's managers are a few dozen rows: filtered here, the same on both databases
        return [s for s in self.list() if s.receives(kind, prop)]
