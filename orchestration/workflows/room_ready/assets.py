"""Check-in-ready messages for today's arrivals whose room was just inspected clean."""

from datetime import timedelta

import dagster as dg
import polars as pl

from orchestration.workflows.resources import WORKFLOWS, Operations
from operations.workflows import rooms_ready

INSPECTIONS = dg.AssetKey(["bronze", "room_inspections"])
RECENT = timedelta(hours=12)  # an inspection older than this is not news for today's arrivals


@dg.asset(
    key=["ops", "room_ready_messages"], group_name=WORKFLOWS, deps=[INSPECTIONS],
    kinds={"delta", "email"},
    description="Rooms whose latest inspection (last 12 hours) is clean or inspected, and a "
                "live booking arriving today holds: the guest's check-in-ready message in their "
                "language (the contact vault's), once per booking (room-ready:<booking_id>).",
)
def room_ready_messages(context: dg.AssetExecutionContext,
                        ops: dg.ResourceParam[Operations]) -> dg.MaterializeResult:
    lake, at = ops.lake, ops.now()
    inspections = lake.read("bronze/room_inspections",
                            columns=["hotel", "room_number", "inspected_at", "status"])
    if inspections.is_empty():
        return dg.MaterializeResult(metadata={"rooms_ready": 0, "messages_queued": 0})
    latest = (inspections.filter(pl.col("inspected_at") >= at - RECENT)
              .sort("inspected_at").group_by("hotel", "room_number").last())
    bookings = lake.read("bronze/pms_bookings", columns=[
        "booking_id", "hotel", "room_number", "guest_id", "arrival_date", "is_canceled"])
    arrivals = bookings.filter((pl.col("arrival_date") == at.date()) & ~pl.col("is_canceled")
                               & pl.col("room_number").is_not_null())
    messages = rooms_ready(latest, arrivals, ops.vault.get, ops.hotels)
    counts = ops.send(messages)
    context.log.info(f"{latest.height} rooms inspected recently, {len(messages)} awaited today: {counts}")
    return dg.MaterializeResult(metadata={
        "rooms_inspected": latest.height, "arrivals_today": arrivals.height,
        "rooms_ready_for_arrivals": len(messages), **counts,
        "bookings": dg.MetadataValue.json([m.payload["booking_id"] for m in messages][:50])})
