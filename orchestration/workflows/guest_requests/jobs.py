"""The guest-request jobs."""

import dagster as dg

GUEST_REQUEST_JOB = dg.define_asset_job(
    "guest_requests", selection=dg.AssetSelection.assets(["ops", "tasks"]),
    description="Routed guest requests and queued actions -> tasks, acknowledgements, messages.")

ESCALATION_JOB = dg.define_asset_job(
    "task_escalation", selection=dg.AssetSelection.assets(["ops", "task_escalations"]),
    description="Overdue tasks -> the department's supervisor.")
