"""Tasks: an instruction in English or Vietnamese -> a plan of allowed actions, clause by
clause; reads run on the real marts file, writes are only queued, only for a role with
events:write, and only when the room the instruction checked is ready; a task goes to the
team a request router (trained on labelled messages, real embedder) picks."""

from __future__ import annotations

import pytest

from language.assistant_tools import DataTools
from language.request_routing import TEAMS
from language.task_plan import WRITE_PERMISSION, PlanError, TaskRunner, plan
from tests.language.conftest import LOTUS

pytestmark = pytest.mark.xdist_group("language_assistant")  # one worker builds the fixtures

WRITER = frozenset({"llm:query", WRITE_PERMISSION})
READER = frozenset({"llm:query"})
CONFIRM = "Check if room {room} is clean and ready, then send confirmation email to guest"


class Queue:
    """The workflows' queue: what was queued, in order; an id per action."""

    def __init__(self):
        self.items: list[tuple[str, dict]] = []

    def __call__(self, action: str, arguments: dict) -> str:
        self.items.append((action, arguments))
        return f"action-{len(self.items)}"


@pytest.fixture
def queue() -> Queue:
    return Queue()


@pytest.fixture(scope="module")
def data(marts) -> DataTools:
    """The tools on the marts (a task reads no documents)."""
    return DataTools(marts, None)


def test_a_check_then_a_message_is_two_steps_the_message_waiting_on_the_check():
    steps = plan(CONFIRM.format(room=201))
    assert [(s.step, s.action, s.service, s.writes, s.condition) for s in steps] == [
        (1, "check_room_status", "lake", False, None),
        (2, "send_message", "workflows", True, "room_ready")]
    # "clean and ready" is one clause: "and" splits only before an action verb
    assert steps[0].clause == "Check if room 201 is clean and ready"
    assert steps[0].arguments == {"room_number": "201"}
    assert steps[1].clause == "send confirmation email to guest"
    assert steps[1].arguments["template"] == "booking_confirmation"
    assert steps[1].arguments["channel"] == "email"
    assert steps[1].arguments["room_number"] == "201"  # carried over from the check


def test_a_vietnamese_instruction_carries_the_room_to_the_room_ready_message():
    steps = plan("kiểm tra phòng 305 đã sạch chưa rồi gửi thông báo phòng sẵn sàng cho khách",
                 {"booking_id": "B2001"})
    assert [s.action for s in steps] == ["check_room_status", "send_message"]
    assert [s.clause for s in steps] == ["kiểm tra phòng 305 đã sạch chưa",
                                         "gửi thông báo phòng sẵn sàng cho khách"]
    assert steps[1].arguments["template"] == "checkin_ready"
    assert steps[1].arguments["room_number"] == "305" and steps[1].arguments["booking_id"] == "B2001"
    assert steps[1].condition == "room_ready"


def test_and_before_an_action_verb_splits_the_clauses():
    steps = plan("Check room 202 status and create a task to fix the shower in room 202")
    assert [(s.action, s.clause) for s in steps] == [
        ("check_room_status", "Check room 202 status"),
        ("create_task", "create a task to fix the shower in room 202")]


def test_a_clause_no_action_matches_fails_the_plan_naming_it():
    with pytest.raises(PlanError, match="\u201cbook a table at the rooftop bar\u201d"):
        plan("Check if room 201 is ready, then book a table at the rooftop bar")
    with pytest.raises(PlanError, match="empty"):
        plan(" , . ")


def test_a_ready_room_gets_its_message_queued(data, queue):
    out = TaskRunner(data, None, queue).execute(CONFIRM.format(room=201), {"booking_id": "B1001"},
                                                WRITER, hotel="LBH")
    assert out["overall_status"] == "success"
    check, message = out["results"]
    assert check == {"step": 1, "status": "completed", "result": {"room_ready": True, "rooms": [
        {"hotel": LOTUS, "room_number": "201", "latest_inspection_status": "clean",
         "is_ready_for_guest": True, "occupied": False}]}}
    assert message["status"] == "queued" and message["result"]["action_id"] == "action-1"
    assert queue.items == [("send_message", {
        "template": "booking_confirmation", "booking_id": "B1001", "room_number": "201",
        "guest_id": None, "channel": "email", "hotel": "LBH"})]
    assert [p["action"] for p in out["execution_plan"]] == ["check_room_status", "send_message"]
    assert out["execution_plan"][1]["condition"] == "room_ready"


