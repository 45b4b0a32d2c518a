"""The Feast repository configuration, built in code from the settings (no feature_store.yaml).

Embedded profile: file registry ``<home>/feast/registry.db``, DuckDB offline store over the
parquet exports in ``<home>/feast/sources/``, SQLite online store ``<home>/feast/online.db``.
Production profile: SQL registry on PostgreSQL and Redis online store; the offline store
stays DuckDB over the parquet exports.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from feast import RepoConfig
from feast.infra.offline_stores.duckdb import DuckDBOfflineStoreConfig
from feast.infra.online_stores.redis import RedisOnlineStoreConfig
from feast.infra.online_stores.sqlite import SqliteOnlineStoreConfig
from feast.infra.registry.sql import SqlRegistryConfig
from feast.repo_config import RegistryConfig

from innsight.settings import Settings, get_settings

PROJECT = "innsight"


def feast_dir(settings: Settings | None = None) -> Path:
    """All local Feast state: registry, online store (embedded), source exports."""
    return (settings or get_settings()).home / "feast"


def sources_dir(settings: Settings | None = None) -> Path:
    """Parquet exports of the marts that the offline store reads."""
    return feast_dir(settings) / "sources"


def registry_url(settings: Settings) -> str:
    """SQLAlchemy URL of the production SQL registry (psycopg 3 driver).

    ``settings.postgres_url``'s server with the database ``settings.feast_database`` (as
    ``mlflow_database`` does): Feast's registry tables have generic names (projects,
    entities, feature_views, ...), so they get a database of their own.
    """
    url = f"{settings.postgres_url.rsplit('/', 1)[0]}/{settings.feast_database}"
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def ensure_registry_database(settings: Settings) -> None:
    """Create the registry's PostgreSQL database when it is not ``postgres_url``'s own and
    does not exist yet (the server's admin connection is ``postgres_url``)."""
    url = registry_url(settings)
    if not url.startswith("postgresql+psycopg://"):
        return
    database = unquote(urlsplit(url).path.lstrip("/"))
    if not database or database == unquote(urlsplit(settings.postgres_url).path.lstrip("/")):
        return
    import psycopg

    with psycopg.connect(settings.postgres_url, autocommit=True, connect_timeout=5) as admin:
        if admin.execute("select 1 from pg_database where datname = %s", (database,)).fetchone():
            return
        admin.execute(f'create database "{database}"')


def redis_connection_string(url: str) -> str:
    """``redis://[:password@]host:port/db`` (or ``rediss://``) in Feast's ``host:port,db=N,...`` form."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"Not a redis:// URL: {url!r}")
    out = [f"{parts.hostname or '127.0.0.1'}:{parts.port or 6379}"]
    db = parts.path.lstrip("/")
    out.append(f"db={int(db) if db else 0}")
    if parts.username and parts.username != "default":
        out.append(f"username={unquote(parts.username)}")
    if parts.password:
        out.append(f"password={unquote(parts.password)}")
    if parts.scheme == "rediss":
        out.append("ssl=true")
    return ",".join(out)


def repo_config(settings: Settings | None = None) -> RepoConfig:
    """The RepoConfig of the settings' profile."""
    settings = settings or get_settings()
    home = feast_dir(settings)
    registry: RegistryConfig
    online: RedisOnlineStoreConfig | SqliteOnlineStoreConfig
    if settings.profile == "production":
        registry = SqlRegistryConfig(
            registry_type="sql",
            path=registry_url(settings),
            cache_ttl_seconds=60,
            sqlalchemy_config_kwargs={"echo": False, "pool_pre_ping": True},
        )
        online = RedisOnlineStoreConfig(
            connection_string=redis_connection_string(settings.redis_url),
            # One writer (the materialisation asset); a corrected row keeps its event
            # timestamp, so Feast's same-timestamp dedup would drop the correction.
            skip_dedup=True,
        )
    else:
        registry = RegistryConfig(
            registry_type="file", path=str(home / "registry.db"), cache_ttl_seconds=60
        )
        online = SqliteOnlineStoreConfig(path=str(home / "online.db"))
    return RepoConfig(
        project=PROJECT,
        provider="local",
        registry=registry,
        offline_store=DuckDBOfflineStoreConfig(),
        online_store=online,
        repo_path=home,
        entity_key_serialization_version=3,
    )
