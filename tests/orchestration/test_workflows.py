"""The workflows driven from the event to the outbox row (and the receiver), on a fresh home:
attendance (through dbt's fct_attendance), no-shows, room ready, guest requests to tasks and
escalation, anomalies, the rate update of a pricing run, failures, archival."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import dagster as dg
import polars as pl
import pytest

from lake.contact_vault import ContactVault
from lake.delta_tables import Lake
from lake.tables import GUEST_REQUESTS, ML_PREDICTIONS, PRICE_SCHEDULE, QUEUED_ACTIONS
from operations.outbox import Message
from orchestration.definitions import build_definitions
from orchestration.workflows.anomalies.assets import anomaly_notices
from orchestration.workflows.archival.assets import archival
from orchestration.workflows.attendance.assets import attendance_notices, no_show_notices
from orchestration.workflows.failures.sensors import run_failure_alert
from orchestration.workflows.guest_requests.assets import task_escalations, tasks
from orchestration.workflows.prices.assets import rate_update
from orchestration.workflows.resources import Operations
from orchestration.workflows.room_ready.assets import room_ready_messages
from tests.conftest import drop
from tests.operations.conftest import smtp_server, webhook  # noqa: F401 (fixtures)

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


@pytest.fixture
def staffed(settings, zone):
    """A home whose lake has a housekeeping team at the City Hotel: an attendant on shift since
    an hour ago, one since 30 minutes ago, a supervisor."""
    drop(settings.home, "attendance", "employees_test.csv",
         "employee_id,hotel,full_name,department,role,hired_on\n"
         "E1,City Hotel,An,housekeeping,room_attendant,2024-01-01\n"
         "E2,City Hotel,Binh,housekeeping,room_attendant,2024-01-01\n"
         "E9,City Hotel,Chi,housekeeping,housekeeping_supervisor,2020-01-01\n")
    drop(settings.home, "attendance", "shifts_test.csv",
         "shift_id,employee_id,hotel,shift_date,start_at,end_at\n"
         f"S1,E1,City Hotel,{NOW.date()},{iso(NOW - timedelta(hours=1))},{iso(NOW + timedelta(hours=7))}\n"
         f"S2,E2,City Hotel,{NOW.date()},{iso(NOW - timedelta(minutes=30))},{iso(NOW + timedelta(hours=7))}\n")
    for name in ("employees_test.csv", "shifts_test.csv"):
        zone.ingest(settings.home / "landing" / "attendance" / name)
    return settings


def ops_of(settings) -> Operations:
    return Operations.from_settings(settings, Lake.from_settings(settings))


def materialize(asset, settings, ops: Operations | None = None, **resources):
    result = dg.materialize([asset], resources={"ops": ops or ops_of(settings), **resources})
    assert result.success
    return result.asset_materializations_for_node(asset.op.name)[0].metadata


def test_a_late_check_in_reaches_fct_attendance_and_the_supervisor_once(staffed, zone, smtp_server):
    settings = staffed.model_copy(update={"smtp_url": smtp_server.url})
    event = json.dumps({"event_id": "door-1", "employee_id": "E1", "timestamp": iso(NOW - timedelta(minutes=48)),
                        "action": "check_in", "camera_id": "staff-door", "confidence": 0.97, "source": "face"})
    zone.ingest(drop(settings.home, "attendance", "events-1.jsonl", event + "\n"))
    defs = build_definitions(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        assert defs.resolve_job_def("attendance_workflow").execute_in_process(instance=instance).success
    # the same event posted again (a second landing file), and the notices step retried
    zone.ingest(drop(settings.home, "attendance", "events-2.jsonl", event + "\n"))
    assert materialize(attendance_notices, settings, defs.resources["ops"],
                       warehouse=defs.resources["warehouse"])["messages_queued"].value == 0
    import duckdb
    with duckdb.connect(str(settings.marts_path), read_only=True) as con:
        status, late = con.execute("select attendance_status, minutes_late from fct_attendance "
                                   "where shift_id = 'S1'").fetchone()
    assert status == "late" and late == 12  # the shift started an hour ago
    ops = defs.resources["ops"]
    [message] = ops.outbox.list(workflow="attendance")
    assert (message.idempotency_key, message.recipient) == ("attendance-late:S1",
                                                            "supervisor:housekeeping@CH")
    assert "12 min" in message.subject
    ops.postman.deliver_due()
    ops.postman.deliver_due()
    assert smtp_server.mailbox.keys() == ["attendance-late:S1"]
    assert smtp_server.mailbox.messages[0]["To"] == "supervisor-housekeeping@ch.hotel.invalid"


def test_a_shift_without_check_in_past_the_grace_period_is_a_no_show(staffed):
    ops = ops_of(staffed)
    metadata = materialize(no_show_notices, staffed, ops)
    # S1 started an hour ago, S2 30 minutes ago: both past the 5-minute grace, no event at all
    assert metadata["no_shows"].value == 2
    assert sorted(m.idempotency_key for m in ops.outbox.list()) == [
        "attendance-absent:S1", "attendance-absent:S2"]
    assert materialize(no_show_notices, staffed, ops)["messages_queued"].value == 0


def test_a_room_inspected_clean_tells_todays_guest_once_in_their_language(settings, zone):
    drop(settings.home, "pms", "guests_test.csv",
         "guest_id,first_name,last_name,email,phone,country,birth_year,segment,loyalty_tier,created_at\n"
         "G1,Lan,Nguyen,lan@example.vn,,VNM,1990,leisure,gold,2024-01-02\n")
    zone.ingest(settings.home / "landing" / "pms" / "guests_test.csv")
    bookings = pl.DataFrame({"booking_id": ["B1", "B2"], "hotel": ["City Hotel"] * 2,
                             "room_number": ["201", "202"], "guest_id": ["G1", "G1"],
                             "arrival_date": [NOW.date(), NOW.date() + timedelta(days=1)],
                             "is_canceled": [False, False]})
    zone.lake.append("bronze/pms_bookings", bookings)
    for n, (room, status) in enumerate([("201", "dirty"), ("201", "clean"), ("202", "clean")]):
        line = json.dumps({"inspection_id": f"i{n}", "hotel": "City Hotel", "room_number": room,
                           "inspected_at": iso(NOW - timedelta(minutes=10 - n)), "status": status,
                           "tags": [], "camera_id": None, "inspector_id": None, "image_id": None})
        zone.ingest(drop(settings.home, "camera", f"inspections-{n}.jsonl", line + "\n"))
    ops = ops_of(settings)
    metadata = materialize(room_ready_messages, settings, ops)
    assert metadata["rooms_ready_for_arrivals"].value == 1  # 202's guest comes tomorrow
    [message] = ops.outbox.list()
    assert (message.idempotency_key, message.recipient, message.language) == (
        "room-ready:B1", "guest:G1", "vi")
    assert "201" in message.body and "Lan Nguyen" in message.body
    assert materialize(room_ready_messages, settings, ops)["messages_queued"].value == 0


def test_a_guest_request_becomes_an_assigned_task_acknowledged_and_escalated(staffed, zone):
    ops = ops_of(staffed)
    ContactVault.from_settings(staffed).put([{"guest_id": "G7", "name": "Ann Smith",
                                              "email": "ann@example.com", "country": "GBR"}])
    request = {"request_id": "r1", "received_at": NOW - timedelta(minutes=2), "guest_id": "G7",
               "hotel": "City Hotel", "channel": "app", "message": "2 towels to room 305 please",
               "language": "en", "category": "housekeeping", "confidence": 0.9,
               "priority": "normal", "team": "housekeeping", "request_type": "extra_towels",
               "room_number": "305", "items": ["towel"], "quantity": 2, "urgency": "normal",
               "needs_human": False, "routed_by": "classifier", "requested_by": "app",
               "correlation_id": None}
    zone.lake.ensure(GUEST_REQUESTS.name, GUEST_REQUESTS.schema)
    zone.lake.append(GUEST_REQUESTS.name, pl.DataFrame([request], schema=GUEST_REQUESTS.schema))
    zone.lake.ensure(QUEUED_ACTIONS.name, QUEUED_ACTIONS.schema)
    zone.lake.append(QUEUED_ACTIONS.name, pl.DataFrame([{
        "action_id": "a1", "queued_at": NOW, "action": "create_task",
        "arguments": json.dumps({"request": "fix the shower in room 412", "room_number": "412",
                                 "team": "housekeeping", "priority": "urgent", "hotel": "City Hotel"}),
        "source": "execute_task", "requested_by": "ana", "correlation_id": None,
        "status": "queued"}], schema=QUEUED_ACTIONS.schema))
    metadata = materialize(tasks, staffed, ops)
    assert (metadata["tasks_made"].value, metadata["tasks_assigned"].value) == (2, 2)
    board = ops.board.tasks().sort("task_id")
    assert board["task_id"].to_list() == ["req-act-a1", "req-r1"]
    # both attendants are on shift: the second task goes to the one without a task
    assert sorted(board["assignee_id"].to_list()) == ["E1", "E2"]
    towels = board.filter(pl.col("task_id") == "req-r1").row(0, named=True)
    assert towels["due_at"] - towels["created_at"] == timedelta(minutes=120)  # normal priority
    [ack] = ops.outbox.list(recipient="guest:G7")
    assert ack.idempotency_key == "request-ack:r1" and "2 × towel" in ack.body
    assert zone.lake.read(QUEUED_ACTIONS.name)["status"].to_list() == ["done"]
    assert materialize(tasks, staffed, ops)["tasks_made"].value == 0
    # the urgent one is due in 15 minutes: later, it escalates to the supervisor, once
    later = Operations.now
    try:
        made = ops.board.tasks()["created_at"].max()  # (the suite may import this module long before)
        Operations.now = lambda self: made + timedelta(minutes=20)
        assert materialize(task_escalations, staffed, ops)["escalated"].value == 1
        assert materialize(task_escalations, staffed, ops)["escalated"].value == 0
    finally:
        Operations.now = later
    [notice] = ops.outbox.list(workflow="guest_requests", key_prefix="task-overdue")
    assert notice.recipient == "supervisor:housekeeping@CH" and "req-act-a1" in notice.body


def test_a_fire_alerts_duty_manager_and_security_until_acknowledged(settings, zone, smtp_server):
    line = json.dumps({"alert_id": "f1", "hotel": "Resort Hotel", "camera_id": "hall-3",
                       "detected_at": iso(NOW - timedelta(minutes=1)), "type": "fire",
                       "confidence": 0.93, "severity": "critical", "box": None})
    zone.ingest(drop(settings.home, "camera", "anomalies-1.jsonl", line + "\n"))
    ops = Operations.from_settings(settings.model_copy(update={"smtp_url": smtp_server.url}), zone.lake)
    metadata = materialize(anomaly_notices, settings, ops)
    assert metadata["messages_queued"].value == 2
    messages = {m.recipient: m for m in ops.outbox.list()}
    assert set(messages) == {"duty_manager:urgent@RH", "security:urgent@RH"}
    assert {(m.severity, m.repeat_seconds) for m in messages.values()} == {("critical", 300)}
    t = ops.now() + timedelta(seconds=1)
    ops.postman.deliver_due(at=t)
    ops.postman.deliver_due(at=t + timedelta(minutes=6))  # not acknowledged: repeated
    assert len(smtp_server.mailbox.messages) == 4
    for m in messages.values():
        ops.outbox.acknowledge(m.message_id, by="duty.manager")
    ops.postman.deliver_due(at=t + timedelta(minutes=20))
    assert len(smtp_server.mailbox.messages) == 4


def test_a_pricing_run_sends_the_pms_its_changes_and_the_revenue_manager_a_summary(settings, zone, webhook):
    lake = zone.lake
    lake.ensure(PRICE_SCHEDULE.name, PRICE_SCHEDULE.schema)

    def schedule(prices):
        return pl.DataFrame([{"hotel": "City Hotel", "room_type": "A", "date": date(2030, 1, d + 1),
                              "suggested_price": p, "current_price": 100.0, "expected_occupancy": 0.8,
                              "competitor_avg": 110.0, "confidence": 0.9, "model_version": "3",
                              "generated_at": NOW, "_row_hash": str(p)} for d, p in enumerate(prices)],
                            schema=PRICE_SCHEDULE.schema)

    lake.merge(PRICE_SCHEDULE.name, schedule([100.0, 100.0, 100.0]), ["hotel", "room_type", "date"])
    lake.merge(PRICE_SCHEDULE.name, schedule([100.0, 120.0, 90.0]), ["hotel", "room_type", "date"])
    ops = Operations.from_settings(settings.model_copy(update={
        "rate_update_webhook": webhook.url, "notify": {"revenue_manager": webhook.url}}), lake)
    metadata = materialize(rate_update, settings, ops)
    assert metadata["changes"].value == 2
    path = settings.outbound_dir / "rates" / "rates-v2.csv"
    assert pl.read_csv(path)["suggested_price"].to_list() == [120.0, 90.0]
    assert ops.postman.deliver_due().sent == 2
    update, summary = sorted(webhook.bodies(), key=lambda b: b["recipient"])
    assert update["recipient"] == "pms:rates" and len(update["data"]["rates"]) == 2
    assert summary["recipient"] == "revenue_manager@CH" and "+20%" in summary["text"]
    assert materialize(rate_update, settings, ops)["messages_queued"].value == 0  # a retry


def test_a_failed_run_alerts_the_operations_channel_with_its_link(settings):
    @dg.op
    def boom():
        raise RuntimeError("the PMS export is truncated")

    @dg.job
    def fragile():
        boom()

    ops = ops_of(settings)
    with dg.DagsterInstance.ephemeral() as instance:
        result = fragile.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert", dagster_instance=instance,
            dagster_run=result.dagster_run, dagster_event=failure,
            resources={"ops": ops}).for_run_failure()
        run_failure_alert(context)
    [message] = ops.outbox.list(workflow="failures")
    assert message.idempotency_key == f"run-failed:{result.run_id}"
    assert message.recipient == "operations"
    assert f"{settings.dagster_url}/runs/{result.run_id}" in message.body


def test_the_archival_moves_what_is_past_its_retention(settings, zone):
    lake = zone.lake
    lake.ensure(ML_PREDICTIONS.name, ML_PREDICTIONS.schema, list(ML_PREDICTIONS.partition_by))
    rows = [{"prediction_id": f"p{d}", "predicted_at": NOW - timedelta(days=d),
             "predicted_date": (NOW - timedelta(days=d)).date(), "model": "cancellation",
             "model_version": "1", "endpoint": "/x", "correlation_id": None, "client": None,
             "inputs": "{}", "outputs": "{}", "latency_ms": 1.0} for d in (1, 500, 800)]
    lake.append(ML_PREDICTIONS.name, pl.DataFrame(rows, schema=ML_PREDICTIONS.schema))
    ops = ops_of(settings)
    [old] = ops.outbox.enqueue([Message("old:1", "attendance", "operations", "s", "b")],
                               at=NOW - timedelta(days=200))
    ops.outbox.failed(old, "down", None)  # dead long ago
    metadata = materialize(archival, settings, ops)
    moved = metadata["moved"].value
    assert moved["serving/ml_predictions"]["archived"] == 2
    assert moved["outbox"]["archived"] == 1
    assert lake.read(ML_PREDICTIONS.name)["prediction_id"].to_list() == ["p1"]
    assert sorted(lake.read("archive/serving/ml_predictions")["prediction_id"]) == ["p500", "p800"]
    assert lake.read("ops/notifications")["idempotency_key"].to_list() == ["old:1"]
    assert ops.outbox.list() == []
    assert materialize(archival, settings, ops)["moved"].value["serving/ml_predictions"]["archived"] == 0


def test_each_asset_sensor_starts_its_workflow_once_per_materialization():
    from orchestration.workflows.anomalies.sensors import anomaly_sensor
    from orchestration.workflows.attendance.sensors import attendance_sensor
    from orchestration.workflows.bookings.sensors import booking_sensor
    from orchestration.workflows.room_ready.sensors import room_ready_sensor

    keys: set[str] = set()
    with dg.DagsterInstance.ephemeral() as instance:
        for sensor, table in ((attendance_sensor, "attendance_events"), (booking_sensor, "pms_bookings"),
                              (room_ready_sensor, "room_inspections"), (anomaly_sensor, "anomaly_alerts")):
            instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=["bronze", table]))
            first = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
            [request] = first.run_requests
            assert request.run_key and request.run_key not in keys  # one run per materialization
            keys.add(request.run_key)
            again = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=first.cursor))
            assert again.run_requests == []  # nothing new since
