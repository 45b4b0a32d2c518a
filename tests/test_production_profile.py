"""The production profile: Dagster instance storage on the machine's real PostgreSQL."""

import dataclasses
import uuid

import dagster as dg
import psycopg2
import pytest

from orchestration.instance import prepare_dagster_home
from base.settings import get_settings
from lake.sources import SOURCES
from orchestration.ingest.assets import build_bronze_asset
from tests.conftest import drop

pytestmark = pytest.mark.production


@pytest.fixture
def production(home, monkeypatch):
    monkeypatch.setenv("INNSIGHT_PROFILE", "production")
    get_settings.cache_clear()
    url = get_settings().postgres_url
    try:
        psycopg2.connect(url, connect_timeout=3).close()
    except psycopg2.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {url}: {exc}")
    monkeypatch.setenv("DAGSTER_HOME", prepare_dagster_home())
    return url


def test_runs_and_materialisations_are_stored_in_postgres(production):
    drop(get_settings().home, "pms", "rooms_test.csv",
         "hotel,room_number,room_type,floor,max_occupancy,base_rate\nCity Hotel,101,A,1,2,95\n")
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        result = dg.materialize([build_bronze_asset(SOURCES["pms_rooms"])], instance=instance)
        assert result.success
        assert instance.get_run_by_id(result.run_id) is not None
        event = instance.get_latest_materialization_event(dg.AssetKey(["bronze", "pms_rooms"]))
        assert event.run_id == result.run_id
    with psycopg2.connect(production) as con, con.cursor() as cur:
        cur.execute("select count(*) from runs where run_id = %s", (result.run_id,))
        assert cur.fetchone()[0] == 1


def test_mlflow_tracks_and_registers_in_postgres(production, monkeypatch):
    from tests.ml.test_tracking import candidate
    from ml.registry import champion_version, log_and_promote

    database = get_settings().mlflow_database
    admin = psycopg2.connect(production)
    admin.autocommit = True  # CREATE DATABASE runs outside a transaction
    with admin.cursor() as cur:
        cur.execute("select 1 from pg_database where datname = %s", (database,))
        if cur.fetchone() is None:
            cur.execute(f'create database "{database}"')
    admin.close()
    assert get_settings().mlflow_uri.endswith(f"/{database}")
    name = f"toy_{uuid.uuid4().hex[:8]}"  # the server's database outlives test runs
    registration = log_and_promote(dataclasses.replace(candidate(2.5), name=name))
    assert registration.promoted and registration.version == champion_version(name)
    mlflow_url = get_settings().mlflow_uri
    with psycopg2.connect(mlflow_url) as con, con.cursor() as cur:
        cur.execute("select count(*) from model_versions where name = %s and version = %s",
                    (name, int(registration.version)))
        assert cur.fetchone()[0] == 1
