"""The API's health endpoints before and after the marts file exists."""

import duckdb
from fastapi.testclient import TestClient

from base.settings import get_settings
from serving.app import create_app


def test_health_reports_missing_marts_and_readiness_fails(home):
    client = TestClient(create_app())
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["marts"]["available"] is False
    assert client.get("/health/live").status_code == 200
    ready = client.get("/health/ready")
    assert ready.status_code == 503 and "make up" in ready.json()["reason"]


def test_health_lists_mart_tables_once_published(home):
    path = get_settings().marts_path
    path.parent.mkdir(parents=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create table fct_bookings as select 1 as booking_id")
    client = TestClient(create_app())
    assert client.get("/health").json()["marts"]["tables"] == ["fct_bookings"]
    assert client.get("/health/ready").status_code == 200
