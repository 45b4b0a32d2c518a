"""The production profile: SQL registry on the machine's PostgreSQL, Redis online store."""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

from base.settings import Settings
from tests.features.conftest import known_booking_day, use_home

pytestmark = pytest.mark.production

REDIS_TEST_DB = 15


@pytest.fixture
def production(feast_sources_home, monkeypatch):
    import psycopg
    import redis

    defaults = Settings()
    try:
        redis.Redis.from_url(defaults.redis_url, socket_connect_timeout=3).ping()
    except redis.exceptions.RedisError as exc:
        pytest.skip(f"Redis not reachable at {defaults.redis_url}: {exc}")
    try:
        admin = psycopg.connect(defaults.postgres_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {defaults.postgres_url}: {exc}")

    from features import config, store

    # Isolation on the shared servers: a throw-away database for the registry, a test
    # Redis database and a project of this test only (Redis keys carry the project).
    suffix = uuid.uuid4().hex[:10]
    database = f"innsight_feast_test_{suffix}"
    admin.execute(f'create database "{database}"')
    parts = urlsplit(defaults.postgres_url)
    url = urlunsplit(parts._replace(path=f"/{database}"))
    redis_parts = urlsplit(defaults.redis_url)
    redis_url = urlunsplit(redis_parts._replace(path=f"/{REDIS_TEST_DB}"))
    monkeypatch.setattr(config, "PROJECT", f"innsight_test_{suffix}")
    settings = use_home(monkeypatch, feast_sources_home, profile="production",
                        postgres_url=url, redis_url=redis_url,
                        feast_database=database)  # if the settings have the field
    try:
        yield settings, url
    finally:
        try:
            store.feature_store().teardown()
        finally:
            store.reset()
            admin.execute(f'drop database if exists "{database}" with (force)')
            admin.close()


def test_registry_in_postgres_and_online_reads_from_redis(production, marts_home, marts_db):
    import psycopg
    import redis

    from features import config, store

    settings, url = production
    assert store.feature_store().config.online_store.type == "redis"
    store.apply()
    with psycopg.connect(url) as con:
        names = {r[0] for r in con.execute(
            "select feature_view_name from feature_views where project_id = %s",
            (config.PROJECT,))}
    assert {"booking_features", "guest_value", "room_type_daily"} <= names

    day = dt.date.fromisoformat(known_booking_day(marts_home))
    start = dt.datetime.combine(day, dt.time(), dt.timezone.utc)
    result = store.materialize(start=start, end=start + dt.timedelta(hours=12),
                               views=["booking_features"])
    assert result["online_store"] == "redis"
    assert redis.Redis.from_url(settings.redis_url).dbsize() > 0

    rows = marts_db.execute(
        """select booking_id, lead_time, adr, deposit_type, market_segment, guest_id
           from fct_bookings where booking_date = ? order by booking_id limit 20""", [day],
    ).fetchall()
    got = store.online_features("booking", [{"booking_id": r[0]} for r in rows])
    assert list(zip(got["booking_id"], got["lead_time"], got["adr"], got["deposit_type"],
                    got["market_segment"], got["guest_id"])) == rows

    # A second process (a fresh store) sees the registry from PostgreSQL.
    store.reset()
    assert store.online_features("cancellation", [{"booking_id": rows[0][0]}])["lead_time"] == [rows[0][1]]
