"""The sender: a sensor that delivers the outbox's due messages at each tick."""

import dagster as dg

from orchestration.workflows.resources import Operations


@dg.sensor(minimum_interval_seconds=5, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Every 5 seconds: delivers the outbox's due messages (SMTP, signed "
                       "webhooks), retries failures with exponential backoff, dead-letters "
                       "after INNSIGHT_OUTBOX_MAX_ATTEMPTS; critical alerts repeat until "
                       "acknowledged. Each tick says what it sent. It starts no run.")
def outbox_sender(context: dg.SensorEvaluationContext, ops: dg.ResourceParam[Operations]):
    report = ops.postman.deliver_due(budget_seconds=40)
    for error in report.errors[:5]:
        context.log.warning(error)
    return dg.SkipReason(f"outbox: {report}; now {ops.outbox.counts()}")
