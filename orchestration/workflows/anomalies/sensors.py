"""New anomaly alerts in bronze start the alert job."""

import dagster as dg

from orchestration.workflows.anomalies.assets import ALERTS
from orchestration.workflows.anomalies.jobs import ANOMALY_JOB


@dg.asset_sensor(asset_key=ALERTS, job=ANOMALY_JOB, minimum_interval_seconds=5,
                 default_status=dg.DefaultSensorStatus.RUNNING,
                 description="Each ingest of anomaly alerts runs the alert job.")
def anomaly_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
    # one run per materialization (its run and time: an EventLogEntry has no storage id)
    yield dg.RunRequest(run_key=f"{asset_event.run_id}:{asset_event.timestamp}")
