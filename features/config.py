"""The Feast repository configuration, built in code (no feature_store.yaml).

Embedded profile: file registry ``<home>/feast/registry.db``, DuckDB offline store over the
parquet exports in ``<home>/feast/sources/``, SQLite online store ``<home>/feast/online.db``.
Production profile: SQL registry on PostgreSQL and Redis online store; the offline store
stays DuckDB over the parquet exports.
"""

from __future__ import annotations

from dataclasses import dataclass

from pathlib import Path
from urllib.parse import unquote, urlsplit

from feast import RepoConfig
from feast.infra.offline_stores.duckdb import DuckDBOfflineStoreConfig
from feast.infra.online_stores.redis import RedisOnlineStoreConfig
from feast.infra.online_stores.sqlite import SqliteOnlineStoreConfig
from feast.infra.registry.sql import SqlRegistryConfig
from feast.repo_config import RegistryConfig

PROJECT = "innsight"


@dataclass(frozen=True)
class StoreConfig:
    """Where the feature store keeps its state: a folder (registry file, SQLite online
    store and source exports) or, in production, a SQL registry and Redis."""

    directory: Path  # <home>/feast: source exports, and the registry + online store (embedded)
    production: bool = False
    redis_url: str = "redis://127.0.0.1:6379/0"
    postgres_url: str = "postgresql://postgres@127.0.0.1:5432/test"  # the server's admin URL
    database: str = "innsight_feast"  # the registry's own database on that server

    @classmethod
    def from_settings(cls, settings) -> "StoreConfig":
        return cls(settings.home / "feast", settings.profile == "production", settings.redis_url,
                   settings.postgres_url, settings.feast_database)

    @property
    def sources_dir(self) -> Path:
        """Parquet exports of the marts that the offline store reads."""
        return self.directory / "sources"

    def source_path(self, name: str) -> Path:
        return self.sources_dir / f"{name}.parquet"

    @property
    def registry_url(self) -> str:
        """SQLAlchemy URL of the production SQL registry (psycopg 3 driver).

        ``postgres_url``'s server with the database ``database`` (as MLflow's database
        does): Feast's registry tables have generic names (projects, entities,
        feature_views, ...), so they get a database of their own.
        """
        url = f"{self.postgres_url.rsplit('/', 1)[0]}/{self.database}"
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix):]
        return url


def ensure_registry_database(config: StoreConfig) -> None:
    """Create the registry's PostgreSQL database when it is not ``postgres_url``'s own and
    does not exist yet (the server's admin connection is ``postgres_url``)."""
    url = config.registry_url
    if not url.startswith("postgresql+psycopg://"):
        return
    database = unquote(urlsplit(url).path.lstrip("/"))
    if not database or database == unquote(urlsplit(config.postgres_url).path.lstrip("/")):
        return
    import psycopg

    with psycopg.connect(config.postgres_url, autocommit=True, connect_timeout=5) as admin:
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


def repo_config(config: StoreConfig) -> RepoConfig:
    """Feast's RepoConfig for this store."""
    home = config.directory
    registry: RegistryConfig
    online: RedisOnlineStoreConfig | SqliteOnlineStoreConfig
    if config.production:
        registry = SqlRegistryConfig(
            registry_type="sql",
            path=config.registry_url,
            cache_ttl_seconds=60,
            sqlalchemy_config_kwargs={"echo": False, "pool_pre_ping": True},
        )
        online = RedisOnlineStoreConfig(
            connection_string=redis_connection_string(config.redis_url),
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
