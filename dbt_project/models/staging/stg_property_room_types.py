"""Room inventory of the property master (lake/reference/properties.yaml): one row per
hotel x room type, with the number of rooms and the base rate. For the two real hotels the
counts are estimates (peak rooms occupied per assigned room type on any night)."""

import pyarrow as pa

from lake.properties import load_properties

SCHEMA = pa.schema([
    ("hotel_code", pa.string()), ("hotel_name", pa.string()), ("room_type", pa.string()),
    ("rooms", pa.int32()), ("base_rate", pa.float64()), ("is_real", pa.bool_()),
])


def model(dbt, session):
    dbt.config(materialized="table")
    rows = [{
        "hotel_code": p["code"], "hotel_name": p["name"], "room_type": str(room_type),
        "rooms": int(spec.get("rooms") or 0),
        "base_rate": None if spec.get("base_rate") is None else float(spec["base_rate"]),
        "is_real": bool(p.get("real", False)),
    } for p in load_properties() for room_type, spec in (p.get("room_types") or {}).items()]
    return pa.Table.from_pylist(rows, schema=SCHEMA)
