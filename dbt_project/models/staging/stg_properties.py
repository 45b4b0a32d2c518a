"""The group's property master (lake/reference/properties.yaml): one row per hotel.

Read through the lake's own loader (the same governed file the ingest checks hotels
against, whose path the warehouse passes to dbt), so the marts and the lake never drift.
"""

import os

import pyarrow as pa

from lake.properties import BUNDLED, PropertyMaster

SCHEMA = pa.schema([
    ("hotel_code", pa.string()), ("hotel_name", pa.string()), ("city", pa.string()),
    ("country", pa.string()), ("currency", pa.string()), ("is_real", pa.bool_()),
    ("room_types_listed", pa.int32()), ("rooms_listed", pa.int32()),
])


def _properties() -> tuple[dict, ...]:
    # The same master file the ingest checks hotels against: the warehouse resource passes
    # its path to dbt in the environment, as it does the lake root.
    return PropertyMaster.load(os.environ.get("INNSIGHT_PROPERTIES_FILE", BUNDLED)).records


def model(dbt, session):
    dbt.config(materialized="table")
    rows = [{
        "hotel_code": p["code"], "hotel_name": p["name"], "city": p.get("city"),
        "country": p.get("country"), "currency": p.get("currency"),
        "is_real": bool(p.get("real", False)),
        "room_types_listed": len(p.get("room_types") or {}),
        "rooms_listed": sum(int(v.get("rooms") or 0) for v in (p.get("room_types") or {}).values()),
    } for p in _properties()]
    return pa.Table.from_pylist(rows, schema=SCHEMA)
