"""/api/v1/ops/notifications: the outbox (``operations.outbox``), every message the platform
sends: listed with its delivery state, a dead letter sent again, a repeating critical alert
acknowledged (its repeats stop)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from operations.outbox import Stored
from serving.core.error_docs import documented, error_responses, invalid
from serving.core.errors import Message, NotFound
from serving.deps import OpsReader, OpsWriter, OutboxDep
from serving.routes.ops_tasks import Conflict, described
from serving.schemas.ops_task_schemas import (MessageId, MessageStatus, Notification,
                                              NotificationList)

router = APIRouter(prefix="/api/v1/ops/notifications", tags=["ops: notifications"])

NO_MESSAGE = Message("no message '{message_id}' in the outbox: GET /api/v1/ops/notifications "
                     "lists them")
BEING_SENT = Message("message '{message_id}' is being sent right now: resend it once the "
                     "attempt is recorded (in a few seconds)")
EXAMPLE_ID = "0123456789abcdef0123456789abcdef"
HexId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]


def _notification(m: Stored) -> Notification:
    return Notification(**{k: getattr(m, k) for k in Notification.model_fields})


def _found(m: Stored | None, message_id: str) -> Notification:
    if m is None:
        raise NotFound(NO_MESSAGE.format(message_id=message_id))
    return _notification(m)


def _errors(permission: str, *more):
    return described(error_responses(
        permission, documented(NotFound, NO_MESSAGE, "Unknown message", message_id=EXAMPLE_ID),
        invalid(HexId, "not an id!", "Not a message id", where=("path", "message_id")), *more),
        s404="No message of the outbox has this id.")


@router.get("", response_model=NotificationList,
            responses=described(error_responses(
                "ops:read", invalid(Annotated[int, Field(ge=1, le=500)], 0, "Limit out of range",
                                    where=("query", "limit"))),
                s422="A filter is malformed."),
            summary="List the outbox's messages, newest first (permission ops:read)")
def list_notifications(_: OpsReader, outbox: OutboxDep,
                       status: MessageStatus | None = Query(None, description=(
                           "pending (waiting for its next attempt), sending, sent, dead "
                           "(gave up: resend it), acknowledged.")),
                       workflow: str | None = Query(None, max_length=64, description=(
                           "The workflow that queued it (attendance, anomalies, room_ready...).")),
                       recipient: str | None = Query(None, max_length=255, description=(
                           "`guest:<id>`, `<role>@<hotel code>`, `pms:rates`...")),
                       limit: int = Query(100, ge=1, le=500)) -> NotificationList:
    """Each message with its delivery state: attempts, deliveries, the next attempt, the last
    error, and who acknowledged it; `counts` tallies the whole outbox by status."""
    rows = outbox.list(status=status, workflow=workflow, recipient=recipient, limit=limit)
    return NotificationList(notifications=[_notification(m) for m in rows], count=len(rows),
                            limit=limit, counts=outbox.counts())


@router.get("/{message_id}", response_model=Notification, responses=_errors("ops:read"),
            summary="One message of the outbox (permission ops:read)")
def get_notification(message_id: MessageId, _: OpsReader, outbox: OutboxDep) -> Notification:
    """The message, its text and its delivery state."""
    return _found(outbox.get(message_id), message_id)


@router.post("/{message_id}/resend", response_model=Notification,
             responses=described(_errors("ops:write", documented(
                 Conflict, BEING_SENT, "Being sent", message_id=EXAMPLE_ID)),
                 s409="A sender holds the message right now."),
             summary="Send a message again: a dead letter, or one sent (permission ops:write)")
def resend_notification(message_id: MessageId, _: OpsWriter, outbox: OutboxDep) -> Notification:
    """The message is due again now with its attempts counted afresh (and any
    acknowledgement cleared): the next round of the sender delivers it. For a dead letter,
    once the cause (`last_error`) is fixed."""
    found = _found(outbox.get(message_id), message_id)
    if found.status == "sending":
        raise Conflict(BEING_SENT.format(message_id=message_id))
    return _found(outbox.resend(message_id), message_id)


@router.post("/{message_id}/ack", response_model=Notification, responses=_errors("ops:write"),
             summary="Acknowledge a message: a critical alert stops repeating (permission ops:write)")
def acknowledge_notification(message_id: MessageId, principal: OpsWriter,
                             outbox: OutboxDep) -> Notification:
    """Records who acknowledged it and when (`acked_by`, `acked_at`); a repeating message
    (a critical alert) is not delivered again. Acknowledging twice keeps the first."""
    return _found(outbox.acknowledge(message_id, by=principal.subject), message_id)
