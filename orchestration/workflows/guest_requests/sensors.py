"""Requests and actions the API writes to the lake start the guest-request job."""

import dagster as dg

from lake.delta_tables import Lake
from lake.tables import GUEST_REQUESTS, QUEUED_ACTIONS
from orchestration.workflows.guest_requests.jobs import GUEST_REQUEST_JOB
from orchestration.workflows.table_versions import on_new_versions


@dg.sensor(job=GUEST_REQUEST_JOB, minimum_interval_seconds=10,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description=f"A new version of `{GUEST_REQUESTS.name}` or `{QUEUED_ACTIONS.name}` "
                       "(the API routed a message or queued an action) runs the guest-request job.")
def guest_request_sensor(context: dg.SensorEvaluationContext, lake: dg.ResourceParam[Lake]):
    return on_new_versions(context, lake, (GUEST_REQUESTS, QUEUED_ACTIONS),
                           "no new guest request or queued action")
