"""Marts built once per test session from the real extract and a small synthetic chain."""

from pathlib import Path

import duckdb
import pytest

from base.settings import Settings
from tests.conftest import build_marts


@pytest.fixture(scope="session")
def marts_home(tmp_path_factory) -> Path:
    """A data home whose marts file holds the whole real extract and a 5,000-booking chain."""
    return build_marts(Settings(home=tmp_path_factory.mktemp("ml") / "home"),
                       extract_every=1, chain_bookings=5_000, seed=11)


@pytest.fixture(scope="session")
def marts_settings(marts_home) -> Settings:
    return Settings(home=marts_home)


@pytest.fixture
def marts(marts_settings) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the session's marts."""
    con = duckdb.connect(str(marts_settings.marts_path), read_only=True)
    yield con
    con.close()
