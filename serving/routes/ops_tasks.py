"""/api/v1/ops/tasks: the operational tasks of the lake's ``ops/tasks`` (made from routed
guest requests by the guest_requests workflow), listed, assigned, closed or cancelled by
staff through ``operations.tasks.TaskBoard``."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Body, Query
from pydantic import Field

from lake.properties import PropertyMaster
from operations.tasks import CLOSED, TaskError
from serving.core.error_docs import documented, error_responses, invalid
from serving.core.errors import ApiError, InvalidRequest, Message, NotFound
from serving.deps import OpsReader, OpsWriter, Properties, TaskBoardDep
from serving.schemas.ops_task_schemas import (EmployeeId, Id, Priority, Task, TaskId, TaskList,
                                              TaskStatus, TaskUpdate)
from serving.schemas.request_examples import examples_for
from serving.services.hotel_lookup import resolve_hotel

router = APIRouter(prefix="/api/v1/ops/tasks", tags=["ops: tasks"])

NO_TASK = Message("no task '{task_id}': GET /api/v1/ops/tasks lists them")
UNKNOWN_HOTEL = Message("unknown hotel '{value}'; known hotels: {known}")  # hotel_lookup's
# operations.tasks.TaskError's messages: each says what to do instead
CLOSED_TASK = Message("task {task_id} is {status}: a closed task does not reopen; make a new one")
NO_EMPLOYEE = Message("no employee '{assignee_id}' in the staff roster")
OTHER_TEAM = Message("{assignee_id} works in {department} at {hotel}; task {task_id} is for "
                     "{task_department} at {task_hotel}")
NO_ASSIGNEE = Message("give assignee_id to assign the task")


class Conflict(ApiError):
    status_code = 409
    error = "conflict"


def described(responses: dict, **descriptions: str) -> dict:
    """``responses`` with the descriptions of some statuses made this route's own."""
    for status, text in descriptions.items():
        responses[int(status.removeprefix("s"))]["description"] = text
    return responses


def _task(row: dict[str, Any], properties: PropertyMaster, at: datetime) -> Task:
    hotel = properties.find(row["hotel"]) if row["hotel"] else None
    overdue = row["status"] not in CLOSED and row["due_at"] is not None and row["due_at"] < at
    fields = {k: v for k, v in row.items() if k in Task.model_fields}
    return Task(**{**fields, "items": row["items"] or [], "overdue": overdue,
                   "hotel_code": hotel.code if hotel else None})


def _utc(ts: datetime | None) -> datetime | None:
    return ts if ts is None or ts.tzinfo else ts.replace(tzinfo=timezone.utc)


def _row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: _utc(v) if isinstance(v, datetime) else v for k, v in row.items()}


def _not_found(task_id: str):
    return documented(NotFound, NO_TASK, "Unknown task", task_id="req-XX-0000")


@router.get("", response_model=TaskList,
            responses=described(error_responses(
                "ops:read", documented(InvalidRequest, UNKNOWN_HOTEL, "Unknown hotel", value="XX",
                                       known="HA (Hotel A), HB (Hotel B)"),
                invalid(Annotated[int, Field(ge=1, le=500)], 0, "Limit out of range",
                        where=("query", "limit"))),
                s422="A filter is malformed, or names a hotel the group does not have."),
            summary="List operational tasks, newest first (permission ops:read)")