def test_a_dirty_room_skips_the_message(data, queue):
    out = TaskRunner(data, None, queue).execute(CONFIRM.format(room=202), {}, WRITER)
    check, message = out["results"]
    assert check["result"]["room_ready"] is False
    assert check["result"]["rooms"][0]["latest_inspection_status"] == "dirty"
    assert message["status"] == "skipped" and "not ready" in message["result"]["reason"]
    assert out["overall_status"] == "partial" and queue.items == []


def test_a_room_that_does_not_exist_fails_the_check_and_nothing_is_sent(data, queue):
    out = TaskRunner(data, None, queue).execute(CONFIRM.format(room=999), {}, WRITER)
    check, message = out["results"]
    assert check["status"] == "failed" and "no room 999" in check["result"]["reason"]
    assert message["status"] == "skipped" and "unknown" in message["result"]["reason"]
    assert queue.items == []


def test_a_role_without_events_write_reads_but_queues_nothing(data, queue):
    out = TaskRunner(data, None, queue).execute(CONFIRM.format(room=201), {}, READER)
    check, message = out["results"]
    assert check["status"] == "completed" and check["result"]["room_ready"] is True
    assert message["status"] == "refused" and WRITE_PERMISSION in message["result"]["reason"]
    assert queue.items == [] and out["overall_status"] == "partial"
    only_writes = TaskRunner(data, None, queue).execute("Send an apology email to the guest",
                                                        {"booking_id": "B1001"}, READER)
    assert only_writes["overall_status"] == "refused" and queue.items == []


def test_a_booking_is_looked_up_in_the_marts(data, queue):
    out = TaskRunner(data, None, queue).execute("Look up booking B1003", {}, READER)
    result = out["results"][0]["result"]
    assert out["overall_status"] == "success"
    assert (result["booking_id"], result["hotel"], result["reservation_status"]) == (
        "B1003", LOTUS, "Canceled")
    missing = TaskRunner(data, None, queue).execute("Look up booking B9999", {}, READER)
    assert missing["overall_status"] == "failed"
    assert "B9999" in missing["results"][0]["result"]["reason"]


@pytest.mark.parametrize("instruction, category", [
    ("Bring two more bath towels to room 201", "housekeeping"),
    ("Mang thêm 2 khăn tắm lên phòng 305", "housekeeping"),
    ("Fix the leaking shower in room 202", "maintenance"),
])
def test_a_task_is_queued_for_the_team_the_router_picks(data, router, queue, instruction,
                                                        category):
    out = TaskRunner(data, router, queue).execute(instruction, {}, WRITER)
    assert [p["action"] for p in out["execution_plan"]] == ["create_task"]
    routed = router.classify(instruction)
    assert routed["category"] == category
    (action, arguments), = queue.items
    assert action == "create_task"
    assert (arguments["team"], arguments["category"], arguments["priority"]) == (
        TEAMS[category], category, routed["priority"])
    assert arguments["request"] == instruction and arguments["room_number"] in instruction
    assert out["results"][0]["result"]["team"] == TEAMS[category]


def test_without_a_router_a_task_is_queued_without_a_team(data, queue):
    TaskRunner(data, None, queue).execute("Bring two more bath towels to room 305", {}, WRITER,
                                          hotel="PRL")
    (action, arguments), = queue.items
    assert action == "create_task" and "team" not in arguments
    assert (arguments["room_number"], arguments["hotel"]) == ("305", "PRL")


def test_with_queue_writes_through_the_other_queue(data, router, queue):
    other = Queue()
    runner = TaskRunner(data, router, queue)
    runner.with_queue(other).execute("Bring two more bath towels to room 201", {}, WRITER)
    assert queue.items == [] and [a for a, _ in other.items] == ["create_task"]
    assert runner.with_queue(other).router is router
