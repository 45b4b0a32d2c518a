"""Operational tasks in the lake's ``ops/tasks``: made from routed guest requests, assigned to
someone of the team who is on shift now, closed by staff, escalated when overdue.

A task's id names what it came from (``req-<request_id>``), so making the tasks of the same
requests again changes nothing. The due time follows the priority (``task_due_minutes``).
Who is on shift comes from the lake's shifts and employees; among them the one with the
fewest open tasks gets it. Nobody on shift: the task stays open, unassigned, and its
supervisor hears of it when it falls due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import polars as pl

from lake.delta_tables import Lake
from lake.properties import PropertyMaster
from lake.tables import TASKS

# the request router's teams -> the departments of the staff roster
TEAM_DEPARTMENTS = {"housekeeping": "housekeeping", "engineering": "maintenance",
                    "front_office": "front_office", "concierge": "front_office",
                    "fnb": "fnb", "finance": "management", "guest_relations": "front_office",
                    "security": "security", "maintenance": "maintenance", "spa": "spa",
                    "management": "management"}
PRIORITIES = ("urgent", "high", "normal", "low")
STATUSES = ("open", "assigned", "done", "cancelled")
CLOSED = ("done", "cancelled")
EMPLOYEES, SHIFTS = "bronze/employees", "bronze/shifts"


class TaskError(ValueError):
    """A change that cannot be made, with what to do instead."""


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Roster:
    """Who works where, and when: the lake's employees and shifts."""

    lake: Lake

    def employees(self) -> pl.DataFrame:
        if not self.lake.exists(EMPLOYEES):
            return pl.DataFrame(schema={"employee_id": pl.String, "hotel": pl.String,
                                        "department": pl.String, "role": pl.String})
        return self.lake.read(EMPLOYEES, columns=["employee_id", "hotel", "department", "role"])

    def on_shift(self, hotel: str, department: str, at: datetime) -> list[str]:
        """Employees of the hotel's department whose shift covers ``at``."""
        if not self.lake.exists(SHIFTS):
            return []
        shifts = self.lake.read(SHIFTS, columns=["employee_id", "hotel", "start_at", "end_at"])
        working = shifts.filter((pl.col("hotel") == hotel) & (pl.col("start_at") <= at)
                                & (pl.col("end_at") > at))
        staff = self.employees().filter((pl.col("hotel") == hotel)
                                        & (pl.col("department") == department))
        return sorted(set(working["employee_id"]) & set(staff["employee_id"]))

    def employee(self, employee_id: str) -> dict | None:
        found = self.employees().filter(pl.col("employee_id") == employee_id)
        return found.row(0, named=True) if found.height else None


def due_at(priority: str, created: datetime, due_minutes: dict[str, int]) -> datetime:
    return created + timedelta(minutes=due_minutes.get(priority, due_minutes.get("normal", 120)))


