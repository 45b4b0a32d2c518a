"""Requests and answers of the operations routes: tasks (/api/v1/ops/tasks), the outbox's
notifications (/api/v1/ops/notifications) and the erasure of a guest's contact details
(/api/v1/guests/{guest_id}/contact)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from serving.schemas.request_examples import NEW_GUEST_ID

TaskStatus = Literal["open", "assigned", "done", "cancelled"]  # operations.tasks.STATUSES
Priority = Literal["urgent", "high", "normal", "low"]  # operations.tasks.PRIORITIES
MessageStatus = Literal["pending", "sending", "sent", "dead", "acknowledged"]  # operations.outbox
Severity = Literal["info", "warning", "critical"]

ID = r"^[A-Za-z0-9_.:\-]{1,128}$"
Id = Annotated[str, Field(pattern=ID)]  # what the path parameters below accept
EmployeeId = Annotated[str, Field(pattern=ID, description="An employee of the staff roster.")]
TaskId = Annotated[str, Path(pattern=ID, description=(
    "A task's id: `req-<request_id>` for a routed guest request."))]
MessageId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="A message's id in the outbox.")]
GuestId = Annotated[str, Path(pattern=ID, description="The guest's id, as the PMS names them.",
                              openapi_examples={"a guest no platform has": {
                                  "summary": "Nothing to erase: the receipt says so",
                                  "value": NEW_GUEST_ID}})]


# -- tasks -------------------------------------------------------------------------------------


class Task(BaseModel):
    task_id: str
    hotel: str | None = Field(description="The hotel's name, as the property master has it.")
    hotel_code: str | None
    room_number: str | None
    category: str | None = Field(description="The request's category (housekeeping, maintenance...).")
    request_type: str | None
    items: list[str]
    quantity: int | None
    priority: str
    team: str | None = Field(description="The request router's team.")
    department: str = Field(description="The staff department that does it.")
    assignee_id: str | None = Field(description="The employee it is assigned to; none: open.")
    status: TaskStatus
    overdue: bool = Field(description="Past due and not closed.")
    created_at: AwareDatetime
    due_at: AwareDatetime = Field(description="When it is due, by its priority (`task_due_minutes`).")
    escalated_at: AwareDatetime | None = Field(description="When its supervisor was told it is overdue.")
    closed_at: AwareDatetime | None
    updated_at: AwareDatetime
    updated_by: str | None = Field(description="Who changed it last: a caller, or `workflow:...`.")
    request_id: str | None = Field(description="The guest request it came from "
                                               "(lake table language/guest_requests).")
    guest_id: str | None
    description: str | None = Field(description="The guest's message.")


class TaskList(BaseModel):
    tasks: list[Task] = Field(description="Newest first.")
    count: int
    limit: int


class TaskUpdate(BaseModel):
    """Assign a task, or move its status. `done` closes it, `cancelled` drops it: a closed
    task does not reopen."""

    model_config = ConfigDict(extra="forbid")

    status: TaskStatus | None = Field(None, description=(
        "`assigned` (with an assignee), `done`, `cancelled`, or back to `open`."))
    assignee_id: EmployeeId | None = Field(None, description=(
        "An employee of the task's hotel and department; an open task becomes assigned."))

    @model_validator(mode="after")
    def _something(self) -> "TaskUpdate":
        if self.status is None and self.assignee_id is None:
            raise ValueError("give status, assignee_id or both")
        return self


# -- notifications -----------------------------------------------------------------------------


class Notification(BaseModel):
    message_id: str
    idempotency_key: str = Field(description="The fact it tells, e.g. `attendance-late:<shift_id>`: "
                                             "one fact, one message.")
    workflow: str
    channel: Literal["email", "webhook"]
    recipient: str = Field(description="`guest:<id>`, `<role>@<hotel code>` (staff) or a system "
                                       "(`pms:rates`).")
    language: str
    subject: str
    body: str
    severity: Severity
    repeat_seconds: int | None = Field(description="Delivered again at this interval until "
                                                   "acknowledged (a critical alert).")
    status: MessageStatus
    attempts: int = Field(description="Attempts since it was queued or last re-sent.")
    deliveries: int
    next_attempt_at: AwareDatetime
    last_error: str | None
    created_at: AwareDatetime
    sent_at: AwareDatetime | None
    acked_at: AwareDatetime | None
    acked_by: str | None


class NotificationList(BaseModel):
    notifications: list[Notification] = Field(description="Newest first.")
    count: int
    limit: int
    counts: dict[str, int] = Field(description="Messages of the whole outbox by status.")


# -- the contact vault -------------------------------------------------------------------------


class Removed(BaseModel):
    what: str
    where: str


class Kept(BaseModel):
    what: str
    why: str


class ContactErasureReceipt(BaseModel):
    guest_id: str
    erased: bool = Field(description="Whether the vault held contact details of the guest.")
    erased_at: AwareDatetime
    requested_by: str
    removed: list[Removed] = Field(description="What was deleted, and from where.")
    messages_stopped: list[str] = Field(description=(
        "Outbox messages to the guest that were still due: now dead ('contact erased')."))
    kept: list[Kept] = Field(description="What stays, and why.")
