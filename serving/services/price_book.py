"""The 03:00 price schedule (lake table gold/price_schedule, ``lake.tables.PRICE_SCHEDULE``)
in memory, indexed by (room type, date) for GET /pricing/current."""

from __future__ import annotations

import threading
import time
from datetime import date

from lake.delta_tables import Lake
from lake.tables import PRICE_SCHEDULE


class PriceBook:
    """The schedule as last read; re-read when the Delta table has a new version (checked
    at most every `check_seconds`)."""

    def __init__(self, lake: Lake, check_seconds: float = 30.0):
        self.lake, self.check_seconds = lake, check_seconds
        self.version: int | None = None
        self.rows: dict[tuple[str, date], list[dict]] = {}
        self.dates: tuple[date, date] | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def current(self) -> "PriceBook":
        if time.monotonic() - self._checked > self.check_seconds:
            with self._lock:
                if time.monotonic() - self._checked > self.check_seconds:
                    self._reload()
        return self

    def room_types(self) -> list[str]:
        return sorted({key[0] for key in self.rows})

    def _reload(self) -> None:
        version = self.lake.version(PRICE_SCHEDULE.name)
        self._checked = time.monotonic()
        if version is None or version == self.version:
            return
        frame = self.lake.read(PRICE_SCHEDULE.name)
        rows: dict[tuple[str, date], list[dict]] = {}
        for r in frame.sort(["room_type", "date", "hotel"]).iter_rows(named=True):
            rows.setdefault((r["room_type"], r["date"]), []).append(r)
        self.rows, self.version = rows, version
        self.dates = (frame["date"].min(), frame["date"].max()) if frame.height else None
