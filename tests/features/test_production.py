"""The production profile: SQL registry on the machine's PostgreSQL, Redis online store.

Skips only when a server is not listening, outside CI (see tests/test_production_profile.py);
any other connection error fails.
"""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

from base.settings import Settings
from features import config
from features.store import FeatureStore
from tests.conftest import known_booking_day
from tests.test_production_profile import SECRETS, require_listening

pytestmark = pytest.mark.production

REDIS_TEST_DB = 15


@pytest.fixture
def production(feast_sources_home, monkeypatch):
    import psycopg
    import redis

    defaults = Settings(home=feast_sources_home)
    require_listening(defaults.redis_url, "Redis")
    require_listening(defaults.postgres_url, "PostgreSQL")
    redis_url = urlunsplit(urlsplit(defaults.redis_url)._replace(path=f"/{REDIS_TEST_DB}"))
    redis.Redis.from_url(redis_url, socket_connect_timeout=5).ping()  # any error fails
    admin = psycopg.connect(defaults.postgres_url, autocommit=True, connect_timeout=5)

    # Isolation on the shared servers: a registry database of this test only (the store
    # creates it on apply), a test Redis database and a project of this test only (Redis
    # keys carry the project).
    suffix = uuid.uuid4().hex[:10]
    database = f"innsight_feast_test_{suffix}"
    monkeypatch.setattr(config, "PROJECT", f"innsight_test_{suffix}")
    settings = Settings(home=feast_sources_home, profile="production", redis_url=redis_url,
                        feast_database=database, **SECRETS)
    store = FeatureStore.from_settings(settings)
    try:
        yield settings, store
    finally:
        try:
            if store._feast is not None:
                store.feast.teardown()
        finally:
            redis.Redis.from_url(redis_url).flushdb()
            admin.execute(f'drop database if exists "{database}" with (force)')
            admin.close()


def test_registry_in_postgres_and_online_reads_from_redis(production, marts_home, marts_db):
    import psycopg
    import redis

    settings, store = production
    assert store.online_store_type == "redis"
    store.apply()  # creates the registry's database on the server
    registry = store.config.registry_url.replace("postgresql+psycopg://", "postgresql://")
    assert registry.endswith(f"/{settings.feast_database}")
    with psycopg.connect(registry) as con:
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

    # Another store of the same settings (as another process would open) reads the
    # registry from PostgreSQL and the features from Redis.
    fresh = FeatureStore.from_settings(settings)
    assert fresh.online_features("cancellation", [{"booking_id": rows[0][0]}])["lead_time"] == [rows[0][1]]
    # The API's one-key read of Redis answers what Feast's own read does.
    for booking in [r[0] for r in rows] + ["no-such-booking"]:
        feast_read = {k: v[0] for k, v in fresh.online_features("cancellation",
                                                               [{"booking_id": booking}]).items()}
        assert fresh.online_record("cancellation", {"booking_id": booking}) == feast_read
    # A connection the server dropped (a restart, an idle timeout) is replaced, not an error.
    first = {k: v[0] for k, v in fresh.online_features("cancellation",
                                                       [{"booking_id": rows[0][0]}]).items()}
    assert redis.Redis.from_url(settings.redis_url).client_kill_filter(_type="normal", skipme=True) > 0
    assert fresh.online_record("cancellation", {"booking_id": rows[0][0]}) == first
