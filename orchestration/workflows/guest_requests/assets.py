"""Tasks from routed guest requests and queued actions; escalation of overdue tasks."""

import json
from datetime import timedelta

import dagster as dg
import polars as pl

from lake.tables import GUEST_REQUESTS, QUEUED_ACTIONS, TASKS
from orchestration.workflows.resources import WORKFLOWS, Operations
from operations.outbox import Message
from operations.workflows import escalations, request_acknowledgements

RECENT = timedelta(hours=24)  # a request older than this without a task predates the workflow


def _action_requests(actions: pl.DataFrame) -> pl.DataFrame:
    """Queued create_task actions as guest-request rows (request_id act-<action_id>)."""
    rows = []
    for a in actions.iter_rows(named=True):
        args = json.loads(a["arguments"] or "{}")
        rows.append({"request_id": f"act-{a['action_id']}", "received_at": a["queued_at"],
                     "guest_id": args.get("guest_id"), "hotel": args.get("hotel"),
                     "message": args.get("request"), "language": None,
                     "category": args.get("category"), "priority": args.get("priority"),
                     "team": args.get("team"), "request_type": None,
                     "room_number": args.get("room_number"), "items": [], "quantity": None})
    return pl.DataFrame(rows, schema={c: GUEST_REQUESTS.schema[c] for c in rows[0]}) if rows else None


def _action_messages(actions: pl.DataFrame, ops: Operations) -> list[Message]:
    """Queued send_message / send_alert actions as outbox messages: an alert to operations;
    a guest message for the front desk to send (the assistant drafts, a person sends)."""
    out = []
    for a in actions.iter_rows(named=True):
        args = json.loads(a["arguments"] or "{}")
        if a["action"] == "send_alert":
            out.append(Message(f"action:{a['action_id']}", "actions", "operations",
                               f"[Innsight] {args.get('title') or 'alert'}",
                               json.dumps(args, ensure_ascii=False, indent=1), severity="warning",
                               payload=args))
        elif a["action"] == "send_message":
            hotel = args.get("hotel")
            out.append(Message(f"action:{a['action_id']}", "actions",
                               ops.hotels.staff("front_office", hotel),
                               f"Message to send: {args.get('template') or 'message'}",
                               f"{a['requested_by'] or 'The assistant'} asked to send the "
                               f"{args.get('template')} message (booking {args.get('booking_id')}, "
                               f"room {args.get('room_number')}, guest {args.get('guest_id')}). "
                               "Check and send it from the guest-messaging tool.", payload=args))
    return out


@dg.asset(
    key=["ops", "tasks"], group_name=WORKFLOWS, kinds={"delta", "email"},
    description=f"Routed guest requests of the last 24 hours (`{GUEST_REQUESTS.name}`) and the "
                f"assistant's queued actions (`{QUEUED_ACTIONS.name}`) as tasks in "
                f"`{TASKS.name}`: the team's department, someone of it on shift now (the least "
                "busy), the due time by priority; the guest's acknowledgement in their language "
                "(request-ack:<request_id>). Queued messages and alerts go to the outbox.",
)
def tasks(context: dg.AssetExecutionContext, ops: dg.ResourceParam[Operations]) -> dg.MaterializeResult:
    lake, at = ops.lake, ops.now()
    for table in (GUEST_REQUESTS, QUEUED_ACTIONS):
        lake.ensure(table.name, table.schema)
    requests = lake.read(GUEST_REQUESTS.name).filter(pl.col("received_at") >= at - RECENT)
    actions = lake.read(QUEUED_ACTIONS.name).filter(pl.col("status") == "queued")
    from_actions = _action_requests(actions.filter(pl.col("action") == "create_task"))
    if from_actions is not None:
        requests = pl.concat([requests, from_actions], how="diagonal_relaxed")
    made = ops.board.from_requests(requests, at)
    messages = request_acknowledgements(made, requests, ops.vault.get, ops.hotels)
    messages += _action_messages(actions, ops)
    counts = ops.send(messages)
    if actions.height:  # done only once their tasks and messages are written
        lake.merge(QUEUED_ACTIONS.name, actions.with_columns(status=pl.lit("done")),
                   list(QUEUED_ACTIONS.keys))
    assigned = made.filter(pl.col("assignee_id").is_not_null()).height
    context.log.info(f"{made.height} tasks made ({assigned} assigned), {actions.height} actions: {counts}")
    return dg.MaterializeResult(metadata={
        "tasks_made": made.height, "tasks_assigned": assigned,
        "tasks_unassigned": made.height - assigned, "actions_done": actions.height, **counts})


@dg.asset(
    key=["ops", "task_escalations"], group_name=WORKFLOWS, deps=[["ops", "tasks"]],
    kinds={"delta", "email"},
    description="Tasks past their due time and not closed: a notice to the department's "
                "supervisor per task (task-overdue:<task_id>), marked escalated. Every 5 minutes.",
)
def task_escalations(context: dg.AssetExecutionContext,
                     ops: dg.ResourceParam[Operations]) -> dg.MaterializeResult:
    at = ops.now()
    overdue = ops.board.overdue(at)
    counts = ops.send(escalations(overdue, ops.hotels, at))
    ops.board.escalated(overdue["task_id"].to_list(), at)
    context.log.info(f"{overdue.height} overdue tasks escalated: {counts}")
    return dg.MaterializeResult(metadata={"escalated": overdue.height, **counts,
                                          "tasks": dg.MetadataValue.json(overdue["task_id"].to_list()[:50])})
