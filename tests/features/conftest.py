"""Feature-store fixtures: the session's marts (tests/ml) exported once to a Feast home."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from base.settings import Settings
from features.store import FeatureStore


@pytest.fixture(scope="session")
def feast_sources_home(marts_home, tmp_path_factory) -> Path:
    """A home whose feast/sources hold the parquet exports of the session's marts."""
    settings = Settings(home=tmp_path_factory.mktemp("feast") / "home")
    FeatureStore.from_settings(settings).export_sources(marts_home / "warehouse" / "marts.duckdb")
    return settings.home


@pytest.fixture
def feast_settings(feast_sources_home) -> Settings:
    """Embedded-profile settings of the exported home."""
    return Settings(home=feast_sources_home)


@pytest.fixture
def feature_store(feast_settings) -> FeatureStore:
    """A feature store of the exported home, opened for this test only."""
    return FeatureStore.from_settings(feast_settings)


@pytest.fixture
def marts_db(marts_home):
    """A read-only connection to the session's marts."""
    con = duckdb.connect(str(marts_home / "warehouse" / "marts.duckdb"), read_only=True)
    yield con
    con.close()
