"""The group's property master (lake/reference/properties.yaml): one row per hotel.

The YAML file is governed reference data shared with the lake ingest; it is read here, not
copied into a seed, so the two never drift. Its path comes from the model config
`properties_file` (env var INNSIGHT_PROPERTIES_FILE, relative to dbt's working directory).
"""

from pathlib import Path

import pyarrow as pa
import yaml


def _properties_path(configured: str) -> Path:
    path = Path(configured)
    if path.is_file() or path.is_absolute():
        return path
    # dbt started from the repository root instead of the project folder.
    alt = Path("dbt_project") / path
    return alt if alt.is_file() else path


def model(dbt, session):
    dbt.config(materialized="table")
    path = _properties_path(dbt.config.get("properties_file"))
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    rows = []
    for p in doc.get("properties") or []:
        room_types = p.get("room_types") or {}
        rows.append({
            "hotel_code": str(p["code"]),
            "hotel_name": str(p["name"]),
            "city": p.get("city"),
            "country": p.get("country"),
            "currency": p.get("currency"),
            "is_real": bool(p.get("real", False)),
            "room_types_listed": len(room_types),
            "rooms_listed": int(sum(int((v or {}).get("rooms") or 0) for v in room_types.values())),
        })
    schema = pa.schema([
        ("hotel_code", pa.string()), ("hotel_name", pa.string()), ("city", pa.string()),
        ("country", pa.string()), ("currency", pa.string()), ("is_real", pa.bool_()),
        ("room_types_listed", pa.int32()), ("rooms_listed", pa.int32()),
    ])
    return pa.Table.from_pylist(rows, schema=schema)
