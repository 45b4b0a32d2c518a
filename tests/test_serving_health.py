"""The API's health endpoints before and after the marts file exists."""

import duckdb
from fastapi.testclient import TestClient

from serving.app import create_app


def test_health_reports_missing_marts_and_readiness_fails(settings):
    client = TestClient(create_app(settings))
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["marts"]["available"] is False
    assert body["profile"] == "embedded"
    assert client.get("/health/live").status_code == 200
    ready = client.get("/health/ready")
    assert ready.status_code == 503 and "make up" in ready.json()["reason"]


def test_health_lists_mart_tables_once_published(settings):
    path = settings.marts_path
    path.parent.mkdir(parents=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create table fct_bookings as select 1 as booking_id")
    client = TestClient(create_app(settings))
    assert client.get("/health").json()["marts"]["tables"] == ["fct_bookings"]
    assert client.get("/health/ready").status_code == 200


def test_create_app_serves_the_settings_it_is_given(settings):
    """Settings are read by the entry point only: an app made with settings serves those
    settings' home; `uvicorn --factory serving.app:create_app` builds Settings() itself."""
    from base.settings import Settings

    app = create_app(settings)
    assert app.state.services.settings is settings
    assert app.state.services.marts.path == settings.marts_path
    assert create_app().state.services.settings == Settings()
