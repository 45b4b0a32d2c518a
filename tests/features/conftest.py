"""Feature-store fixtures: the session's marts (tests/ml) exported once to a Feast home."""

from __future__ import annotations

from pathlib import Path

import pytest

from base.settings import Settings, get_settings
from tests.ml.conftest import marts_home  # noqa: F401  (the session fixture, re-used here)


@pytest.fixture(scope="session")
def feast_sources_home(marts_home, tmp_path_factory) -> Path:
    """A home whose feast/sources hold the parquet exports of the session's marts."""
    from features.export import export_sources

    home = tmp_path_factory.mktemp("feast") / "home"
    export_sources(Settings(home=home), marts_path=marts_home / "warehouse" / "marts.duckdb")
    return home


def use_home(monkeypatch: pytest.MonkeyPatch, home: Path, **env: str) -> Settings:
    """Point the settings at ``home`` (plus INNSIGHT_* overrides) and drop cached stores."""
    from features import store

    monkeypatch.setenv("INNSIGHT_HOME", str(home))
    monkeypatch.setenv("INNSIGHT_PROFILE", env.pop("profile", "embedded"))
    for key, value in env.items():
        monkeypatch.setenv(f"INNSIGHT_{key.upper()}", value)
    get_settings.cache_clear()
    store.reset()
    return get_settings()


@pytest.fixture
def feast_home(feast_sources_home, monkeypatch) -> Path:
    """INNSIGHT_HOME at the exported home, embedded profile; restored afterwards."""
    from features import store

    use_home(monkeypatch, feast_sources_home)
    yield feast_sources_home
    store.reset()
    get_settings.cache_clear()


def known_booking_day(marts_home: Path) -> str:
    """A booking date with bookings of both the real extract and the synthetic chain."""
    import duckdb

    con = duckdb.connect(str(marts_home / "warehouse" / "marts.duckdb"), read_only=True)
    try:
        return str(con.execute(
            """select booking_date from fct_bookings group by booking_date
               having count(guest_id) > 0 and count(*) > count(guest_id)
                  and count(agent) > 0 and count(company) > 0
               order by count(*) desc limit 1"""
        ).fetchone()[0])
    finally:
        con.close()



@pytest.fixture
def marts_db(marts_home):
    """A read-only connection to the session's marts that leaves INNSIGHT_HOME alone
    (the ``marts`` fixture of tests/ml points it at the marts' home)."""
    import duckdb

    con = duckdb.connect(str(marts_home / "warehouse" / "marts.duckdb"), read_only=True)
    yield con
    con.close()