@dataclass(frozen=True)
class TaskBoard:
    lake: Lake
    roster: Roster
    properties: PropertyMaster
    due_minutes: dict[str, int]

    def tasks(self) -> pl.DataFrame:
        self.lake.ensure(TASKS.name, TASKS.schema)
        return self.lake.read(TASKS.name)

    def _write(self, rows: pl.DataFrame) -> None:
        self.lake.ensure(TASKS.name, TASKS.schema)
        self.lake.merge(TASKS.name, rows.select([pl.col(c).cast(t) for c, t in TASKS.schema.items()]),
                        list(TASKS.keys))

    def _least_busy(self, candidates: list[str], open_tasks: pl.DataFrame) -> str | None:
        if not candidates:
            return None
        load = dict(open_tasks.group_by("assignee_id").len().iter_rows()) if open_tasks.height else {}
        return min(candidates, key=lambda e: (load.get(e, 0), e))

    def from_requests(self, requests: pl.DataFrame, at: datetime | None = None) -> pl.DataFrame:
        """The tasks of routed guest requests (``language/guest_requests`` rows) not made yet:
        written to ``ops/tasks`` and returned."""
        at = at or utc_now()
        existing = self.tasks()
        made = set(existing["request_id"].drop_nulls())
        open_tasks = existing.filter(~pl.col("status").is_in(CLOSED))
        rows = []
        for r in requests.filter(~pl.col("request_id").is_in(list(made))).iter_rows(named=True):
            hotel = self.properties.find(r["hotel"]) if r["hotel"] else None
            hotel_name = hotel.name if hotel else r["hotel"]
            department = TEAM_DEPARTMENTS.get(r["team"] or "", "front_office")
            assignee = self._least_busy(self.roster.on_shift(hotel_name, department, at),
                                        pl.concat([open_tasks, pl.DataFrame(rows, schema=TASKS.schema)])
                                        if rows else open_tasks)
            priority = r["priority"] if r["priority"] in PRIORITIES else "normal"
            rows.append({
                "task_id": f"req-{r['request_id']}", "created_at": at, "hotel": hotel_name,
                "room_number": r["room_number"], "category": r["category"],
                "request_type": r["request_type"], "items": r["items"] or [],
                "quantity": r["quantity"], "priority": priority, "team": r["team"],
                "department": department, "assignee_id": assignee,
                "status": "assigned" if assignee else "open",
                "due_at": due_at(priority, at, self.due_minutes), "request_id": r["request_id"],
                "guest_id": r["guest_id"], "description": r["message"], "escalated_at": None,
                "closed_at": None, "updated_at": at, "updated_by": "workflow:guest_requests"})
        new = pl.DataFrame(rows, schema=TASKS.schema)
        if new.height:
            self._write(new)
        return new

    def update(self, task_id: str, by: str, status: str | None = None,
               assignee_id: str | None = None, at: datetime | None = None) -> dict:
        """Assign (to an employee of the task's hotel and department) or move the status;
        the task as it is now. Raises KeyError for no such task, TaskError for a change that
        cannot be made."""
        at = at or utc_now()
        found = self.tasks().filter(pl.col("task_id") == task_id)
        if not found.height:
            raise KeyError(task_id)
        task = found.row(0, named=True)
        if task["status"] in CLOSED and (status or assignee_id) and status != task["status"]:
            raise TaskError(f"task {task_id} is {task['status']}: a closed task does not reopen; "
                            "make a new one")
        if assignee_id is not None:
            employee = self.roster.employee(assignee_id)
            if employee is None:
                raise TaskError(f"no employee {assignee_id!r} in the staff roster")
            if (employee["hotel"], employee["department"]) != (task["hotel"], task["department"]):
                raise TaskError(f"{assignee_id} works in {employee['department']} at "
                                f"{employee['hotel']}; task {task_id} is for {task['department']} "
                                f"at {task['hotel']}")
            task["assignee_id"] = assignee_id
            if status is None and task["status"] == "open":
                status = "assigned"
        if status is not None:
            if status not in STATUSES:
                raise TaskError(f"status {status!r} is not one of {', '.join(STATUSES)}")
            if status == "assigned" and not task["assignee_id"]:
                raise TaskError("give assignee_id to assign the task")
            task["status"] = status
            if status in CLOSED:
                task["closed_at"] = at
        task["updated_at"], task["updated_by"] = at, by
        self._write(pl.DataFrame([task], schema=TASKS.schema))
        return task

    def overdue(self, at: datetime | None = None) -> pl.DataFrame:
        """Tasks past due, still not closed, not escalated yet."""
        at = at or utc_now()
        return self.tasks().filter(~pl.col("status").is_in(CLOSED) & (pl.col("due_at") < at)
                                   & pl.col("escalated_at").is_null())

    def escalated(self, task_ids: list[str], at: datetime | None = None) -> None:
        at = at or utc_now()
        rows = self.tasks().filter(pl.col("task_id").is_in(task_ids)).with_columns(
            escalated_at=pl.lit(at).cast(TASKS.schema["escalated_at"]))
        if rows.height:
            self._write(rows)
