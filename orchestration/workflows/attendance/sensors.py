"""New attendance events in bronze start the attendance workflow."""

import dagster as dg

from orchestration.workflows.attendance.jobs import ATTENDANCE_JOB


@dg.asset_sensor(asset_key=dg.AssetKey(["bronze", "attendance_events"]), job=ATTENDANCE_JOB,
                 minimum_interval_seconds=10, default_status=dg.DefaultSensorStatus.RUNNING,
                 description="Each ingest of attendance events runs the attendance workflow.")
def attendance_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
    # one run per materialization (its run and time: an EventLogEntry has no storage id)
    yield dg.RunRequest(run_key=f"{asset_event.run_id}:{asset_event.timestamp}")
