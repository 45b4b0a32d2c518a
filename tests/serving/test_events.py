"""Events are queued on the API's spool and land, rolled in batches, as files the landing
sources ingest unchanged: one row in bronze, nothing quarantined; bad events are refused
(401/403/409/422) and queue nothing. (The bus itself: tests/operations/test_event_bus.py.)"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from base.settings import Settings
from lake.ingest import LandingZone
from lake.properties import BUNDLED
from lake.sources import SOURCES, source_for_file
from lake.tables import QUARANTINE
from operations import event_bus
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
    """The API on a fresh home, not started: events need no model. Its spool rolls when a
    test says (``roll``), not on a timer."""
    return create_app(settings.model_copy(update={"rate_limit": "1000/minute",
                                                  "event_batch_seconds": 3600}))


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


def roll(app: FastAPI) -> list[Path]:
    """The spool rolled now (the API does it every event_batch_seconds): its landing files."""
    return app.state.services.events.roll()


def ingest(zone: LandingZone, app: FastAPI, answer: dict, source: str):
    """Roll the spool and ingest the one landing file it wrote, which holds the event."""
    assert answer["queued_to"] == "spool"
    [path] = roll(app)
    assert path.suffix == ".csv" or answer["event_id"] in path.read_text()  # a booking: its id
    assert source_for_file(path.parent.name, path.name) is SOURCES[source]
    assert path in zone.files(SOURCES[source])  # what the sensor and the asset read
    result = zone.ingest(path)
    assert result.rows_quarantined == 0 and result.rows_read == 1, result.reasons
    assert zone.lake.read(QUARANTINE.name).is_empty()
    return result, zone.lake.read(SOURCES[source].table)


def problems(response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {d["field"]: d["problem"] for d in response.json()["details"]}


def test_attendance_is_spooled_then_rolled_into_a_landing_file_and_reaches_bronze(
        home, zone, client, app):
    counted = app.state.services.metrics.events.labels("attendance")._value.get
    before = counted()
    r = post(client, "attendance", ATTENDANCE)
    assert r.status_code == 202, r.text
    a = r.json()
    assert a["kind"] == "attendance" and a["status"] == "accepted" and not a["duplicate"]
    assert len(a["event_id"]) == 32 and a["queued_to"] == "spool"
    assert landed(home) == []  # durable in the spool, not landed yet
    assert a["event_id"] in "".join(p.read_text() for p in (home / "spool").glob("active-*"))

    result, bronze = ingest(zone, app, a, "attendance_events")
    [name] = [p.relative_to(home / "landing") for p in landed(home)]  # no temp file left
    assert name.parent == Path("attendance") and name.name.startswith("events-api-")
    assert name.name.endswith(".jsonl")
    assert result.rows_inserted == 1
    row = bronze.row(0, named=True)
    assert row["event_id"] == a["event_id"] and row["employee_id"] == "EMP001"
    assert row["event_at"] == datetime(2025, 1, 17, 1, 30, tzinfo=timezone.utc)
    assert (row["action"], row["camera_id"], row["confidence"], row["source"]) == (
        "check_in", "cam_lobby_01", 0.98, "api")
    # a delta: importing feast.metrics switches prometheus_client to multiprocess mode,
    # where every Metrics() of this test process shares one value per metric name
    assert counted() == before + 1


def test_room_status_lands_as_an_inspection_of_the_hotel_named_by_code(home, zone, client, app):
    r = post(client, "room_status", ROOM)
    assert r.status_code == 202, r.text
    a = r.json()
    _, bronze = ingest(zone, app, a, "room_inspections")
    assert landed(home)[0].relative_to(home / "landing").as_posix().startswith(
        "camera/inspections-api-")
    row = bronze.row(0, named=True)
    assert row["inspection_id"] == a["event_id"] and row["hotel"] == "City Hotel"
    assert (row["room_number"], row["status"], row["tags"]) == ("201", "clean", [])
    assert row["inspected_at"] == datetime(2025, 1, 17, 11, tzinfo=timezone.utc)
    assert row["inspector_id"] == "desk"  # updated_by omitted: the caller
    assert row["camera_id"] is None and "old_status" not in bronze.columns


def test_a_booking_lands_in_the_extract_layout_and_a_cancellation_updates_it(home, zone, client,
                                                                            app):
    r = post(client, "booking", BOOKING)
    assert r.status_code == 202, r.text
    a = r.json()
    result, bronze = ingest(zone, app, a, "pms_bookings")
    name = landed(home)[0].relative_to(home / "landing").as_posix()
    assert name.startswith("pms/bookings-api-") and name.endswith(".csv")
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
    result, bronze = ingest(zone, app, r.json(), "pms_bookings")
    assert result.rows_updated == 1 and bronze.height == 1
    row = bronze.row(0, named=True)
    assert row["is_canceled"] is True and row["reservation_status"] == "Canceled"
    assert row["reservation_status_date"] == date(2025, 2, 1)


def test_a_booking_and_its_cancellation_in_one_batch_land_in_order(zone, client, app):
    """A landing file holds one row per booking: the cancellation goes to the batch's next
    file, and ingesting in name order leaves the cancelled booking."""
    assert post(client, "booking", BOOKING).status_code == 202
    cancel = {**BOOKING, "event_type": "cancellation", "timestamp": "2025-02-01T09:00:00Z"}
    assert post(client, "booking", cancel).status_code == 202
    paths = roll(app)
    assert len(paths) == 2 and paths == sorted(paths) == zone.files(SOURCES["pms_bookings"])
    assert [zone.ingest(p).rows_quarantined for p in paths] == [0, 0]
    bronze = zone.lake.read(SOURCES["pms_bookings"].table)
    assert bronze.height == 1 and bronze.row(0, named=True)["is_canceled"] is True


def test_reposting_an_event_id_lands_one_row_also_after_a_restart(home, zone, client, app,
                                                                   settings):
    # booking_date omitted: it defaults to the day of the first post, also for the repost
    arrival = (datetime.now(timezone.utc) + timedelta(days=30)).date().isoformat()
    body = {**BOOKING, "event_id": "pms-42", "booking_date": None, "arrival_date": arrival}
    first, again = post(client, "booking", body), post(client, "booking", body)
    assert first.status_code == again.status_code == 202, again.text
    assert again.json()["duplicate"] and not first.json()["duplicate"]
    for key in ("event_id", "queued_to", "received_at"):
        assert first.json()[key] == again.json()[key]
    ingest(zone, app, first.json(), "pms_bookings")  # one file, one row

    att = {**ATTENDANCE, "event_id": "door-7"}
    a1, a2 = post(client, "attendance", att), post(client, "attendance", att)
    assert a1.json()["event_id"] == "door-7" and a2.json()["duplicate"]
    ingest(zone, app, a1.json(), "attendance_events")
    assert all(zone.ingest(p).skipped for p in landed(home))  # the ingest had them all

    conflict = post(client, "attendance", {**att, "action": "check_out"})
    assert conflict.status_code == 409 and conflict.json()["error"] == "conflict"
    assert "door-7" in conflict.json()["message"] and roll(app) == []

    # Another API process on the same home (the first one stopped) knows the ids.
    app.state.services.events.close()
    later = create_app(settings)
    token = issue_token("desk", ["front_desk"], settings=settings)
    again_client = TestClient(later, headers={"Authorization": f"Bearer {token}"})
    r = post(again_client, "attendance", att)
    assert r.status_code == 202 and r.json()["duplicate"], r.text
    assert r.json()["received_at"] == a1.json()["received_at"]
    assert post(again_client, "attendance", {**att, "action": "check_out"}).status_code == 409
    assert roll(later) == [] and len(landed(home)) == 2


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
    assert len(roll(app)) == 1


def test_invalid_events_are_refused_naming_the_field_and_land_nothing(home, client, app):
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
    assert roll(app) == [] and landed(home) == []


def test_an_event_the_contract_would_quarantine_is_never_queued(home, settings, tmp_path):
    """The API's property master knows a hotel the lake's reference data does not: the
    request passes validation, and the landing zone's own check (the ingest's) refuses it."""
    master = yaml.safe_load(BUNDLED.read_text())
    master["properties"].append({**master["properties"][0], "name": "Hotel California",
                                 "code": "HCA"})
    wider = tmp_path / "properties.yaml"
    wider.write_text(yaml.safe_dump(master))
    app = create_app(settings.model_copy(update={"properties_file": wider}))
    inbox = EventInbox.from_settings(settings)  # the lake's reference data
    app.dependency_overrides[deps.events_dep] = lambda: inbox
    token = issue_token("desk", ["front_desk"], settings=settings)
    r = post(TestClient(app, headers={"Authorization": f"Bearer {token}"}), "room_status",
             {**ROOM, "hotel": "Hotel California"})
    assert problems(r)["hotel"].startswith("unknown hotel 'Hotel California'")
    assert "room_inspections contract" in r.json()["message"]
    assert inbox.stats()["pending"] == 0 and inbox.roll() == [] and landed(home) == []


def test_a_spool_that_cannot_be_written_answers_503_and_keeps_nothing(home, client, app,
                                                                      monkeypatch):
    def broken(fd):
        raise OSError("disk full")

    body = {**ATTENDANCE, "event_id": "door-9"}
    with monkeypatch.context() as m:
        m.setattr(event_bus.os, "fsync", broken)
        r = post(client, "attendance", body)
    assert r.status_code == 503 and "disk full" in r.json()["message"], r.text
    # not recorded as accepted: the client's retry is a first acceptance
    r = post(client, "attendance", body)
    assert r.status_code == 202 and not r.json()["duplicate"], r.text
    [path] = roll(app)
    assert path.read_text().count("door-9") == 1


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
