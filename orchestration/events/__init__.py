"""Events: the API's events queued on RabbitMQ (production profile), drained into batched
landing files for the landing sensor."""
