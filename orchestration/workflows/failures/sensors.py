"""Run failures and failed asset checks -> the operations channel."""

import dagster as dg

from orchestration.workflows.resources import Operations
from operations.workflows import check_failed, run_failed


@dg.run_failure_sensor(default_status=dg.DefaultSensorStatus.RUNNING, monitor_all_code_locations=False,
                       minimum_interval_seconds=15,
                       description="A failed run of any job -> a message to the operations channel "
                                   "(run-failed:<run_id>) with the run's link.")
def run_failure_alert(context: dg.RunFailureSensorContext, ops: dg.ResourceParam[Operations]):
    run = context.dagster_run
    error = context.failure_event.message or "no message"
    ops.send([run_failed(run.run_id, run.job_name, error[:1500], ops.run_url(run.run_id))])


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, default_status=dg.DefaultSensorStatus.RUNNING,
                      minimum_interval_seconds=15, name="failed_check_alert",
                      description="A run that succeeded with a failed asset check (an error "
                                  "budget spent, a dbt test failed) -> a message to the operations "
                                  "channel per check (check-failed:<run_id>:<asset>:<check>).")
def failed_check_alert(context: dg.RunStatusSensorContext, ops: dg.ResourceParam[Operations]):
    run = context.dagster_run
    messages = []
    for record in context.instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = record.dagster_event.event_specific_data
        if evaluation.passed or evaluation.severity != dg.AssetCheckSeverity.ERROR:
            continue
        description = str(evaluation.description or "") or "; ".join(
            f"{k}: {v.value}" for k, v in list(evaluation.metadata.items())[:5])
        messages.append(check_failed(run.run_id, evaluation.asset_key.to_user_string(),
                                     evaluation.check_name, description, ops.run_url(run.run_id)))
    if messages:
        ops.send(messages)
