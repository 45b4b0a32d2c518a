"""Configuration from the settings, and the parquet exports the offline store reads."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from base.settings import Settings
from features.config import StoreConfig, redis_connection_string, repo_config
from features.export import SOURCES

SECRETS = {"jwt_secret": "test-jwt-secret", "pseudonym_key": "test-pseudonym-key",
           "vault_key": "test-vault-key", "webhook_secret": "test-webhook-secret"}


def test_embedded_and_production_configs(tmp_path):
    embedded = repo_config(StoreConfig.from_settings(Settings(home=tmp_path)))
    assert embedded.project == "innsight" and embedded.provider == "local"
    assert embedded.registry.path == str(tmp_path / "feast" / "registry.db")
    assert embedded.online_store.type == "sqlite"
    assert embedded.online_store.path == str(tmp_path / "feast" / "online.db")
    assert embedded.offline_store.type == "duckdb"

    production = repo_config(StoreConfig.from_settings(Settings(
        home=tmp_path, profile="production", postgres_url="postgresql://u:p@db:5432/feast",
        redis_url="rediss://:s3cret@cache:6380/2", **SECRETS)))
    assert production.registry.registry_type == "sql"
    assert production.registry.path == "postgresql+psycopg://u:p@db:5432/innsight_feast"
    assert production.online_store.type == "redis"
    assert production.online_store.connection_string == "cache:6380,db=2,password=s3cret,ssl=true"
    assert redis_connection_string("redis://127.0.0.1:6379") == "127.0.0.1:6379,db=0"


def test_registry_database_follows_the_settings(tmp_path):
    def registry_url(**given) -> str:
        return StoreConfig.from_settings(Settings(home=tmp_path, **given)).registry_url

    assert registry_url(postgres_url="postgres://u@db/x", feast_database="f") == "postgresql+psycopg://u@db/f"
    assert registry_url(postgres_url="postgresql://postgres@127.0.0.1:5432/test") == \
        "postgresql+psycopg://postgres@127.0.0.1:5432/innsight_feast"
    config = StoreConfig.from_settings(Settings(home=tmp_path / "h", profile="production", **SECRETS))
    assert config.directory == tmp_path / "h" / "feast" and config.production
    assert config.sources_dir == tmp_path / "h" / "feast" / "sources"


def test_sources_are_microsecond_utc_parquet(feast_sources_home):
    folder = feast_sources_home / "feast" / "sources"
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.parquet" for n in SOURCES)
    for name in SOURCES:
        schema = pq.read_schema(folder / f"{name}.parquet")
        for column in ("event_timestamp", "created_at"):
            assert schema.field(column).type == pa.timestamp("us", tz="UTC"), (name, column)
    bookings = pq.read_table(folder / "booking_features.parquet")
    leaks = {"is_canceled", "reservation_status", "reservation_status_date", "assigned_room_type",
             "booking_changes", "days_in_waiting_list", "is_no_show", "revenue_lost"}
    assert not leaks & set(bookings.column_names)
    assert bookings.num_rows == len(set(bookings["booking_id"].to_pylist()))
