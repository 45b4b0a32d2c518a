"""Every landing source: where its files drop, its contract, its bronze table and key."""

from __future__ import annotations

from lake.sources.attendance import ATTENDANCE_EVENTS, EMPLOYEES, SHIFTS
from lake.sources.base import Source
from lake.sources.camera import ANOMALY_ALERTS, ROOM_INSPECTIONS
from lake.sources.pms import PMS_BOOKINGS, PMS_FOLIO_LINES, PMS_GUESTS, PMS_ROOMS

# Order matters for routing: specific file names before the PMS bookings catch-all.
SOURCES: dict[str, Source] = {
    s.name: s
    for s in (PMS_GUESTS, PMS_ROOMS, PMS_FOLIO_LINES, PMS_BOOKINGS, EMPLOYEES, SHIFTS,
              ATTENDANCE_EVENTS, ROOM_INSPECTIONS, ANOMALY_ALERTS)
}


def source_for_file(folder: str, file_name: str) -> Source | None:
    """The source a landing file belongs to, from its folder and name."""
    for source in SOURCES.values():
        if source.folder == folder and source.matches(file_name):
            return source
    return None


__all__ = ["SOURCES", "Source", "source_for_file"]
