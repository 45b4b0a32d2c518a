"""Every table of the lake in one registry: name, schema, keys and partitioning.

Writers create their table from here, maintenance loops over it, and docs/data-contracts.md
describes it. A new table is one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from lake.delta_tables import ROW_HASH
from lake.sources import SOURCES, Source

TS = pl.Datetime("us", "UTC")
LINEAGE = {"_source_file": pl.String, "_batch_id": pl.String, "_ingested_at": TS,
           ROW_HASH: pl.String}


@dataclass(frozen=True)
class Table:
    name: str  # path under the lake root
    schema: dict[str, pl.DataType]
    keys: tuple[str, ...]
    description: str
    partition_by: tuple[str, ...] = ()


def bronze(source: Source) -> Table:
    return Table(source.table, {**source.schema, **LINEAGE}, tuple(source.keys),
                 source.description)


QUARANTINE = Table(
    "quarantine",
    {"source": pl.String, "source_file": pl.String, "file_sha256": pl.String,
     "batch_id": pl.String, "line_number": pl.Int64, "reason": pl.String, "raw": pl.String,
     "quarantined_at": TS},
    ("source", "file_sha256", "line_number"),
    "Rows that broke their source's contract: the reason and the raw line (contact fields "
    "redacted).")

INGEST_LOG = Table(
    "ingest_log",
    {"source": pl.String, "source_file": pl.String, "file_sha256": pl.String,
     "batch_id": pl.String, "status": pl.String, "error": pl.String, "rows_read": pl.Int64,
     "rows_loaded": pl.Int64, "rows_inserted": pl.Int64, "rows_updated": pl.Int64,
     "rows_quarantined": pl.Int64, "started_at": TS, "finished_at": TS},
    ("source", "file_sha256", "started_at"),
    "One row per landing file handled: counts, status, error. A file is done once its "
    "`loaded` row is here.")

ML_PREDICTIONS = Table(
    "serving/ml_predictions",
    {"prediction_id": pl.String, "predicted_at": TS, "predicted_date": pl.Date,
     "model": pl.String, "model_version": pl.String, "endpoint": pl.String,
     "correlation_id": pl.String, "client": pl.String, "inputs": pl.String,
     "outputs": pl.String, "latency_ms": pl.Float64},
    ("prediction_id",),
    "Every prediction the API served: model, version, inputs, outputs, latency, caller.",
    partition_by=("predicted_date",))

PRICE_SCHEDULE = Table(
    "gold/price_schedule",
    {"hotel": pl.String, "room_type": pl.String, "date": pl.Date,
     "suggested_price": pl.Float64, "current_price": pl.Float64,
     "expected_occupancy": pl.Float64, "competitor_avg": pl.Float64,
     "confidence": pl.Float64, "model_version": pl.String, "generated_at": TS,
     ROW_HASH: pl.String},
    ("hotel", "room_type", "date"),
    "The 03:00 price schedule: suggested price per hotel, room type and stay date.")

# Vision: the lake is the record; the LanceDB tables (face templates, the image index) are
# built from it and can be rebuilt. Face data is erasable: vision.face_erasure removes a
# person's rows here and their files from every old version.
FACE_ENROLMENTS = Table(
    "vision/face_enrolments",
    {"enrolment_id": pl.String, "employee_id": pl.String, "photo_sha256": pl.String,
     "accepted": pl.Boolean, "reason": pl.String, "det_score": pl.Float64,
     "face_pixels": pl.Int32, "sharpness": pl.Float64, "model": pl.String,
     "enrolled_at": TS},
    ("enrolment_id",),
    "One row per photo offered at a face enrolment: accepted or refused and why, with the "
    "quality measured (detector score, face size, sharpness). No pixels, no template.")

IMAGES = Table(
    "vision/images",
    {"image_id": pl.String, "category": pl.String, "hotel": pl.String,
     "room_number": pl.String, "description": pl.String, "tags": pl.List(pl.String),
     "sha256": pl.String, "format": pl.String, "width": pl.Int32, "height": pl.Int32,
     "content": pl.Binary, "indexed_at": TS},
    ("image_id",),
    "Indexed images (rooms, lost and found, amenities) with their metadata and bytes; the "
    "LanceDB image index is built from this table.")

FACE_ERASURES = Table(
    "vision/face_erasures",
    {"receipt_id": pl.String, "employee_id": pl.String, "erased_at": TS, "requested_by": pl.String,
     "receipt": pl.String},
    ("receipt_id",),
    "Erasure receipts: what was removed for a person, from which store, when (JSON).")

# Language: what the API hands to the workflows. Guest requests as routed, and the actions
# the assistant, execute/task and monitoring only queue (sending, creating tasks, alerting).
GUEST_REQUESTS = Table(
    "language/guest_requests",
    {"request_id": pl.String, "received_at": TS, "guest_id": pl.String, "hotel": pl.String,
     "channel": pl.String, "message": pl.String, "language": pl.String, "category": pl.String,
     "confidence": pl.Float64, "priority": pl.String, "team": pl.String,
     "request_type": pl.String, "room_number": pl.String, "items": pl.List(pl.String),
     "quantity": pl.Int32, "urgency": pl.String, "needs_human": pl.Boolean,
     "routed_by": pl.String, "requested_by": pl.String, "correlation_id": pl.String},
    ("request_id",),
    "Every guest message routed by /api/v1/llm/routing/classify: category, priority, team and "
    "the structured request; needs_human marks those a person must read first.")

QUEUED_ACTIONS = Table(
    "language/queued_actions",
    {"action_id": pl.String, "queued_at": TS, "action": pl.String, "arguments": pl.String,
     "source": pl.String, "requested_by": pl.String, "correlation_id": pl.String,
     "status": pl.String},
    ("action_id",),
    "Actions that write (send a message, create a task, send an alert), queued by the API for "
    "the workflows with their arguments as JSON; status starts 'queued'.")

# Operations: what the workflows decide and record (operations/, orchestration/workflows/).
# Messages themselves are rows of the outbox in the ops database, not the lake: they change
# state with every delivery attempt; the monthly archival moves old ones here.
TASKS = Table(
    "ops/tasks",
    {"task_id": pl.String, "created_at": TS, "hotel": pl.String, "room_number": pl.String,
     "category": pl.String, "request_type": pl.String, "items": pl.List(pl.String),
     "quantity": pl.Int32, "priority": pl.String, "team": pl.String, "department": pl.String,
     "assignee_id": pl.String, "status": pl.String, "due_at": TS, "request_id": pl.String,
     "guest_id": pl.String, "description": pl.String, "escalated_at": TS, "closed_at": TS,
     "updated_at": TS, "updated_by": pl.String},
    ("task_id",),
    "Operational tasks (a guest request, a room to clean): team, assignee on shift, priority, "
    "due time; status open -> assigned -> done (or cancelled); escalated when overdue.")

SERVICE_LOGS = Table(
    "ops/service_logs",
    {"log_id": pl.String, "logged_at": TS, "logged_date": pl.Date, "service": pl.String,
     "level": pl.String, "message": pl.String, "logger": pl.String,
     "correlation_id": pl.String, "attributes": pl.String, "received_at": TS,
     "client": pl.String},
    ("log_id",),
    "Service logs posted to /api/v1/ops/logs: service, level, message, attributes (JSON).",
    partition_by=("logged_date",))

BOOKING_ACTIONS = Table(
    "ops/booking_actions",
    {"booking_id": pl.String, "hotel": pl.String, "scored_at": TS, "probability": pl.Float64,
     "risk_level": pl.String, "actions": pl.List(pl.String), "model": pl.String,
     "model_version": pl.String, "message_id": pl.String},
    ("booking_id",),
    "New bookings scored by the cancellation champion: the risk, the retention actions "
    "recommended, and the confirmation message queued with them.")

LOST_FOUND_MATCHES = Table(
    "ops/lost_found_matches",
    {"match_id": pl.String, "request_id": pl.String, "guest_id": pl.String, "hotel": pl.String,
     "image_id": pl.String, "similarity": pl.Float64, "description": pl.String,
     "status": pl.String, "matched_at": TS, "notice_id": pl.String},
    ("match_id",),
    "A found item (vision/images, lost_found) that matches a guest's reported loss: a return "
    "notice for staff to confirm (status to_confirm), never a message to the guest.")

NOTIFICATIONS_ARCHIVE = Table(
    "ops/notifications",
    {"message_id": pl.String, "idempotency_key": pl.String, "workflow": pl.String,
     "channel": pl.String, "recipient": pl.String, "language": pl.String,
     "subject": pl.String, "status": pl.String, "attempts": pl.Int32, "last_error": pl.String,
     "created_at": TS, "sent_at": TS, "archived_at": TS},
    ("message_id",),
    "Outbox messages past their retention, archived monthly without their bodies.")

TABLES: tuple[Table, ...] = (*(bronze(s) for s in SOURCES.values()), QUARANTINE, INGEST_LOG,
                             ML_PREDICTIONS, PRICE_SCHEDULE, FACE_ENROLMENTS, IMAGES,
                             FACE_ERASURES, GUEST_REQUESTS, QUEUED_ACTIONS, TASKS, SERVICE_LOGS,
                             BOOKING_ACTIONS, LOST_FOUND_MATCHES, NOTIFICATIONS_ARCHIVE)
