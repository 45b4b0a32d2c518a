"""Marts built once per test session from the real extract and a small synthetic chain."""

import shutil
from pathlib import Path

import duckdb
import pytest

from base.settings import get_settings
from tests.conftest import innsight_home


@pytest.fixture(scope="session")
def marts_home(tmp_path_factory) -> Path:
    """A data home whose marts file holds the whole real extract and a 5,000-booking chain."""
    home = tmp_path_factory.mktemp("ml") / "home"
    with innsight_home(home):
        import dagster as dg

        from orchestration.instance import prepare_dagster_home
        from lake.synthetic import generate_chain
        from orchestration.warehouse.resources import prepare_manifest

        prepare_dagster_home()
        (home / "landing" / "pms").mkdir(parents=True)
        shutil.copyfile(get_settings().bundled_extract, home / "landing" / "pms" / "hotel_bookings.csv.gz")
        generate_chain(home / "landing", bookings=5_000, seed=11)
        prepare_manifest()
        from orchestration.definitions import defs

        with dg.DagsterInstance.get() as instance:
            assert defs.resolve_job_def("build_lakehouse").execute_in_process(instance=instance).success
    return home


@pytest.fixture
def marts(marts_home, monkeypatch) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the session's marts; INNSIGHT_HOME points at its home."""
    monkeypatch.setenv("INNSIGHT_HOME", str(marts_home))
    get_settings.cache_clear()
    con = duckdb.connect(str(get_settings().marts_path), read_only=True)
    yield con
    con.close()
    get_settings.cache_clear()
