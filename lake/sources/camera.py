"""Camera outputs: room inspections (tags, status) and anomaly alerts (fire, flood, ...)."""

from __future__ import annotations

import json

import polars as pl

from lake.contracts import Col, Contract, Reference, Rule
from lake.sources.base import Source, known_hotel

STR, I32, F64 = pl.String, pl.Int32, pl.Float64
TS = pl.Datetime("us", "UTC")
TAGS = pl.List(pl.Struct({"label": STR, "confidence": F64}))
BOX = pl.Struct({"x": I32, "y": I32, "w": I32, "h": I32})


def _parse_tags(df: pl.DataFrame, ref: Reference) -> pl.DataFrame:
    tags = [_safe_json(v, list) for v in df["tags"].to_list()]
    ok = [t is not None and all(isinstance(x, dict) and "label" in x for x in t) for t in tags]
    clean = [[{"label": str(x["label"]), "confidence": _float(x.get("confidence"))} for x in t]
             if good else None for t, good in zip(tags, ok)]
    return df.with_columns(tags=pl.Series(clean, dtype=TAGS), _tags_ok=pl.Series(ok))


def _parse_box(df: pl.DataFrame, ref: Reference) -> pl.DataFrame:
    boxes = [_safe_json(v, dict) for v in df["box"].to_list()]
    cols = {f"box_{k}": [_int(b.get(k)) if b else None for b in boxes] for k in "xywh"}
    return df.with_columns(*(pl.Series(k, v, dtype=I32) for k, v in cols.items()))


def _safe_json(text, kind):
    if text is None:
        return kind()
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, kind) else None


def _float(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _int(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


ROOM_INSPECTIONS = Source(
    name="room_inspections",
    description="Room inspections from housekeeping cameras: status and detected tags.",
    folder="camera",
    patterns=("inspections*.jsonl", "inspections*.jsonl.gz"),
    kind="jsonl",
    json_fields=["inspection_id", "hotel", "room_number", "inspected_at", "camera_id",
                 "inspector_id", "status", "tags", "image_id"],
    contract=Contract(
        columns=[Col("inspection_id", STR, required=True), Col("hotel", STR, required=True),
                 Col("room_number", STR, required=True), Col("inspected_at", TS, required=True),
                 Col("camera_id", STR), Col("inspector_id", STR),
                 Col("status", STR, required=True,
                     allowed=frozenset({"clean", "dirty", "maintenance", "inspected", "occupied"})),
                 Col("tags", STR), Col("image_id", STR)],
        rules=[known_hotel(),
               Rule(reason="tags must be a list of {label, confidence} objects",
                    ok=lambda ref: pl.col("_tags_ok"))],
    ),
    schema={"inspection_id": STR, "hotel": STR, "room_number": STR, "inspected_at": TS,
            "camera_id": STR, "inspector_id": STR, "status": STR, "tags": TAGS, "image_id": STR},
    keys=["inspection_id"],
    insert_only=True,
    derive=_parse_tags,
)

ANOMALY_ALERTS = Source(
    name="anomaly_alerts",
    description="Anomaly alerts from hallway cameras: fire, flood, smoke, intrusion.",
    folder="camera",
    patterns=("anomalies*.jsonl", "anomalies*.jsonl.gz"),
    kind="jsonl",
    json_fields=["alert_id", "hotel", "camera_id", "detected_at", "type", "confidence",
                 "severity", "box"],
    contract=Contract(
        columns=[Col("alert_id", STR, required=True), Col("hotel", STR, required=True),
                 Col("camera_id", STR, required=True), Col("detected_at", TS, required=True),
                 Col("type", STR, required=True,
                     allowed=frozenset({"fire", "flood", "intrusion", "smoke"})),
                 Col("confidence", F64, min=0, max=1),
                 Col("severity", STR, allowed=frozenset({"low", "medium", "high", "critical"})),
                 Col("box", STR)],
        rules=[known_hotel()],
    ),
    schema={"alert_id": STR, "hotel": STR, "camera_id": STR, "detected_at": TS, "type": STR,
            "confidence": F64, "severity": STR, "box_x": I32, "box_y": I32, "box_w": I32,
            "box_h": I32},
    keys=["alert_id"],
    insert_only=True,
    derive=_parse_box,
)
