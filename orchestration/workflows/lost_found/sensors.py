"""A new found item or a new guest request starts the lost-and-found job."""

import json

import dagster as dg

from lake.delta_tables import Lake
from lake.tables import GUEST_REQUESTS, IMAGES
from orchestration.workflows.lost_found.jobs import LOST_FOUND_JOB


@dg.sensor(job=LOST_FOUND_JOB, minimum_interval_seconds=30,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description=f"A new version of `{IMAGES.name}` (an image indexed) or "
                       f"`{GUEST_REQUESTS.name}` (a request routed) runs the lost-and-found job.")
def lost_found_sensor(context: dg.SensorEvaluationContext, lake: dg.ResourceParam[Lake]):
    versions = {t.name: lake.version(t.name) for t in (IMAGES, GUEST_REQUESTS)}
    if context.cursor is None:  # just switched on: what is there now is where it starts from
        context.update_cursor(json.dumps(versions))
        return dg.SkipReason(f"watching from versions {versions}")
    if json.loads(context.cursor) == versions:
        return dg.SkipReason("no new image or request")
    context.update_cursor(json.dumps(versions))
    return dg.RunRequest(run_key=json.dumps(versions, sort_keys=True))
