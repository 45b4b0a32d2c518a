"""Events of the API onto the event bus (``operations.event_bus``), which lands them in the
landing zone in batches: one file per kind and batch, ingested by the landing sensor like
any export.

``settings.bus`` picks the queue: the API's own append-only spool (embedded default,
rolled every ``event_batch_seconds`` or ``event_batch_events`` events and at shutdown) or
RabbitMQ (production profile; drained into landing files by the Dagster sensor
``event_bus_sensor``). An event is answered 202 only once it is durable: fsynced in the
spool, or confirmed by the broker.

Before that it is checked with the ingest's own reader, mapping, contract and rules (the
one landing-file validation, ``LandingZone.problems_of_texts``, run once for the events
waiting together): an event the ingest would quarantine is refused with a 422 and queued
nowhere. Re-posting an event id answers the first acceptance (``duplicate: true``); the
same id with other content is a 409. The ids are kept in SQLite next to the spool, so this
holds across restarts. A queue that cannot take the event (the broker down for longer than
the publish timeout) answers 503.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from lake.ingest import LandingZone
from operations.event_bus import (BusUnavailable, EventBus, EventIdTaken, EventRefused,
                                  event_bus_from_settings)
from serving.core.errors import ApiError, ErrorDetail, InvalidRequest, Message, Unavailable

EVENT_ID_TAKEN = Message("event_id '{event_id}' was accepted at {received_at} with other "
                         "content: send a new event_id for a new event")


class Conflict(ApiError):
    status_code = 409
    error = "conflict"


@dataclass(frozen=True)
class Landed:
    event_id: str
    received_at: datetime
    queued_to: str  # "spool" or "rabbitmq"
    duplicate: bool


class EventInbox:
    """The API's door to the event bus: errors in the API's terms."""

    def __init__(self, bus: EventBus):
        self.bus = bus

    @classmethod
    def from_settings(cls, settings, zone: LandingZone | None = None) -> "EventInbox":
        return cls(event_bus_from_settings(settings, zone))

    def land(self, kind: str, event_id: str | None, render: Callable[[str, datetime], str],
             key: str | None = None) -> Landed:
        """Queue the event, or find the earlier acceptance of its id;
        ``render(event_id, received_at)`` gives its landing text; ``key``: the business
        key when events may share one (a booking id)."""
        try:
            a = self.bus.publish(kind, event_id, render, key)
        except (EventRefused, EventIdTaken, BusUnavailable) as e:
            raise _api_error(e) from e
        return Landed(a.event_id, a.received_at, a.queued_to, a.duplicate)

    async def land_async(self, kind: str, event_id: str | None,
                         render: Callable[[str, datetime], str],
                         key: str | None = None) -> Landed:
        """``land`` for an async route: it waits for the group commit without holding a
        worker thread, so more requests wait together and are checked and written at once."""
        try:
            future = self.bus.submit(kind, event_id, render, key)
            a = await asyncio.wait_for(asyncio.wrap_future(future), self.bus.answer_timeout)
        except asyncio.TimeoutError:
            raise Unavailable(f"the event queue did not take the event within "
                              f"{self.bus.answer_timeout:.0f} s") from None
        except (EventRefused, EventIdTaken, BusUnavailable) as e:
            raise _api_error(e) from e
        return Landed(a.event_id, a.received_at, a.queued_to, a.duplicate)

    def start(self) -> None:
        self.bus.start()

    def roll(self) -> list[Path]:
        """Land what the spool holds now (nothing for RabbitMQ: its sensor does)."""
        return self.bus.roll()

    def close(self) -> None:
        """Answer what waits and land what is left (the spool)."""
        self.bus.close()

    def stats(self) -> dict:
        return self.bus.stats()


def _api_error(e: Exception) -> ApiError:
    """The bus's refusal in the API's terms: 422, 409 or 503."""
    if isinstance(e, EventRefused):
        fields = [w for p in e.problems for w in re.findall(r"\w+", p)[:2]
                  if w in e.source.contract.names][:1] or ["body"]
        return InvalidRequest(f"the event breaks the {e.source.name} contract: "
                              + "; ".join(e.problems),
                              [ErrorDetail(field=fields[0], problem="; ".join(e.problems))])
    if isinstance(e, EventIdTaken):
        return Conflict(EVENT_ID_TAKEN.format(
            event_id=e.event_id,
            received_at=e.received_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")))
    return Unavailable(f"the event queue cannot take events now: {e}")
