"""New room inspections in bronze start the room-ready job."""

import dagster as dg

from orchestration.workflows.room_ready.assets import INSPECTIONS
from orchestration.workflows.room_ready.jobs import ROOM_READY_JOB


@dg.asset_sensor(asset_key=INSPECTIONS, job=ROOM_READY_JOB, minimum_interval_seconds=10,
                 default_status=dg.DefaultSensorStatus.RUNNING,
                 description="Each ingest of room inspections runs the room-ready job.")
def room_ready_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
    # one run per materialization (its run and time: an EventLogEntry has no storage id)
    yield dg.RunRequest(run_key=f"{asset_event.run_id}:{asset_event.timestamp}")
