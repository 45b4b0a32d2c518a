"""Events into the lake's landing zone: each accepted event is one small file that an
existing landing source reads unchanged, so the landing sensor ingests it like any export.

A file is written under a dot-named temporary name in its folder (no source reads it),
checked with ``LandingZone.problems`` (the same reader, mapping, contract and rules as the
ingest: the one landing-file validation), and only then renamed into place
(``base.files.atomic_path``): a file the ingest would quarantine is never written (422).
Re-posting an event id answers with the file already written; the same id with other
content is a 409.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from base.files import atomic_path
from lake.ingest import LandingZone
from lake.sources import (ANOMALY_ALERTS, ATTENDANCE_EVENTS, PMS_BOOKINGS, ROOM_INSPECTIONS,
                          Source)
from serving.core.errors import ApiError, ErrorDetail, InvalidRequest, Message

# kind -> (landing folder, file-name prefix matching the source's pattern, extension, source)
LANDING: dict[str, tuple[str, str, str, Source]] = {
    "attendance": ("attendance", "events", "jsonl", ATTENDANCE_EVENTS),
    "room_status": ("camera", "inspections", "jsonl", ROOM_INSPECTIONS),
    "booking": ("pms", "bookings", "csv", PMS_BOOKINGS),
    "anomaly": ("camera", "anomalies", "jsonl", ANOMALY_ALERTS),
}
STAMP = "%Y%m%dT%H%M%S%fZ"
EVENT_ID_TAKEN = Message("event_id '{event_id}' already landed in {landing_file} with other "
                         "content: send a new event_id for a new event")


class Conflict(ApiError):
    status_code = 409
    error = "conflict"


@dataclass(frozen=True)
class Landed:
    event_id: str
    received_at: datetime
    landing_file: str  # relative to the landing zone
    duplicate: bool


class EventInbox:
    """Writes events into one landing zone (one find-or-write at a time in this process)."""

    def __init__(self, zone: LandingZone):
        self.zone = zone
        self._lock = threading.Lock()

    def land(self, kind: str, event_id: str | None,
             render: Callable[[str, datetime], str]) -> Landed:
        """Write the event's file, or find the one of an earlier post of the same event id;
        ``render(event_id, received_at)`` gives the file's text."""
        folder, prefix, ext, source = LANDING[kind]
        landing = Path(self.zone.root)
        directory = landing / folder
        given, event_id = event_id is not None, event_id or uuid.uuid4().hex
        named = re.compile(rf"{prefix}-api-(\d{{8}}T\d{{12}}Z)-{re.escape(event_id)}\.{ext}")
        with self._lock:
            # Only a client's id can repeat: no folder scan for a fresh uuid.
            found = directory.glob(f"{prefix}-api-*-{event_id}.{ext}") if given else ()
            earlier = sorted(p for p in found if named.fullmatch(p.name))
            if earlier:
                path = earlier[0]
                stamp = named.fullmatch(path.name)[1]  # type: ignore[index]
                received = datetime.strptime(stamp, STAMP).replace(tzinfo=timezone.utc)
                # Rendered as of the first post (its defaults), so a true repeat is identical.
                if path.read_text(encoding="utf-8") != render(event_id, received):
                    raise Conflict(EVENT_ID_TAKEN.format(event_id=event_id,
                                                         landing_file=path.relative_to(landing)))
                return Landed(event_id, received, str(path.relative_to(landing)), duplicate=True)
            received = datetime.now(timezone.utc)
            text = render(event_id, received)
            path = directory / f"{prefix}-api-{received.strftime(STAMP)}-{event_id}.{ext}"
            with atomic_path(path) as tmp:
                with tmp.open("w", encoding="utf-8", newline="") as f:
                    f.write(text)
                    f.flush()
                    os.fsync(f.fileno())
                problems = self.zone.problems(tmp, source)
                if problems:
                    fields = [w for p in problems for w in re.findall(r"\w+", p)[:2]
                              if w in source.contract.names][:1] or ["body"]
                    raise InvalidRequest(f"the event breaks the {source.name} contract: "
                                         + "; ".join(problems),
                                         [ErrorDetail(field=fields[0], problem="; ".join(problems))])
        return Landed(event_id, received, str(path.relative_to(landing)), duplicate=False)