def list_tasks(_: OpsReader, board: TaskBoardDep, properties: Properties,
               hotel: str | None = Query(None, max_length=64, description="Hotel code or name."),
               status: TaskStatus | None = Query(None),
               team: str | None = Query(None, max_length=64, description=(
                   "The request router's team (housekeeping, engineering, front_office...).")),
               department: str | None = Query(None, max_length=64, description=(
                   "The staff department (housekeeping, maintenance, front_office...).")),
               assignee_id: EmployeeId | None = Query(None),
               priority: Priority | None = Query(None),
               overdue: bool | None = Query(None, description=(
                   "true: past due and not closed; false: the others.")),
               limit: int = Query(100, ge=1, le=500)) -> TaskList:
    """The tasks of the lake's ops/tasks, filtered. A task comes from a routed guest request
    (`request_id`), is assigned to the least busy employee of its department on shift (or
    stays open), is due by its priority, and is escalated to its supervisor when overdue."""
    at = datetime.now(timezone.utc)
    tasks = board.tasks()
    if hotel:
        tasks = tasks.filter(pl.col("hotel") == resolve_hotel(properties, hotel, "query.hotel").name)
    for column, value in (("status", status), ("team", team), ("department", department),
                          ("assignee_id", assignee_id), ("priority", priority)):
        if value is not None:
            tasks = tasks.filter(pl.col(column) == value)
    if overdue is not None:
        late = ~pl.col("status").is_in(list(CLOSED)) & (pl.col("due_at") < at)
        tasks = tasks.filter(late if overdue else ~late)
    tasks = tasks.sort(["created_at", "task_id"], descending=True).head(limit)
    return TaskList(tasks=[_task(_row(r), properties, at) for r in tasks.iter_rows(named=True)],
                    count=tasks.height, limit=limit)


@router.get("/{task_id}", response_model=Task,
            responses=described(error_responses(
                "ops:read", _not_found("req-XX-0000"),
                invalid(Id, "not an id!", "Not a task id", where=("path", "task_id"))),
                s404="No task has this id."),
            summary="One task (permission ops:read)")
def get_task(task_id: TaskId, _: OpsReader, board: TaskBoardDep, properties: Properties) -> Task:
    """The task as it is now: its assignee, status, due time and whether it is overdue."""
    found = board.tasks().filter(pl.col("task_id") == task_id)
    if not found.height:
        raise NotFound(NO_TASK.format(task_id=task_id))
    return _task(_row(found.row(0, named=True)), properties, datetime.now(timezone.utc))


@router.patch("/{task_id}", response_model=Task,
              responses=described(error_responses(
                  "ops:write", _not_found("req-XX-0000"),
                  documented(Conflict, CLOSED_TASK, "A closed task", task_id="req-XX-0001",
                             status="done"),
                  invalid(TaskUpdate, {}, "Nothing to change"),
                  documented(InvalidRequest, OTHER_TEAM, "Someone of another team",
                             assignee_id="EMP0042", department="fnb", hotel="Hotel A",
                             task_id="req-XX-0001", task_department="housekeeping",
                             task_hotel="Hotel A"),
                  documented(InvalidRequest, NO_EMPLOYEE, "Nobody of that id",
                             assignee_id="EMP9999"),
                  documented(InvalidRequest, NO_ASSIGNEE, "Assigned to nobody")),
                  s404="No task has this id.",
                  s409="The task is closed (done or cancelled): it does not reopen.",
                  s422="The body is malformed, or the change cannot be made: the message says why "
                       "and what to do."),
              summary="Assign, close or cancel a task (permission ops:write)")
def update_task(task_id: TaskId,
                body: Annotated[TaskUpdate, Body(openapi_examples=examples_for(TaskUpdate))],
                principal: OpsWriter, board: TaskBoardDep, properties: Properties) -> Task:
    """`assignee_id` assigns the task to an employee of its hotel and department (an open
    task becomes `assigned`); `status` moves it: `done` closes it, `cancelled` drops it,
    `open` puts it back in the pool. A closed task does not reopen (409). The change is
    recorded with the caller (`updated_by`)."""
    try:
        task = board.update(task_id, by=principal.subject, status=body.status,
                            assignee_id=body.assignee_id)
    except KeyError:
        raise NotFound(NO_TASK.format(task_id=task_id)) from None
    except TaskError as e:
        now = board.tasks().filter(pl.col("task_id") == task_id)
        closed = now.height and now["status"][0] in CLOSED
        raise (Conflict if closed else InvalidRequest)(str(e)) from None
    return _task(_row(task), properties, datetime.now(timezone.utc))
