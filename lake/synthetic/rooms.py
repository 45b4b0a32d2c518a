"""Room inventory of the selected properties: numbers floor*100+n, cheapest types lowest."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from lake.synthetic.calibration import Calibration
from lake.synthetic.property_master import Property

_DEFAULT_OCCUPANCY = 2


@dataclass(frozen=True, eq=False)
class Inventory:
    properties: list[Property]
    hotel: np.ndarray  # property index of each room
    type_index: np.ndarray  # index into the property's room_types (cheapest first)
    room_number: np.ndarray
    floor: np.ndarray
    type_start: np.ndarray  # (P, max types): first room of the type
    type_count: np.ndarray  # (P, max types): rooms of the type (0 past the last type)
    type_cdf: np.ndarray  # (P, max types): cumulative inventory share (1.0 past the last type)
    base_rate: np.ndarray  # (P, max types)
    type_codes: np.ndarray  # (P, max types) letters ("" past the last type)
    n_types: np.ndarray  # (P,)


def rooms_per_floor(total: int) -> int:
    return int(min(30, max(10, -(-total // 8))))


def build_inventory(props: list[Property]) -> Inventory:
    P = len(props)
    K = max(len(p.room_types) for p in props)
    type_start = np.zeros((P, K), dtype=np.int64)
    type_count = np.zeros((P, K), dtype=np.int64)
    type_cdf = np.ones((P, K))
    base_rate = np.zeros((P, K))
    type_codes = np.full((P, K), "", dtype=object)
    hotel, tindex, number, floor = [], [], [], []
    offset = 0
    for pi, p in enumerate(props):
        per_floor = rooms_per_floor(p.total_rooms)
        counts = np.array([rt.rooms for rt in p.room_types])
        type_start[pi, : len(counts)] = offset + np.concatenate([[0], np.cumsum(counts)[:-1]])
        type_count[pi, : len(counts)] = counts
        type_cdf[pi, : len(counts)] = np.cumsum(counts) / counts.sum()
        base_rate[pi, : len(counts)] = [rt.base_rate for rt in p.room_types]
        type_codes[pi, : len(counts)] = [rt.code for rt in p.room_types]
        seq = np.arange(p.total_rooms)
        fl = seq // per_floor + 1
        hotel.append(np.full(p.total_rooms, pi))
        tindex.append(np.repeat(np.arange(len(counts)), counts))
        number.append(fl * 100 + seq % per_floor + 1)
        floor.append(fl)
        offset += p.total_rooms
    return Inventory(
        properties=props,
        hotel=np.concatenate(hotel).astype(np.int32),
        type_index=np.concatenate(tindex).astype(np.int32),
        room_number=np.concatenate(number).astype(np.int32),
        floor=np.concatenate(floor).astype(np.int32),
        type_start=type_start, type_count=type_count, type_cdf=type_cdf,
        base_rate=base_rate, type_codes=type_codes,
        n_types=np.array([len(p.room_types) for p in props], dtype=np.int32),
    )


def rooms_frame(inv: Inventory, calib: Calibration) -> pl.DataFrame:
    """``hotel,room_number,room_type,floor,max_occupancy,base_rate``."""
    codes = inv.type_codes[inv.hotel, inv.type_index]
    hotels = pl.Series("hotel", [p.name for p in inv.properties], dtype=pl.String)
    return pl.DataFrame(hotels.gather(pl.Series(inv.hotel.astype(np.int64)))).with_columns(
        pl.Series("room_number", inv.room_number).cast(pl.String),
        pl.Series("room_type", codes.tolist(), dtype=pl.String),
        pl.Series("floor", inv.floor),
        pl.Series(
            "max_occupancy",
            np.array([calib.max_occupancy.get(c, _DEFAULT_OCCUPANCY) for c in codes], dtype=np.int32),
        ),
        pl.Series("base_rate", inv.base_rate[inv.hotel, inv.type_index]),
    )
