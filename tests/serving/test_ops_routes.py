"""The operations routes on the served platform: tasks made from guest requests, listed,
assigned (to someone of the right team only), closed, never reopened; the outbox's
messages listed, a repeating alert acknowledged on a real SMTP server (no repeat after),
a dead letter re-sent; a guest's contact erased with a receipt (their pending message
stops); and who may call what."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from lake.properties import PropertyMaster
from operations.outbox import Message, now
from operations.senders import AddressBook, Postman
from serving.routes.ops_notifications import NO_MESSAGE
from serving.routes.ops_tasks import CLOSED_TASK, NO_TASK, OTHER_TEAM
from tests.operations.conftest import SmtpServer
from tests.serving.conftest import bearer, guest_requests, held_by_a_sender, services

OPS = "/api/v1/ops"


@pytest.fixture(scope="module")
def staff(client, api_settings):
    """A hotel with housekeeping staff: (hotel name, its code, two housekeepers, someone of
    food & beverage)."""
    employees = services(client).tasks.roster.employees().sort("employee_id")
    hotel = employees.filter(pl.col("department") == "housekeeping")["hotel"][0]
    here = employees.filter(pl.col("hotel") == hotel)
    housekeepers = here.filter(pl.col("department") == "housekeeping")["employee_id"].to_list()
    waiter = here.filter(pl.col("department") == "fnb")["employee_id"][0]
    code = PropertyMaster.load(api_settings.properties_file).find(hotel).code
    return hotel, code, housekeepers[:2], waiter


@pytest.fixture(scope="module")
def ops(api_settings):
    return bearer(api_settings, "operations", rate_limit="100000/minute")


def new_task(client, hotel: str, at: datetime | None = None, **request) -> str:
    request_id = f"ops-test-{uuid.uuid4().hex[:10]}"
    made = services(client).tasks.from_requests(
        guest_requests({"request_id": request_id, "hotel": hotel, **request}), at=at)
    assert made.height == 1
    return made["task_id"][0]


def test_tasks_listed_assigned_closed_and_never_reopened(client, staff, ops):
    hotel, code, (first, second), waiter = staff
    task_id = new_task(client, code, message="No towels in room 512", room_number="512")
    # listed, by the hotel's code or name, and filtered
    r = client.get(f"{OPS}/tasks", params={"hotel": code, "team": "housekeeping", "limit": 500},
                   headers=ops)
    assert r.status_code == 200, r.text
    listed = {t["task_id"]: t for t in r.json()["tasks"]}
    task = listed[task_id]
    assert (task["hotel"], task["hotel_code"], task["department"], task["room_number"],
            task["description"], task["overdue"]) == (hotel, code, "housekeeping", "512",
                                                      "No towels in room 512", False)
    created = [t["created_at"] for t in r.json()["tasks"]]
    assert created == sorted(created, reverse=True)  # newest first
    r = client.get(f"{OPS}/tasks", params={"hotel": hotel, "department": "fnb"}, headers=ops)
    assert task_id not in {t["task_id"] for t in r.json()["tasks"]}
    r = client.get(f"{OPS}/tasks", params={"hotel": "Nowhere Inn"}, headers=ops)
    assert r.status_code == 422 and "unknown hotel 'Nowhere Inn'" in r.json()["message"]
    assert client.get(f"{OPS}/tasks/{task_id}", headers=ops).json()["task_id"] == task_id

    # someone of another team: refused, saying why
    r = client.patch(f"{OPS}/tasks/{task_id}", json={"assignee_id": waiter}, headers=ops)
    assert r.status_code == 422, r.text
    assert OTHER_TEAM.pattern().fullmatch(r.json()["message"]), r.json()
    assert f"{waiter} works in fnb at {hotel}" in r.json()["message"]
    # someone of its team
    r = client.patch(f"{OPS}/tasks/{task_id}", json={"assignee_id": second}, headers=ops)
    assert r.status_code == 200, r.text
    assert (r.json()["assignee_id"], r.json()["status"], r.json()["updated_by"]) == (
        second, "assigned", "tester")
    r = client.patch(f"{OPS}/tasks/{task_id}", json={"status": "done"}, headers=ops)
    assert r.status_code == 200 and r.json()["status"] == "done" and r.json()["closed_at"], r.text
    assert services(client).tasks.tasks().filter(pl.col("task_id") == task_id)["status"][0] == "done"
    r = client.get(f"{OPS}/tasks", params={"status": "done", "assignee_id": second}, headers=ops)
    assert task_id in {t["task_id"] for t in r.json()["tasks"]}
    # closed: it does not reopen, nor change hands
    for change in ({"status": "open"}, {"assignee_id": first}):
        r = client.patch(f"{OPS}/tasks/{task_id}", json=change, headers=ops)
        assert r.status_code == 409, r.text
        assert CLOSED_TASK.pattern().fullmatch(r.json()["message"]), r.json()
        assert "make a new one" in r.json()["message"]
    # a cancelled one neither
    other = new_task(client, code)
    assert client.patch(f"{OPS}/tasks/{other}", json={"status": "cancelled"}, headers=ops).status_code == 200
    assert client.patch(f"{OPS}/tasks/{other}", json={"status": "done"}, headers=ops).status_code == 409
    # unknown task; nothing to change
    r = client.patch(f"{OPS}/tasks/req-nothing", json={"status": "done"}, headers=ops)
    assert r.status_code == 404 and r.json()["message"] == NO_TASK.format(task_id="req-nothing")
    assert client.get(f"{OPS}/tasks/req-nothing", headers=ops).status_code == 404
    r = client.patch(f"{OPS}/tasks/{other}", json={}, headers=ops)
    assert r.status_code == 422 and "give status, assignee_id or both" in r.json()["message"]


def test_overdue_tasks_are_listed_as_such(client, staff, ops):
    _, code, _, _ = staff
    late = new_task(client, code, at=datetime.now(timezone.utc) - timedelta(hours=5), priority="urgent")
    fresh = new_task(client, code, priority="low")
    r = client.get(f"{OPS}/tasks", params={"overdue": "true", "limit": 500}, headers=ops)
    overdue = {t["task_id"]: t for t in r.json()["tasks"]}
    assert late in overdue and fresh not in overdue and overdue[late]["overdue"] is True
    r = client.get(f"{OPS}/tasks", params={"overdue": "false", "limit": 500}, headers=ops)
    assert fresh in {t["task_id"] for t in r.json()["tasks"]}


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


def postman(client, api_settings, smtp_url: str) -> Postman:
    settings = api_settings.model_copy(update={"smtp_url": smtp_url})
    s = services(client)
    return Postman.from_settings(settings, s.outbox, AddressBook.from_settings(settings, s.vault))


def test_notifications_listed_acknowledged_and_resent(client, api_settings, staff, ops, smtp):
    _, code, _, _ = staff
    outbox, tag = services(client).outbox, uuid.uuid4().hex[:8]
    alert, note = outbox.enqueue([
        Message(f"anomaly:{tag}", f"anomalies-{tag}", f"duty_manager@{code}", "FIRE",
                "Fire at camera 3", severity="critical", repeat_seconds=60),
        Message(f"late:{tag}", f"attendance-{tag}", f"supervisor:housekeeping@{code}",
                "Late", "Shift s1 started 12 minutes ago.")])
    r = client.get(f"{OPS}/notifications", params={"workflow": f"anomalies-{tag}"}, headers=ops)
    assert r.status_code == 200, r.text
    [listed] = r.json()["notifications"]
    assert (listed["message_id"], listed["status"], listed["severity"], listed["channel"],
            listed["repeat_seconds"]) == (alert.message_id, "pending", "critical", "email", 60)
    assert r.json()["counts"]["pending"] >= 2
    r = client.get(f"{OPS}/notifications", params={"recipient": f"supervisor:housekeeping@{code}",
                                                   "status": "pending"}, headers=ops)
    assert note.message_id in {m["message_id"] for m in r.json()["notifications"]}

    # the alert repeats until acknowledged, then never again
    p, t = postman(client, api_settings, smtp.url), now()
    p.deliver_due(at=t)
    p.deliver_due(at=t + timedelta(seconds=61))
    assert smtp.mailbox.keys().count(f"anomaly:{tag}") == 2
    r = client.post(f"{OPS}/notifications/{alert.message_id}/ack", headers=ops)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["acked_by"], r.json()["deliveries"]) == (
        "acknowledged", "tester", 2)
    p.deliver_due(at=t + timedelta(hours=1))
    assert smtp.mailbox.keys().count(f"anomaly:{tag}") == 2
    assert client.get(f"{OPS}/notifications/{alert.message_id}", headers=ops).json()["status"] == "acknowledged"

    # a dead letter (a guest with no address yet) goes out again once the cause is fixed
    guest = f"G-{tag}"
    [letter] = outbox.enqueue([Message(f"room-ready:{tag}", "room_ready", f"guest:{guest}",
                                       "Your room is ready", "Room 201 is ready.")])
    p.deliver_due()
    dead = client.get(f"{OPS}/notifications/{letter.message_id}", headers=ops).json()
    assert dead["status"] == "dead" and f"no email for guest {guest}" in dead["last_error"]
    services(client).vault.put([{"guest_id": guest, "email": f"{tag}@example.com"}])
    r = client.post(f"{OPS}/notifications/{letter.message_id}/resend", headers=ops)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["attempts"], r.json()["last_error"]) == ("pending", 0, None)
    p.deliver_due()
    assert f"room-ready:{tag}" in smtp.mailbox.keys()
    assert outbox.get(letter.message_id).status == "sent"

    # unknown ids
    unknown = "f" * 32
    for method, path in (("GET", ""), ("POST", "/ack"), ("POST", "/resend")):
        r = client.request(method, f"{OPS}/notifications/{unknown}{path}", headers=ops)
        assert r.status_code == 404 and r.json()["message"] == NO_MESSAGE.format(message_id=unknown)


def test_a_message_being_sent_is_not_resent_meanwhile(client, ops):
    outbox, tag = services(client).outbox, uuid.uuid4().hex[:8]
    [m] = outbox.enqueue([Message(f"held:{tag}", "test", "operations", "s", "b")])
    with held_by_a_sender(outbox, m.message_id):
        r = client.post(f"{OPS}/notifications/{m.message_id}/resend", headers=ops)
        assert r.status_code == 409 and "being sent right now" in r.json()["message"], r.text
    assert client.post(f"{OPS}/notifications/{m.message_id}/resend", headers=ops).status_code == 200


def test_contact_erasure_removes_the_vault_row_and_stops_pending_messages(client, api_settings):
    s, guest = services(client), f"G-erase-{uuid.uuid4().hex[:8]}"
    s.vault.put([{"guest_id": guest, "name": "Lan Nguyen", "email": "lan@example.vn",
                  "phone": "+84 90 123 4567", "country": "VNM"}])
    [pending] = s.outbox.enqueue([Message(f"confirm:{guest}", "booking", f"guest:{guest}",
                                          "Xác nhận", "Chào Lan", language="vi")])
    front_desk = bearer(api_settings, "front_desk")
    r = client.delete(f"/api/v1/guests/{guest}/contact", headers=front_desk)
    assert r.status_code == 200, r.text
    receipt = r.json()
    assert (receipt["guest_id"], receipt["erased"], receipt["requested_by"],
            receipt["messages_stopped"]) == (guest, True, "tester", [pending.message_id])
    assert any("email" in x["what"] and "vault" in x["where"] for x in receipt["removed"])
    assert any("pseudonym" in k["why"] for k in receipt["kept"])
    assert s.vault.get(guest) is None
    stopped = s.outbox.get(pending.message_id)
    assert (stopped.status, stopped.last_error) == ("dead", "contact erased")
    again = client.delete(f"/api/v1/guests/{guest}/contact", headers=front_desk).json()
    assert (again["erased"], again["messages_stopped"], again["removed"]) == (False, [], [])


def test_who_may_call_what(client, api_settings, staff):
    _, code, _, _ = staff
    task_id = new_task(client, code)
    calls = [("GET", f"{OPS}/tasks", "ops:read"), ("GET", f"{OPS}/tasks/{task_id}", "ops:read"),
             ("PATCH", f"{OPS}/tasks/{task_id}", "ops:write"),
             ("GET", f"{OPS}/notifications", "ops:read"),
             ("POST", f"{OPS}/notifications/{'a' * 32}/ack", "ops:write"),
             ("POST", f"{OPS}/notifications/{'a' * 32}/resend", "ops:write"),
             ("DELETE", "/api/v1/guests/G-x/contact", "contacts:erase")]
    for method, path, permission in calls:
        kw = {"json": {"status": "cancelled"}} if method == "PATCH" else {}
        r = client.request(method, path, **kw)
        assert r.status_code == 401, (path, r.text)
        r = client.request(method, path, headers=bearer(api_settings, "revenue_manager"), **kw)
        assert r.status_code == 403 and f"'{permission}' permission" in r.json()["message"], (path, r.text)
    # monitoring reads, does not change; operations may not erase contacts
    monitoring = bearer(api_settings, "monitoring")
    assert client.get(f"{OPS}/tasks/{task_id}", headers=monitoring).status_code == 200
    assert client.patch(f"{OPS}/tasks/{task_id}", json={"status": "cancelled"},
                        headers=monitoring).status_code == 403
    assert client.delete("/api/v1/guests/G-x/contact",
                         headers=bearer(api_settings, "operations")).status_code == 403
    assert services(client).tasks.tasks().filter(pl.col("task_id") == task_id)["status"][0] != "cancelled"
