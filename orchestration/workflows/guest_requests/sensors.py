"""Requests and actions the API writes to the lake start the guest-request job."""

import json

import dagster as dg

from lake.delta_tables import Lake
from lake.tables import GUEST_REQUESTS, QUEUED_ACTIONS
from orchestration.workflows.guest_requests.jobs import GUEST_REQUEST_JOB


@dg.sensor(job=GUEST_REQUEST_JOB, minimum_interval_seconds=10,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description=f"A new version of `{GUEST_REQUESTS.name}` or `{QUEUED_ACTIONS.name}` "
                       "(the API routed a message or queued an action) runs the guest-request job.")
def guest_request_sensor(context: dg.SensorEvaluationContext, lake: dg.ResourceParam[Lake]):
    versions = {t.name: lake.version(t.name) for t in (GUEST_REQUESTS, QUEUED_ACTIONS)}
    if context.cursor is None:  # just switched on: what is there now is where it starts from
        context.update_cursor(json.dumps(versions))
        return dg.SkipReason(f"watching from versions {versions}")
    if json.loads(context.cursor) == versions:
        return dg.SkipReason("no new guest request or queued action")
    context.update_cursor(json.dumps(versions))
    return dg.RunRequest(run_key=json.dumps(versions, sort_keys=True))
