"""The event bus sensor: RabbitMQ's event queue drained into batched landing files.

With ``settings.bus == "rabbitmq"`` the API publishes each accepted event to the queue;
this sensor consumes it in batches of up to ``event_batch_events`` (at least once,
deduplicated by event id: ``operations.event_bus.RabbitDrain``) and the landing sensor
ingests the files. With the embedded spool the API lands its events itself and this
sensor skips.
"""

import dagster as dg

from operations.event_bus import RabbitDrain


@dg.sensor(
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Drains the RabbitMQ event queue (INNSIGHT_EVENT_QUEUE) into one landing file "
                "per kind and batch (at least once, deduplicated by event id); the landing "
                "sensor ingests them. Skips when the API's spool is the event bus.",
)
def event_bus_sensor(context: dg.SensorEvaluationContext, event_bus: dg.ResourceParam[RabbitDrain]):
    if not event_bus.enabled:
        return dg.SkipReason("the event bus is the API's spool (INNSIGHT_EVENT_BUS): "
                             "the API lands its events itself")
    drained = event_bus.drain(time_budget_s=40)
    if not drained.events:
        return dg.SkipReason(f"no events in {event_bus.queue}")
    context.log.info(f"{drained.events} events from {event_bus.queue}: {drained.landed} landed "
                     f"in {len(drained.files)} files, {drained.redelivered} redelivered "
                     f"already landed")
    return dg.SkipReason(f"landed {drained.landed} events in {len(drained.files)} files "
                         f"({drained.redelivered} redelivered, already landed); the landing "
                         f"sensor ingests them")
