"""Room inspections and anomaly alerts of the hotel cameras (the ``ACTIVITY_DAYS`` days
before the chain's end day, so none is later than its 00:00 UTC).

Inspections: about half the rooms a day, by a housekeeping employee of the hotel; tags are
consistent with the status (dirty rooms carry dirt tags, clean and inspected rooms carry
``clean_bed``, rooms in maintenance carry at most a missing-amenity tag). Anomalies are rare.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from lake.synthetic.randomness import pick
from lake.synthetic.rooms import Inventory
from lake.synthetic.staff import Staff

INSPECTED_SHARE = 0.5
STATUSES = ("clean", "inspected", "dirty", "maintenance")
STATUS_WEIGHTS = (0.55, 0.2, 0.18, 0.07)
DIRT_TAGS = {"bed_unmade": 0.7, "towel_missing": 0.4, "trash_present": 0.5, "amenity_incomplete": 0.35}
ANOMALIES_PER_HOTEL_DAY = 0.05
ANOMALY_TYPES = ("fire", "flood", "intrusion", "smoke")
ANOMALY_WEIGHTS = (0.1, 0.2, 0.3, 0.4)
ANOMALY_CAMERAS = {
    "fire": ("cam_kitchen_01", "cam_hallway_02", "cam_laundry_01"),
    "flood": ("cam_basement_01", "cam_laundry_01", "cam_hallway_03"),
    "intrusion": ("cam_parking_01", "cam_back_door_01", "cam_hallway_01"),
    "smoke": ("cam_kitchen_01", "cam_hallway_01", "cam_hallway_02", "cam_hallway_03"),
}
SEVERITIES = ("low", "medium", "high", "critical")
FRAME_W, FRAME_H = 1920, 1080
HOUR, DAY = 3600, 86_400
_TAG_SCHEMA = pl.List(pl.Struct({"label": pl.String, "confidence": pl.Float64}))


def stamp(col: str) -> pl.Expr:
    return pl.from_epoch(col, time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_inspections(
    inv: Inventory, n_props: int, staff: Staff, rng: np.random.Generator, first_day: int, n_days: int
) -> pl.DataFrame:
    rooms = np.flatnonzero(inv.hotel < n_props)
    room = np.repeat(rooms, n_days)
    day = np.tile(first_day + np.arange(n_days), len(rooms))
    keep = rng.random(len(room)) < INSPECTED_SHARE
    room, day = room[keep], day[keep]
    at = day * DAY + 8 * HOUR + (rng.random(len(room)) * 8 * HOUR).astype(np.int64)
    order = np.lexsort((room, at))
    room, at = room[order], at[order]
    N = len(room)
    hotel = inv.hotel[room].astype(np.int64)
    status = pick(rng, np.array(STATUS_WEIGHTS), N).astype(np.int64)

    # Inspector: a housekeeping employee of the same hotel.
    hk = [np.flatnonzero((staff.hotel == h) & (staff.department == "housekeeping")) for h in range(n_props)]
    hk_all = np.concatenate(hk)
    hk_start = np.concatenate([[0], np.cumsum([len(x) for x in hk])[:-1]])
    hk_count = np.array([len(x) for x in hk])
    inspector = hk_all[hk_start[hotel] + (rng.random(N) * hk_count[hotel]).astype(np.int64)]

    # Tags, in long format, then gathered per inspection.
    dirty = status == STATUSES.index("dirty")
    dirt = {label: dirty & (rng.random(N) < p) for label, p in DIRT_TAGS.items()}
    dirt["bed_unmade"] |= dirty & ~np.logical_or.reduce(list(dirt.values()))  # at least one sign
    tag_rows = [np.flatnonzero(has) for has in dirt.values()]
    tag_labels = [np.full(len(r), label) for r, label in zip(tag_rows, dirt)]
    clean = np.isin(status, [STATUSES.index("clean"), STATUSES.index("inspected")])
    tag_rows.append(np.flatnonzero(clean))
    tag_labels.append(np.full(int(clean.sum()), "clean_bed"))
    maint = (status == STATUSES.index("maintenance")) & (rng.random(N) < 0.5)
    tag_rows.append(np.flatnonzero(maint))
    tag_labels.append(np.full(int(maint.sum()), "amenity_incomplete"))
    rows = np.concatenate(tag_rows)
    labels = np.concatenate(tag_labels)
    conf = np.round(np.where(np.isin(labels, ["clean_bed"]), rng.uniform(0.82, 0.99, len(rows)), rng.uniform(0.6, 0.99, len(rows))), 2)
    t_order = np.lexsort((np.arange(len(rows)), rows))
    tags = (
        pl.DataFrame({"i": rows[t_order], "label": labels[t_order], "confidence": conf[t_order]})
        .group_by("i", maintain_order=True)
        .agg(pl.struct("label", "confidence").alias("tags"))
    )
    width = max(9, len(str(N)))
    frame = pl.DataFrame(
        {
            "i": np.arange(N),
            "hotel": pl.Series([p.name for p in inv.properties]).gather(pl.Series(hotel)),
            "room_number": inv.room_number[room],
            "at": at,
            "camera": 1 + (rng.random(N) * 4).astype(np.int64),
            "inspector": pl.Series(staff.ids).gather(pl.Series(inspector)),
            "status": pl.Series(list(STATUSES)).gather(pl.Series(status)),
        }
    ).join(tags, on="i", how="left", maintain_order="left")
    return frame.select(
        (pl.lit("INS") + (pl.col("i") + 1).cast(pl.String).str.zfill(width)).alias("inspection_id"),
        "hotel",
        pl.col("room_number").cast(pl.String),
        stamp("at").alias("inspected_at"),
        (pl.lit("cam_hk_") + pl.col("camera").cast(pl.String).str.zfill(2)).alias("camera_id"),
        pl.col("inspector").alias("inspector_id"),
        "status",
        pl.col("tags").fill_null(pl.lit([], dtype=_TAG_SCHEMA)).cast(_TAG_SCHEMA),
        (pl.lit("IMG") + (pl.col("i") + 1).cast(pl.String).str.zfill(width)).alias("image_id"),
    )


def generate_anomalies(
    inv: Inventory, n_props: int, rng: np.random.Generator, first_day: int, n_days: int
) -> pl.DataFrame:
    per = rng.poisson(ANOMALIES_PER_HOTEL_DAY, (n_props, n_days))
    hotel = np.repeat(np.repeat(np.arange(n_props), n_days), per.reshape(-1))
    day = np.repeat(np.tile(first_day + np.arange(n_days), n_props), per.reshape(-1))
    at = day * DAY + (rng.random(len(day)) * DAY).astype(np.int64)
    order = np.lexsort((hotel, at))
    hotel, at = hotel[order], at[order]
    A = len(hotel)
    kind = pick(rng, np.array(ANOMALY_WEIGHTS), A).astype(np.int64)
    camera = [ANOMALY_CAMERAS[ANOMALY_TYPES[k]][int(r * len(ANOMALY_CAMERAS[ANOMALY_TYPES[k]]))] for k, r in zip(kind, rng.random(A))]
    confidence = np.round(rng.uniform(0.55, 0.99, A), 2)
    # Severity: the type's base level, one up when the detector is very sure.
    base = np.array([2, 1, 1, 1])[kind]  # fire high; flood, intrusion, smoke medium
    severity = np.clip(base + (confidence >= 0.9) - (confidence < 0.65), 0, 3)
    w = rng.integers(40, 481, A)
    h = rng.integers(40, 401, A)
    x = (rng.random(A) * (FRAME_W - w)).astype(np.int64)
    y = (rng.random(A) * (FRAME_H - h)).astype(np.int64)
    frame = pl.DataFrame(
        {
            "n": np.arange(1, A + 1),
            "hotel": [inv.properties[k].name for k in hotel],
            "camera_id": pl.Series(camera, dtype=pl.String),
            "at": at,
            "type": [ANOMALY_TYPES[k] for k in kind],
            "confidence": confidence,
            "severity": [SEVERITIES[k] for k in severity],
            "x": x, "y": y, "w": w.astype(np.int64), "h": h.astype(np.int64),
        },
        schema_overrides={"hotel": pl.String, "type": pl.String, "severity": pl.String},
    )
    return frame.select(
        (pl.lit("AL") + pl.col("n").cast(pl.String).str.zfill(7)).alias("alert_id"),
        "hotel", "camera_id", stamp("at").alias("detected_at"), "type", "confidence", "severity",
        pl.struct("x", "y", "w", "h").alias("box"),
    )
