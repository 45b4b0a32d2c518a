"""Events land as files the landing sources ingest unchanged: one row in bronze, nothing
quarantined; bad events are refused (401/403/409/422) and leave nothing in landing/."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from base import files
from base.settings import Settings
from lake.ingest import LandingZone
from lake.properties import BUNDLED
from lake.sources import SOURCES, source_for_file
from lake.tables import QUARANTINE
from serving import deps
from serving.app import create_app
from serving.core.auth import issue_token
from serving.services.event_inbox import EventInbox

ATTENDANCE = {"employee_id": "EMP001", "timestamp": "2025-01-17T08:30:00+07:00",
              "action": "check_in", "location": "cam_lobby_01", "confidence": 0.98}
ROOM = {"hotel": "CH", "room_number": "201", "old_status": "dirty", "new_status": "clean",
        "timestamp": "2025-01-17T11:00:00Z"}
BOOKING = {"booking_id": "BOOK001", "event_type": "new_booking", "hotel": "Resort Hotel",
           "arrival_date": "2025-03-14", "booking_date": "2025-01-17",
           "stays_in_weekend_nights": 2, "stays_in_week_nights": 3,
           "market_segment": "Online TA", "distribution_channel": "TA/TO", "agent": "240",
           "guest_data": {"guest_id": "G000123", "country": "PRT", "adults": 2, "children": 1},
           "room_data": {"reserved_room_type": "A", "room_number": "114", "meal": "HB",
                         "adr": 98.5, "total_of_special_requests": 1}}


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    """The API on a fresh home, not started: events need no model."""
    return create_app(settings.model_copy(update={"rate_limit": "1000/minute"}))


@pytest.fixture
def client(app: FastAPI, settings: Settings) -> TestClient:
    token = issue_token("desk", ["front_desk"], settings=settings)
    return TestClient(app, headers={"Authorization": f"Bearer {token}"},
                      raise_server_exceptions=False)


def post(client: TestClient, kind: str, body: dict, **kw):
    return client.post(f"/api/v1/events/{kind}", json=body, **kw)


def landed(home: Path) -> list[Path]:
    """Every file under landing/, temp and dot files included."""
    return sorted(p for p in (home / "landing").rglob("*") if p.is_file())


def ingest(zone: LandingZone, answer: dict, source: str):
    path = zone.root / answer["landing_file"]
    assert source_for_file(path.parent.name, path.name) is SOURCES[source]
    assert path in zone.files(SOURCES[source])  # what the sensor and the asset read
    result = zone.ingest(path)
    assert result.rows_quarantined == 0 and result.rows_read == 1, result.reasons
    assert zone.lake.read(QUARANTINE.name).is_empty()
    return result, zone.lake.read(SOURCES[source].table)


def problems(response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {d["field"]: d["problem"] for d in response.json()["details"]}


def test_attendance_lands_as_an_event_file_and_reaches_bronze(home, zone, client, app):
    counted = app.state.services.metrics.events.labels("attendance")._value.get
    before = counted()
    r = post(client, "attendance", ATTENDANCE)
    assert r.status_code == 202, r.text
    a = r.json()
    assert a["kind"] == "attendance" and a["status"] == "accepted" and not a["duplicate"]
    assert len(a["event_id"]) == 32
    name = Path(a["landing_file"])
    assert name.parent == Path("attendance") and name.name.startswith("events-api-")
    assert name.name.endswith(f"-{a['event_id']}.jsonl")
    assert landed(home) == [home / "landing" / name]  # no temp file left

    result, bronze = ingest(zone, a, "attendance_events")
    assert result.rows_inserted == 1
    row = bronze.row(0, named=True)
    assert row["event_id"] == a["event_id"] and row["employee_id"] == "EMP001"
    assert row["event_at"] == datetime(2025, 1, 17, 1, 30, tzinfo=timezone.utc)
    assert (row["action"], row["camera_id"], row["confidence"], row["source"]) == (
        "check_in", "cam_lobby_01", 0.98, "api")
    # a delta: importing feast.metrics switches prometheus_client to multiprocess mode,
    # where every Metrics() of this test process shares one value per metric name
    assert counted() == before + 1


def test_room_status_lands_as_an_inspection_of_the_hotel_named_by_code(zone, client):
    r = post(client, "room_status", ROOM)
    assert r.status_code == 202, r.text
    a = r.json()
    assert a["landing_file"].startswith("camera/inspections-api-")
    _, bronze = ingest(zone, a, "room_inspections")
    row = bronze.row(0, named=True)
    assert row["inspection_id"] == a["event_id"] and row["hotel"] == "City Hotel"
    assert (row["room_number"], row["status"], row["tags"]) == ("201", "clean", [])
    assert row["inspected_at"] == datetime(2025, 1, 17, 11, tzinfo=timezone.utc)
    assert row["inspector_id"] == "desk"  # updated_by omitted: the caller
    assert row["camera_id"] is None and "old_status" not in bronze.columns


def test_a_booking_lands_in_the_extract_layout_and_a_cancellation_updates_it(zone, client):
    r = post(client, "booking", BOOKING)
    assert r.status_code == 202, r.text
    a = r.json()
    assert a["landing_file"].startswith("pms/bookings-api-") and a["landing_file"].endswith(".csv")
    result, bronze = ingest(zone, a, "pms_bookings")
    assert result.layout == "reference" and result.rows_inserted == 1
    row = bronze.row(0, named=True)
    expected = {
        "booking_id": "BOOK001", "hotel": "Resort Hotel", "is_canceled": False,
        "lead_time": 56, "arrival_date": date(2025, 3, 14), "booking_date": date(2025, 1, 17),
        "nights": 5, "departure_date": date(2025, 3, 19), "adults": 2, "children": 1,
        "babies": 0, "meal": "HB", "country": "PRT", "market_segment": "Online TA",
        "distribution_channel": "TA/TO", "agent": "240", "company": None,
        "reserved_room_type": "A", "assigned_room_type": "A", "customer_type": "Transient",
        "deposit_type": "No Deposit", "adr": 98.5, "room_revenue": 492.5,
        "total_of_special_requests": 1, "reservation_status": None,
        "reservation_status_date": None, "guest_id": "G000123", "room_number": "114"}
    assert {k: row[k] for k in expected} == expected

    cancel = {**BOOKING, "event_type": "cancellation", "timestamp": "2025-02-01T09:00:00Z"}
    r = post(client, "booking", cancel)
    assert r.status_code == 202, r.text
    result, bronze = ingest(zone, r.json(), "pms_bookings")
    assert result.rows_updated == 1 and bronze.height == 1
    row = bronze.row(0, named=True)
    assert row["is_canceled"] is True and row["reservation_status"] == "Canceled"
    assert row["reservation_status_date"] == date(2025, 2, 1)


def test_reposting_an_event_id_lands_one_file_and_one_row(home, zone, client):
    # booking_date omitted: it defaults to the day of the first post, also for the repost
    arrival = (datetime.now(timezone.utc) + timedelta(days=30)).date().isoformat()
    body = {**BOOKING, "event_id": "pms-42", "booking_date": None, "arrival_date": arrival}
    first, again = post(client, "booking", body), post(client, "booking", body)
    assert first.status_code == again.status_code == 202, again.text
    assert again.json()["duplicate"] and not first.json()["duplicate"]
    for key in ("event_id", "landing_file", "received_at"):
        assert first.json()[key] == again.json()[key]
    assert len(landed(home)) == 1
    ingest(zone, first.json(), "pms_bookings")

    att = {**ATTENDANCE, "event_id": "door-7"}
    a1, a2 = post(client, "attendance", att), post(client, "attendance", att)
    assert a1.json()["event_id"] == "door-7" and a2.json()["duplicate"]
    ingest(zone, a1.json(), "attendance_events")
    assert all(zone.ingest(p).skipped for p in landed(home))  # the ingest had them all

    conflict = post(client, "attendance", {**att, "action": "check_out"})
    assert conflict.status_code == 409 and conflict.json()["error"] == "conflict"
    assert "door-7" in conflict.json()["message"] and len(landed(home)) == 2


def test_credentials_are_required_and_need_events_write(home, app, client, settings):
    s = settings
    anonymous = TestClient(app)
    assert post(anonymous, "attendance", ATTENDANCE).status_code == 401
    revenue = issue_token("rm", ["revenue_manager"], settings=s)
    r = post(anonymous, "booking", BOOKING, headers={"Authorization": f"Bearer {revenue}"})
    assert r.status_code == 403 and "events:write" in r.json()["message"]
    expired = issue_token("desk", ["front_desk"], ttl=timedelta(seconds=-1), settings=s)
    r = post(anonymous, "room_status", ROOM, headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and "expired" in r.json()["message"]
    housekeeping = issue_token("hk", ["housekeeping"], settings=s)
    r = post(anonymous, "room_status", ROOM, headers={"Authorization": f"Bearer {housekeeping}"})
    assert r.status_code == 202
    assert len(landed(home)) == 1


def test_invalid_events_are_refused_naming_the_field_and_land_nothing(home, client):
    assert "body.action" in problems(post(client, "attendance", {**ATTENDANCE, "action": "lunch"}))
    assert "body.confidence" in problems(post(client, "attendance", {**ATTENDANCE, "confidence": 1.5}))
    assert "body.timestamp" in problems(post(client, "attendance", {
        **ATTENDANCE, "timestamp": "2025-01-17T08:30:00"}))  # no time zone
    future = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    assert "future" in post(client, "attendance", {**ATTENDANCE, "timestamp": future}).json()["message"]
    assert "body.location_id" in problems(post(client, "attendance", {**ATTENDANCE, "location_id": "x"}))

    unknown = problems(post(client, "room_status", {**ROOM, "hotel": "Hotel California"}))
    assert "Resort Hotel" in unknown["body.hotel"] and "HAN (Innsight Hanoi Old Quarter)" in unknown["body.hotel"]
    assert "body.new_status" in problems(post(client, "room_status", {**ROOM, "new_status": "tidy"}))

    guest = {**BOOKING["guest_data"], "adults": -1}
    assert "body.guest_data.adults" in problems(post(client, "booking", {**BOOKING, "guest_data": guest}))
    late = problems(post(client, "booking", {**BOOKING, "booking_date": "2025-03-15"}))
    assert "before the booking date" in late["body.booking_date"]
    assert "body.lead_time" in problems(post(client, "booking", {**BOOKING, "lead_time": 3}))
    assert "body.arrival_date" in problems(post(client, "booking", {
        **BOOKING, "booking_date": None, "arrival_date": "2020-01-01"}))
    assert "body.hotel" in problems(post(client, "booking", {**BOOKING, "hotel": "Nowhere"}))
    room = {**BOOKING["room_data"], "reserved_room_type": "K"}  # a City Hotel type only
    assert "body.room_data.reserved_room_type" in problems(post(client, "booking", {
        **BOOKING, "room_data": room}))
    assert "body.event_type" in problems(post(client, "booking", {**BOOKING, "event_type": "noshow"}))
    assert "body.event_id" in problems(post(client, "booking", {**BOOKING, "event_id": "../x"}))
    assert landed(home) == []


def test_an_event_the_contract_would_quarantine_is_never_written(home, settings, tmp_path):
    """The API's property master knows a hotel the lake's reference data does not: the
    request passes validation, and the landing zone's own check (the ingest's) refuses it."""
    master = yaml.safe_load(BUNDLED.read_text())
    master["properties"].append({**master["properties"][0], "name": "Hotel California",
                                 "code": "HCA"})
    wider = tmp_path / "properties.yaml"
    wider.write_text(yaml.safe_dump(master))
    app = create_app(settings.model_copy(update={"properties_file": wider}))
    app.dependency_overrides[deps.events_dep] = lambda: EventInbox(LandingZone.from_settings(settings))
    token = issue_token("desk", ["front_desk"], settings=settings)
    r = post(TestClient(app, headers={"Authorization": f"Bearer {token}"}), "room_status",
             {**ROOM, "hotel": "Hotel California"})
    assert problems(r)["hotel"].startswith("unknown hotel 'Hotel California'")
    assert "room_inspections contract" in r.json()["message"]
    assert landed(home) == []


def test_a_failed_write_leaves_no_partial_file(home, client, monkeypatch):
    def broken(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", broken)
    assert post(client, "attendance", ATTENDANCE).status_code == 500
    assert landed(home) == []


def test_the_docs_show_responses_examples_and_the_contracts_values(app):
    schema = app.openapi()
    for kind in ("booking", "room_status", "attendance"):
        op = schema["paths"][f"/api/v1/events/{kind}"]["post"]
        assert {"202", "401", "403", "409", "422", "429"} <= set(op["responses"])
        assert op["summary"] and op["description"]
        # named examples in the request box (placeholders on this home without data;
        # test_api_examples.py sends those of a built platform)
        assert op["requestBody"]["content"]["application/json"]["examples"]
    booking = schema["components"]["schemas"]["RoomData"]["properties"]["meal"]
    assert set(booking["enum"]) == {c.allowed for c in SOURCES["pms_bookings"].contract.columns
                                    if c.name == "meal"}.pop()
