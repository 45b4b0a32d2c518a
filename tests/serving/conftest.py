"""A served platform once per session: the session's marts (tests/ml), every champion
trained and registered, the feature store applied and materialised (bookings of one day,
every guest), and a price schedule in the lake; then the API app on it."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from base.settings import Settings, get_settings
from tests.conftest import innsight_home
from tests.features.conftest import known_booking_day
from tests.ml.conftest import marts_home  # noqa: F401  (the session fixture, re-used here)


@pytest.fixture(scope="session")
def platform_home(marts_home, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("serving") / "home"
    shutil.copytree(marts_home, home)
    import duckdb

    from features import store
    from ml.catalog import MODELS, candidates
    from ml.registry import log_and_promote
    from orchestration.ml.dynamic_pricing import publish_schedule

    with innsight_home(home):
        store.reset()
        with duckdb.connect(str(get_settings().marts_path), read_only=True) as marts:
            for spec in MODELS.values():
                for candidate in candidates(spec.train(marts)):
                    log_and_promote(candidate)
        store.export_sources()
        store.apply()
        day = dt.datetime.combine(dt.date.fromisoformat(known_booking_day(home)), dt.time(),
                                  dt.timezone.utc)
        store.materialize(start=day, end=day + dt.timedelta(hours=12), views=["booking_features"])
        store.materialize(views=["guest_clv_inputs"])
        publish_schedule(dt.date.today(), 7)
    store.reset()
    return home


@pytest.fixture(scope="session")
def api_settings(platform_home) -> Settings:
    return Settings(home=platform_home, champion_poll_seconds=3600, predictions_flush_seconds=3600)


@pytest.fixture(scope="session")
def client(api_settings):
    """The app on the served platform, started (lifespan) once for the session."""
    from fastapi.testclient import TestClient

    from serving.app import create_app

    os.environ["INNSIGHT_HOME"] = str(api_settings.home)
    get_settings.cache_clear()
    with TestClient(create_app(api_settings)) as c:
        yield c
    os.environ.pop("INNSIGHT_HOME", None)
    get_settings.cache_clear()


def bearer(settings: Settings, *roles: str, **kw) -> dict[str, str]:
    from serving.auth import issue_token

    return {"Authorization": f"Bearer {issue_token('tester', list(roles), settings=settings, **kw)}"}


@pytest.fixture(scope="session")
def reader(api_settings) -> dict[str, str]:
    """A revenue manager's token (ml:read), with room for the whole session's requests."""
    return bearer(api_settings, "revenue_manager", rate_limit="100000/minute")


@pytest.fixture(scope="session")
def served_bookings(platform_home) -> list[str]:
    """Ids of the bookings materialised into the online store."""
    import duckdb

    day = known_booking_day(platform_home)
    with duckdb.connect(str(platform_home / "warehouse" / "marts.duckdb"), read_only=True) as marts:
        return [r[0] for r in marts.execute(
            "select booking_id from fct_bookings where booking_date = ? order by booking_id", [day]).fetchall()]
