"""The deferred runs sensor: launches the runs that ``POST /api/v1/workflows/trigger`` asked
for at a later time, once their time has come."""

from collections.abc import Sequence

import dagster as dg

from operations.deferred_runs import DeferredRuns

SENSOR_NAME = "deferred_runs_sensor"


def build_deferred_runs_sensor(jobs: Sequence,
                               minimum_interval_seconds: int = 30) -> dg.SensorDefinition:
    """The sensor over ``jobs`` (every job of the code location: a trigger may name any);
    it reads the triggers from the ``deferred_runs`` resource."""
    names = {job.name for job in jobs}

    @dg.sensor(name=SENSOR_NAME, jobs=list(jobs), minimum_interval_seconds=minimum_interval_seconds,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Launches the workflow runs triggered through the API for a later "
                           "time (ops database, table workflow_triggers) once they are due; "
                           "the run key is the trigger's id, so each launches once.")
    def deferred_runs_sensor(context: dg.SensorEvaluationContext,
                             deferred_runs: dg.ResourceParam[DeferredRuns]):
        requests = []
        for run in deferred_runs.due():
            if run.job_name not in names:
                deferred_runs.failed(run.trigger_id, f"the code location has no job {run.job_name!r}")
                context.log.warning("trigger %s names no job of this code location: %s",
                                    run.trigger_id, run.job_name)
                continue
            requests.append(dg.RunRequest(run_key=run.trigger_id, job_name=run.job_name,
                                          run_config=run.run_config, tags=run.run_tags))
            deferred_runs.launched(run.trigger_id)
        if not requests:
            return dg.SkipReason("no deferred run is due")
        return requests

    return deferred_runs_sensor
