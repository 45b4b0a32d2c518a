"""Marts built once per test session from the real extract and a small synthetic chain."""

import shutil
from pathlib import Path

import duckdb
import pytest

from base.settings import Settings


@pytest.fixture(scope="session")
def marts_home(tmp_path_factory) -> Path:
    """A data home whose marts file holds the whole real extract and a 5,000-booking chain."""
    import dagster as dg

    from lake.synthetic import generate_chain
    from orchestration.definitions import build_definitions
    from orchestration.warehouse.resources import prepare_manifest

    settings = Settings(home=tmp_path_factory.mktemp("ml") / "home")
    home = settings.home
    (home / "landing" / "pms").mkdir(parents=True)
    shutil.copyfile(settings.bundled_extract, home / "landing" / "pms" / "hotel_bookings.csv.gz")
    generate_chain(home / "landing", bookings=5_000, seed=11)
    prepare_manifest(settings)
    defs = build_definitions(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        assert defs.resolve_job_def("build_lakehouse").execute_in_process(instance=instance).success
    return home


@pytest.fixture(scope="session")
def marts_settings(marts_home) -> Settings:
    return Settings(home=marts_home)


@pytest.fixture
def marts(marts_settings) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the session's marts."""
    con = duckdb.connect(str(marts_settings.marts_path), read_only=True)
    yield con
    con.close()
