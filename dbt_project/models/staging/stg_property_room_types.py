"""Room inventory of the property master (lake/reference/properties.yaml): one row per
hotel x room type, with the number of rooms and the base rate. For the two real hotels the
counts are estimates (peak rooms occupied per assigned room type on any night)."""

from pathlib import Path

import pyarrow as pa
import yaml


def _properties_path(configured: str) -> Path:
    path = Path(configured)
    if path.is_file() or path.is_absolute():
        return path
    alt = Path("dbt_project") / path
    return alt if alt.is_file() else path


def model(dbt, session):
    dbt.config(materialized="table")
    path = _properties_path(dbt.config.get("properties_file"))
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    rows = []
    for p in doc.get("properties") or []:
        for room_type, spec in (p.get("room_types") or {}).items():
            spec = spec or {}
            rows.append({
                "hotel_code": str(p["code"]),
                "hotel_name": str(p["name"]),
                "room_type": str(room_type),
                "rooms": int(spec.get("rooms") or 0),
                "base_rate": None if spec.get("base_rate") is None else float(spec["base_rate"]),
                "is_real": bool(p.get("real", False)),
            })
    schema = pa.schema([
        ("hotel_code", pa.string()), ("hotel_name", pa.string()), ("room_type", pa.string()),
        ("rooms", pa.int32()), ("base_rate", pa.float64()), ("is_real", pa.bool_()),
    ])
    return pa.Table.from_pylist(rows, schema=schema)
