"""POST / GET /api/v1/ops/logs: batches of service logs into the lake table
ops/service_logs, read back by service, level and time; who may do what; and the log
monitor reading them (monitoring/analyze sent no logs). An app of its own on an empty home
(not started: these routes need no model)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl
import pytest
from fastapi.testclient import TestClient

from base.settings import Settings
from lake.delta_tables import Lake
from tests.serving.conftest import bearer

LOGS = "/api/v1/ops/logs"
NOW = datetime.now(timezone.utc).replace(microsecond=0)


def at(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def home_settings(tmp_path_factory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("ops_logs") / "home", champion_poll_seconds=3600,
                    predictions_flush_seconds=3600)


@pytest.fixture(scope="module")
def app(home_settings):
    from serving.app import create_app

    return TestClient(create_app(home_settings), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def posted(app, home_settings):
    """Two batches: a quiet hour of cv and api logs, then a burst of cv errors."""
    service = bearer(home_settings, "service")
    quiet = [{"service": "cv", "level": "info", "message": f"frame {i} processed",
              "logged_at": at(60 - i), "logger": "vision.faces"} for i in range(0, 60, 10)]
    quiet += [{"service": "api", "level": "WARN", "message": "slow request: 2.4 s",
               "logged_at": at(30), "correlation_id": "c0ffee", "attributes": {"route": "/x", "ms": 2400}},
              {"service": "cv", "level": "error", "message": "Recognition failed: camera cam_3 timed out",
               "logged_at": at(50)}]
    r = app.post(LOGS, json={"records": quiet}, headers=service)
    assert r.status_code == 201, r.text
    burst = [{"service": "cv", "level": "error" if i % 4 else "critical",
              "message": f"Recognition failed: camera cam_{i % 3} timed out",
              "logged_at": at(i / 10)} for i in range(12)]
    burst.append({"service": "api", "level": "info", "message": "no time: stamped when received"})
    r = app.post(LOGS, json={"records": burst}, headers=service)
    assert r.status_code == 201, r.text
    return {"quiet": quiet, "burst": burst, "answer": r.json()}


def test_a_batch_is_one_append_to_the_lake_table(app, home_settings, posted):
    answer = posted["answer"]
    assert answer["accepted"] == len(posted["burst"]) == len(answer["log_ids"])
    assert answer["table"] == "ops/service_logs"
    lake = Lake.from_settings(home_settings)
    table = lake.read("ops/service_logs")
    assert table.height == len(posted["quiet"]) + len(posted["burst"])
    assert set(answer["log_ids"]) <= set(table["log_id"])
    from deltalake import DeltaTable

    history = DeltaTable(lake.uri("ops/service_logs")).history()
    assert sum(1 for h in history if h["operation"] == "WRITE") == 3  # created, then one per batch
    row = table.filter(pl.col("correlation_id") == "c0ffee").row(0, named=True)
    assert row["level"] == "warning" and row["client"] == "tester" and row["service"] == "api"
    assert row["logged_date"] == row["logged_at"].date()
    stamped = table.filter(pl.col("message").str.starts_with("no time")).row(0, named=True)
    assert stamped["logged_at"] == stamped["received_at"]


def test_logs_are_read_by_service_level_and_time_newest_first(app, home_settings, posted):
    reader = bearer(home_settings, "monitoring")
    r = app.get(LOGS, headers=reader)
    assert r.status_code == 200, r.text
    records = r.json()["records"]
    assert len(records) == len(posted["quiet"]) + len(posted["burst"])
    times = [x["logged_at"] for x in records]
    assert times == sorted(times, reverse=True)

    r = app.get(LOGS, params={"service": "api"}, headers=reader).json()
    assert {x["service"] for x in r["records"]} == {"api"} and r["count"] == 2
    assert next(x for x in r["records"] if x["correlation_id"] == "c0ffee")["attributes"] == \
        {"route": "/x", "ms": 2400}

    errors = app.get(LOGS, params={"level": "error"}, headers=reader).json()["records"]
    assert errors and {x["level"] for x in errors} == {"error", "critical"}
    assert len(errors) == 13
    warnings = app.get(LOGS, params={"level": "warning", "service": "api"}, headers=reader).json()
    assert [x["level"] for x in warnings["records"]] == ["warning"]

    window = {"since": at(55), "until": at(20), "service": "cv"}
    got = app.get(LOGS, params=window, headers=reader).json()["records"]
    # since inclusive, until exclusive: the infos of 50, 40 and 30 minutes ago, the error of 50
    assert sorted(x["message"] for x in got) == ["Recognition failed: camera cam_3 timed out",
                                                 "frame 10 processed", "frame 20 processed",
                                                 "frame 30 processed"]
    limited = app.get(LOGS, params={"limit": 3}, headers=reader).json()
    assert limited["count"] == 3 and limited["records"] == records[:3]

    naive = app.get(LOGS, params={"since": "2026-01-01T00:00:00"}, headers=reader)
    assert naive.status_code == 422, naive.text
    assert app.get(LOGS, params={"level": "loud"}, headers=reader).status_code == 422


def test_who_may_post_and_read(app, home_settings):
    one = {"records": [{"service": "cv", "level": "info", "message": "hello"}]}
    assert app.post(LOGS, json=one).status_code == 401
    assert app.get(LOGS).status_code == 401
    monitoring = bearer(home_settings, "monitoring")  # ops:read only
    r = app.post(LOGS, json=one, headers=monitoring)
    assert r.status_code == 403 and "'ops:write' permission" in r.json()["message"], r.text
    revenue = bearer(home_settings, "revenue_manager")
    assert app.get(LOGS, headers=revenue).status_code == 403
    # invalid batches: empty, a naive time, an unknown level, an unknown field
    service = bearer(home_settings, "service")
    for bad in ({"records": []},
                {"records": [{"service": "cv", "level": "info", "message": "x", "logged_at": "2026-01-01T08:00:00"}]},
                {"records": [{"service": "cv", "level": "loud", "message": "x"}]},
                {"records": [{"service": "cv", "level": "info", "message": "x", "host": "a"}]}):
        r = app.post(LOGS, json=bad, headers=service)
        assert r.status_code == 422 and r.json()["details"], r.text


def test_the_log_monitor_reads_the_stored_logs(app, home_settings, posted):
    """monitoring/analyze sent no logs reads ops/service_logs: the burst of cv errors is a
    spike against cv's own quiet hour."""
    llm = bearer(home_settings, "front_desk")
    # judged as of the burst (the suite may import this module long before the test runs)
    r = app.post("/api/v1/llm/monitoring/analyze", params={"service": "cv", "until": at(-1)},
                 headers=llm)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["anomalies_detected"], body
    (issue,) = body["issues"]
    assert issue["service"] == "cv" and issue["count"] == 12
    assert issue["severity"] in ("high", "critical")
    assert body["alert_sent"] and body["alert_ids"]
    # a window before the burst: nothing stands out
    quiet = app.post("/api/v1/llm/monitoring/analyze", headers=llm,
                     params={"since": at(70), "until": at(20)})
    assert quiet.status_code == 200 and not quiet.json()["anomalies_detected"], quiet.text
    # logs in the body are still analysed as they are
    sent = app.post("/api/v1/llm/monitoring/analyze", headers=llm, json={"logs": [
        {"service": "pos", "level": "info", "message": "ok", "timestamp": at(1)}]})
    assert sent.status_code == 200 and not sent.json()["anomalies_detected"], sent.text
