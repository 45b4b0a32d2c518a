"""The production profile on the machine's real services: Dagster's instance storage and
MLflow's registry in PostgreSQL (the Feast registry and Redis: tests/features/test_production.py).

These tests skip only when a service is not listening (connection refused) on a machine that
is not CI; with ``CI`` set they fail, and any other error (a wrong password, a missing
database, a timeout) fails everywhere: a misconfigured server is a failure, not a skip.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import dagster as dg
import psycopg2
import pytest
import yaml

from base.settings import Settings
from lake.ingest import LandingZone
from lake.sources import SOURCES
from ml.registry import ModelRegistry
from orchestration.ingest.assets import build_bronze_asset
from orchestration.instance import instance_config
from tests.conftest import drop, free_port

pytestmark = pytest.mark.production

SECRETS = {"jwt_secret": "test-production-jwt-secret", "pseudonym_key": "test-production-key",
           "vault_key": "test-production-vault-key", "webhook_secret": "test-production-webhook"}
DEFAULT_PORTS = {"postgresql": 5432, "postgres": 5432, "redis": 6379, "rediss": 6379}


def require_listening(url: str, service: str, ci: bool | None = None) -> None:
    """Skip when nothing listens at the URL's host and port (connection refused) outside CI;
    fail in CI. Any other outcome is left to the real connection that follows: an error
    there (authentication, missing database...) fails the test."""
    ci = bool(os.environ.get("CI")) if ci is None else ci
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or DEFAULT_PORTS[parts.scheme]
    try:
        socket.create_connection((host, port), timeout=5).close()
    except ConnectionRefusedError as exc:
        message = f"{service} is not listening at {host}:{port} ({exc})"
        if ci:
            pytest.fail(f"{message}; CI is set, so the service should be there")
        pytest.skip(message)


def production_settings(home: Path, **overrides) -> Settings:
    """The production profile with test secrets; servers from the defaults (or INNSIGHT_*)."""
    return Settings(home=home, profile="production", **{**SECRETS, **overrides})


@pytest.fixture
def production(home) -> Settings:
    settings = production_settings(home)
    require_listening(settings.postgres_url, "PostgreSQL")
    psycopg2.connect(settings.postgres_url, connect_timeout=5).close()  # any error fails
    return settings


def test_a_server_that_refuses_skips_outside_ci_and_fails_in_ci():
    refused = f"postgresql://postgres@127.0.0.1:{free_port()}/test"  # nobody listens there
    with pytest.raises(pytest.skip.Exception, match="not listening"):
        require_listening(refused, "PostgreSQL", ci=False)
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        require_listening(refused, "PostgreSQL", ci=True)


def test_a_listening_server_that_rejects_the_connection_fails_not_skips(production):
    """Reachable but wrong (here: a database that does not exist) is an error, never a skip."""
    wrong = production.postgres_url.rsplit("/", 1)[0] + f"/no_such_db_{uuid.uuid4().hex[:8]}"
    require_listening(wrong, "PostgreSQL", ci=False)  # listening: no skip
    with pytest.raises(psycopg2.OperationalError, match="does not exist"):
        psycopg2.connect(wrong, connect_timeout=5)


def test_runs_and_materialisations_are_stored_in_postgres(production):
    assert instance_config(production)["storage"] == {"postgres": {"postgres_url": production.postgres_url}}
    production.dagster_home.mkdir(parents=True)
    (production.dagster_home / "dagster.yaml").write_text(yaml.safe_dump(instance_config(production)))
    drop(production.home, "pms", "rooms_test.csv",
         "hotel,room_number,room_type,floor,max_occupancy,base_rate\nCity Hotel,101,A,1,2,95\n")
    asset = build_bronze_asset(SOURCES["pms_rooms"], production.freshness_hours,
                               production.quarantine_tolerance)
    with dg.DagsterInstance.from_config(str(production.dagster_home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        result = dg.materialize([asset], instance=instance,
                                resources={"landing": LandingZone.from_settings(production)})
        assert result.success
        assert instance.get_run_by_id(result.run_id) is not None
        event = instance.get_latest_materialization_event(dg.AssetKey(["bronze", "pms_rooms"]))
        assert event.run_id == result.run_id
    with psycopg2.connect(production.postgres_url) as con, con.cursor() as cur:
        cur.execute("select count(*) from runs where run_id = %s", (result.run_id,))
        assert cur.fetchone()[0] == 1


def test_mlflow_tracks_and_registers_in_postgres(production):
    from tests.ml.test_registry import candidate

    # A database the server does not have yet: the registry creates it (a new deployment)
    database = f"innsight_mlflow_{uuid.uuid4().hex[:8]}"
    settings = production.model_copy(update={"mlflow_database": database})
    assert settings.mlflow_uri.endswith(f"/{database}")
    registry = ModelRegistry.from_settings(settings)
    name = f"toy_{uuid.uuid4().hex[:8]}"
    try:
        registration = registry.log_and_promote(dataclasses.replace(candidate(2.5), name=name))
        assert registration.promoted and registration.version == registry.champion_version(name)
        with psycopg2.connect(settings.mlflow_uri) as con, con.cursor() as cur:
            cur.execute("select count(*) from model_versions where name = %s and version = %s",
                        (name, int(registration.version)))
            assert cur.fetchone()[0] == 1
    finally:
        admin = psycopg2.connect(production.postgres_url)
        admin.autocommit = True  # DROP DATABASE runs outside a transaction
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{database}" with (force)')
        admin.close()
