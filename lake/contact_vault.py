"""The contact vault: guests' clear contact details, encrypted, apart from the lake.

The lake holds contact details only as pseudonyms (``lake.pseudonymise``); a message still
needs an address. The guests ingest writes the clear fields here, each value encrypted
(Fernet: AES-128-CBC + HMAC) under a key derived from ``INNSIGHT_VAULT_KEY``; only the
outbox's sender reads them, and ``erase`` removes a guest on request. One table of the ops
database: SQLite by default, PostgreSQL in production.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa
from cryptography.fernet import Fernet

from base.databases import engine_with

METADATA = sa.MetaData()
CONTACTS = sa.Table(
    "contact_vault", METADATA,
    sa.Column("guest_id", sa.String(128), primary_key=True),
    sa.Column("name", sa.LargeBinary), sa.Column("email", sa.LargeBinary),
    sa.Column("phone", sa.LargeBinary),
    sa.Column("language", sa.String(8)),  # not secret: which template to render
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
FIELDS = ("name", "email", "phone")
# The guest's language from their country (ISO 3166 alpha-3, as the PMS exports it).
LANGUAGES = {"VNM": "vi"}


@dataclass(frozen=True)
class Contact:
    guest_id: str
    name: str | None
    email: str | None
    phone: str | None
    language: str


class ContactVault:
    """Encrypted contact details by guest id (the engine is made on first use)."""

    def __init__(self, url: str, key: str):
        self.url = url
        self._fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))

    @classmethod
    def from_settings(cls, settings) -> "ContactVault":
        return cls(settings.ops_database_url, settings.vault_key.get_secret_value())

    @property
    def _engine(self) -> sa.Engine:
        return engine_with(self.url, METADATA)

    def _seal(self, value: str | None) -> bytes | None:
        return None if value is None or not str(value).strip() else self._fernet.encrypt(str(value).strip().encode())

    def _open(self, value: bytes | None) -> str | None:
        return None if value is None else self._fernet.decrypt(bytes(value)).decode()

    def put(self, rows: list[dict]) -> int:
        """Insert or replace guests' contacts: dicts of guest_id, name, email, phone, country."""
        now = datetime.now(timezone.utc)
        records = [{"guest_id": r["guest_id"], **{f: self._seal(r.get(f)) for f in FIELDS},
                    "language": LANGUAGES.get((r.get("country") or "").upper(), "en"),
                    "updated_at": now} for r in rows if r.get("guest_id")]
        if not records:
            return 0
        with self._engine.begin() as con:
            # delete + insert: one portable upsert for SQLite and PostgreSQL
            ids = [r["guest_id"] for r in records]
            for i in range(0, len(ids), 500):
                con.execute(CONTACTS.delete().where(CONTACTS.c.guest_id.in_(ids[i:i + 500])))
            con.execute(CONTACTS.insert(), records)
        return len(records)

    def get(self, guest_id: str) -> Contact | None:
        with self._engine.connect() as con:
            row = con.execute(CONTACTS.select().where(CONTACTS.c.guest_id == guest_id)).first()
        if row is None:
            return None
        return Contact(guest_id, *(self._open(getattr(row, f)) for f in FIELDS), row.language)

    def erase(self, guest_id: str) -> bool:
        """Remove the guest's contact details; whether there were any."""
        with self._engine.begin() as con:
            return con.execute(CONTACTS.delete().where(CONTACTS.c.guest_id == guest_id)).rowcount > 0

    def count(self) -> int:
        with self._engine.connect() as con:
            return con.execute(sa.select(sa.func.count()).select_from(CONTACTS)).scalar_one()
