"""Room inventory of the property master (lake/reference/properties.yaml): one row per
hotel x room type, with the number of rooms and the base rate. For the two real hotels the
counts are estimates (peak rooms occupied per assigned room type on any night)."""

import os

import pyarrow as pa

from lake.properties import BUNDLED, PropertyMaster

SCHEMA = pa.schema([
    ("hotel_code", pa.string()), ("hotel_name", pa.string()), ("room_type", pa.string()),
    ("rooms", pa.int32()), ("base_rate", pa.float64()), ("is_real", pa.bool_()),
])


def _properties() -> tuple[dict, ...]:
    # The same master file the ingest checks hotels against: the warehouse resource passes
    # its path to dbt in the environment, as it does the lake root.
    return PropertyMaster.load(os.environ.get("INNSIGHT_PROPERTIES_FILE", BUNDLED)).records


def model(dbt, session):
    dbt.config(materialized="table")
    rows = [{
        "hotel_code": p["code"], "hotel_name": p["name"], "room_type": str(room_type),
        "rooms": int(spec.get("rooms") or 0),
        "base_rate": None if spec.get("base_rate") is None else float(spec["base_rate"]),
        "is_real": bool(p.get("real", False)),
    } for p in _properties() for room_type, spec in (p.get("room_types") or {}).items()]
    return pa.Table.from_pylist(rows, schema=SCHEMA)
