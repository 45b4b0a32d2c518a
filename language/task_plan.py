"""Execute a task: an instruction ("check if room 201 is ready, then send the confirmation to
the guest") -> an execution plan of allowed actions, each step's result and an overall
status.

The plan is made by rules on the accent-folded instruction, clause by clause ("then",
"and", "rồi", "sau đó"...), in Vietnamese or English; each clause is one action:

- ``check_room_status`` (reads: the room_status tool); a later step runs only if the room
  is ready for a guest, as the instruction implies;
- ``lookup_booking`` / ``check_arrivals`` (reads);
- ``send_message``: a guest message from a template (confirmation, apology, check-in
  instructions, room ready), and ``create_task``: a task for the team the request router
  picks. These write, so they are only *queued* for the workflows (the caller's
  ``queue``), and only for a caller whose role allows it (``events:write``).

A clause no action matches makes the plan fail before anything runs, saying which clause:
nothing half-done on a misunderstanding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from language.assistant_tools import DataTools
from language.request_routing import RequestRouter, fold

WRITE_PERMISSION = "events:write"
# Clauses: split at "then"-like words always, at "and" / "và" only before an action verb
# ("clean and ready" is one clause, "check the room and send ..." two).
THEN = re.compile(r"\s*,?\s*\b(?:and then|then|after that|afterwards|sau do|roi)\b\s*|\s*[;.]\s+")
VERBS = (r"send|email|notify|message|check|verify|create|assign|clean|fix|repair|bring|deliver|"
         r"replace|prepare|look ?up|find|gui|kiem tra|xem|tao|don|sua|mang|thay|chuan bi|tra cuu")
AND = re.compile(rf"\s*,?\s*\b(?:and|va)\s+(?=(?:{VERBS})\b)|\s*,\s*(?=(?:{VERBS})\b)")
TEMPLATES = (("apology", r"apolog|xin loi|sorry"),
             ("checkin_instructions", r"instruction|huong dan|how to check"),
             ("checkin_ready", r"ready|san sang|da xong"),
             ("booking_confirmation", r"confirm|xac nhan|"))
ROOM = re.compile(r"(?:\broom|\bphong|#)\s*(\d{2,5})\b")
BOOKING = re.compile(r"\b(?:booking|dat phong|ma)\s*#?\s*([A-Za-z0-9][\w-]{2,})", re.IGNORECASE)


@dataclass(frozen=True)
class Step:
    step: int
    action: str
    service: str  # which part of the platform does it: lake, llm, workflows
    writes: bool
    clause: str
    arguments: dict = field(default_factory=dict)
    condition: str | None = None  # "room_ready": skipped unless an earlier check said so


class PlanError(ValueError):
    """The instruction has a clause no action matches."""


def _action(clause: str, context: dict) -> tuple[str, str, bool, dict] | None:
    folded = fold(clause)
    room = ROOM.search(folded)
    room_number = room.group(1) if room else context.get("room_number")
    if re.search(r"\b(?:send|email|mail|notify|message|text|gui|nhan tin|thong bao)\b", folded):
        template = next(t for t, p in TEMPLATES if re.search(p, folded))
        return "send_message", "workflows", True, {
            "template": template, "booking_id": context.get("booking_id"),
            "room_number": room_number, "guest_id": context.get("guest_id"),
            "channel": "email" if re.search(r"e-?mail|mail", folded) else context.get("channel", "email")}
    if re.search(r"\b(?:check|verify|is|kiem tra|xem)\b", folded) and re.search(
            r"ready|clean|status|inspect|san sang|sach|trang thai", folded):
        return "check_room_status", "lake", False, {"room_number": room_number}
    if re.search(r"\barrivals?\b|khach den", folded):
        return "check_arrivals", "lake", False, {"day": clause}
    if re.search(r"\b(?:clean|fix|repair|bring|deliver|replace|prepare|set up|don|sua|mang|"
                 r"thay|chuan bi|create a task|assign)\b", folded):
        return "create_task", "workflows", True, {"request": clause.strip(),
                                                  "room_number": room_number}
    if BOOKING.search(clause) or re.search(r"look ?up|find the booking|tra cuu", folded):
        found = BOOKING.search(clause)
        return "lookup_booking", "lake", False, {
            "booking_id": found.group(1) if found else context.get("booking_id")}
    return None


def plan(instruction: str, context: dict | None = None) -> list[Step]:
    context = context or {}
    folded = fold(instruction)  # one letter per letter: offsets carry over
    if len(folded) != len(instruction):  # a ligature or the like: clauses in folded form
        instruction = folded
    clauses, start = [], 0
    for part in THEN.split(folded):
        for piece in AND.split(part):
            if piece.strip(" ,."):
                at = folded.index(piece, start)
                clauses.append(instruction[at:at + len(piece)].strip(" ,."))
                start = at + len(piece)
    steps, checked_room, room = [], False, context.get("room_number")
    for clause in clauses:
        found = _action(clause, {**context, "room_number": room})
        if found is None:
            raise PlanError(f"no action matches \u201c{clause}\u201d; actions: check a room's "
                            "status, look up a booking, check arrivals, send a guest message "
                            "(confirmation, apology, check-in instructions, room ready), "
                            "create a task for a team")
        action, service, writes, args = found
        room = args.get("room_number") or room  # "check room 201, then tell the guest it is ready"
        # "check if room 201 is ready, then send ..." : what follows a check depends on it
        condition = "room_ready" if checked_room and writes else None
        checked_room = checked_room or action == "check_room_status"
        steps.append(Step(len(steps) + 1, action, service, writes, clause, args, condition))
    if not steps:
        raise PlanError("the instruction is empty")
    return steps


class TaskRunner:
    """Runs a plan: reads now, writes queued through ``queue(action, arguments) -> id``."""

    def __init__(self, data: DataTools, router: RequestRouter | None,
                 queue: Callable[[str, dict], str]):
        self.data, self.router, self.queue = data, router, queue

    def with_queue(self, queue: Callable[[str, dict], str]) -> "TaskRunner":
        """The same runner writing through another queue (one that knows the caller)."""
        return TaskRunner(self.data, self.router, queue)

    def execute(self, instruction: str, context: dict, permissions: frozenset[str] | set[str],
                hotel: str | None = None) -> dict:
        steps = plan(instruction, context)
        results, room_ready = [], None
        may_write = WRITE_PERMISSION in permissions
        for s in steps:
            if s.writes and not may_write:
                results.append({"step": s.step, "status": "refused",
                                "result": {"reason": f"queuing '{s.action}' needs the permission "
                                                     f"{WRITE_PERMISSION}, which your role lacks"}})
                continue
            if s.condition == "room_ready" and room_ready is not True:
                results.append({"step": s.step, "status": "skipped",
                                "result": {"reason": "the room is not ready for a guest"
                                           if room_ready is False else "the room's status is unknown"}})
                continue
            try:
                status, result = self._run(s, hotel)
            except LookupError as e:
                status, result = "failed", {"reason": str(e)}
            if s.action == "check_room_status":
                room_ready = result.get("room_ready")
            results.append({"step": s.step, "status": status, "result": result})
        statuses = {r["status"] for r in results}
        overall = ("success" if statuses <= {"completed", "queued"}
                   else "refused" if statuses == {"refused"}
                   else "failed" if statuses == {"failed"} else "partial")
        return {"execution_plan": [{"step": s.step, "action": s.action, "service": s.service,
                                    "writes": s.writes, "instruction": s.clause,
                                    **({"condition": s.condition} if s.condition else {})}
                                   for s in steps],
                "results": results, "overall_status": overall}

    def _run(self, s: Step, hotel: str | None) -> tuple[str, dict]:
        if s.action == "check_room_status":
            if not s.arguments.get("room_number"):
                return "failed", {"reason": "which room? name it in the instruction or in "
                                            "context.room_number"}
            r = self.data.room_status(room_number=s.arguments["room_number"], hotel=hotel)
            if not r.rows:
                return "failed", {"reason": r.note}
            # ready: inspected clean and nobody in it
            ready = all(bool(row["is_ready_for_guest"]) and not row["occupied"] for row in r.rows)
            return "completed", {"room_ready": ready, "rooms": [
                {k: row[k] for k in ("hotel", "room_number", "latest_inspection_status",
                                     "is_ready_for_guest", "occupied")} for row in r.rows]}
        if s.action == "check_arrivals":
            r = self.data.arrivals(day=s.arguments["day"], hotel=hotel)
            return "completed", {"arrivals": len(r.rows), "day": r.arguments["day"]}
        if s.action == "lookup_booking":
            booking = s.arguments.get("booking_id")
            rows = self.data.marts.query(
                "select booking_id, hotel, arrival_date, departure_date, reserved_room_type, "
                "room_number, reservation_status from fct_bookings where booking_id = ?", [booking])
            if not rows:
                return "failed", {"reason": f"no booking '{booking}' in the lake"}
            return "completed", {k: str(v) for k, v in rows[0].items()}
        arguments = dict(s.arguments)
        if s.action == "create_task" and self.router is not None:
            routed = self.router.classify(s.arguments["request"])
            arguments.update(team=routed["team"], category=routed["category"],
                             priority=routed["priority"])
        action_id = self.queue(s.action, {**arguments, "hotel": hotel})
        return "queued", {"action_id": action_id, **{k: v for k, v in arguments.items() if v}}
