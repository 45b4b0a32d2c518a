"""Operations: what the workflows decide and how it reaches people and systems.

The outbox and its senders (SMTP, signed webhooks), the event bus from the API to the
landing zone (a local spool, or RabbitMQ), tasks and their assignment to staff on shift, and
the decisions of each workflow as plain functions. Orchestration (Dagster) and serving
(FastAPI) both import it; it imports neither.
"""
