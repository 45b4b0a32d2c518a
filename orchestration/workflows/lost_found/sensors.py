"""A new found item or a new guest request starts the lost-and-found job."""

import dagster as dg

from lake.delta_tables import Lake
from lake.tables import GUEST_REQUESTS, IMAGES
from orchestration.workflows.lost_found.jobs import LOST_FOUND_JOB
from orchestration.workflows.table_versions import on_new_versions


@dg.sensor(job=LOST_FOUND_JOB, minimum_interval_seconds=30,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description=f"A new version of `{IMAGES.name}` (an image indexed) or "
                       f"`{GUEST_REQUESTS.name}` (a request routed) runs the lost-and-found job.")
def lost_found_sensor(context: dg.SensorEvaluationContext, lake: dg.ResourceParam[Lake]):
    return on_new_versions(context, lake, (IMAGES, GUEST_REQUESTS), "no new image or request")
