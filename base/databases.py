"""SQL databases of the platform's own state (the ops database: outbox, contact vault).

One SQLAlchemy engine per URL and process. An embedded SQLite file gets its folder made and
WAL journaling (the API and Dagster's sensors use it at once); a PostgreSQL database that
does not exist yet is created on the server, as the production profile's MLflow and Feast
databases are.
"""

from __future__ import annotations

import functools
from pathlib import Path

import sqlalchemy as sa


@functools.lru_cache(maxsize=None)
def engine(url: str) -> sa.Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        made = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(made, "connect")
        def _wal(connection, _):
            connection.execute("pragma journal_mode=wal")
            connection.execute("pragma synchronous=normal")

        return made
    ensure_database(url)
    return sa.create_engine(url, pool_pre_ping=True)


@functools.lru_cache(maxsize=None)
def engine_with(url: str, metadata: sa.MetaData) -> sa.Engine:
    """The engine of ``url`` with ``metadata``'s tables made if missing, once per process."""
    made = engine(url)
    metadata.create_all(made)
    return made


@functools.lru_cache(maxsize=None)
def ensure_database(url: str) -> None:
    """Create the PostgreSQL database of ``url`` on its server if it does not exist yet
    (once per process and URL); any other URL is left alone."""
    target = sa.make_url(url)
    if not target.drivername.startswith("postgresql"):
        return
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as con:
            exists = con.execute(sa.text("select 1 from pg_database where datname = :d"),
                                 {"d": target.database}).scalar()
            if not exists:
                con.execute(sa.text(f'create database "{target.database}"'))
    finally:
        admin.dispose()
