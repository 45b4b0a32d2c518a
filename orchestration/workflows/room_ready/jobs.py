"""The room-ready job."""

import dagster as dg

ROOM_READY_JOB = dg.define_asset_job(
    "room_ready", selection=dg.AssetSelection.assets(["ops", "room_ready_messages"]),
    description="Rooms inspected clean -> today's arrivals waiting for them -> check-in-ready messages.")
