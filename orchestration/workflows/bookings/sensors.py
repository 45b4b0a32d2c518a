"""New bookings in bronze start the booking-risk job."""

import dagster as dg

from orchestration.workflows.bookings.assets import BOOKINGS
from orchestration.workflows.bookings.jobs import BOOKING_JOB


@dg.asset_sensor(asset_key=BOOKINGS, job=BOOKING_JOB, minimum_interval_seconds=10,
                 default_status=dg.DefaultSensorStatus.RUNNING,
                 description="Each ingest of bookings runs the booking-risk job.")
def booking_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
    # one run per materialization (its run and time: an EventLogEntry has no storage id)
    yield dg.RunRequest(run_key=f"{asset_event.run_id}:{asset_event.timestamp}")
