"""Per-client rate limits (the `limits` library): a sliding window per token subject or
API key, counted in process by default and in Redis in production, so that every server
process shares one budget per client.

The limiter is `limits`' asyncio one: in memory, its expiry is a task on the event loop (the
threaded storage started a timer thread every 10 ms of traffic, a third of a cancellation
request's CPU); in Redis, the round trip no longer blocks the loop.

A process takes a client's hits from the shared count a small share of its limit at a time
(``LEASE_SHARE``, the ``cost`` of one hit of `limits`) and serves them from memory while
their window lasts: one Redis round trip per few requests instead of one per request (the
round trip was most of a cheap route's tail at p99). The shared count never passes the
limit; the hits a process holds unused at most refuse a client that early (a share per
process), and its last hits go one at a time."""

from __future__ import annotations

import math
import time

from limits import parse, storage
from limits.aio import strategies

from serving.core.errors import Message, RateLimited

# a process takes 1/LEASE_SHARE of a client's limit at a time (one hit where that is under 2)
LEASE_SHARE = 100
OVER_LIMIT = Message("rate limit of {limit} exceeded for '{subject}': retry in {retry} s, "
                     "or ask for a higher limit")


class RateLimiter:
    def __init__(self, default: str, storage_uri: str, metrics=None):
        self.default = parse(default)
        uri = storage_uri if storage_uri.startswith("async+") else f"async+{storage_uri}"
        # redis-py's asyncio client (a dependency already), not limits' default coredis
        options = {"implementation": "redispy"} if "redis" in uri.partition("://")[0] else {}
        self._store = storage.storage_from_string(uri, **options)
        self._limiter = strategies.SlidingWindowCounterRateLimiter(self._store)
        self._parsed: dict[str, object] = {}
        self._leases: dict[str, tuple[int, float]] = {}  # key -> hits left, valid until
        self.metrics = metrics

    def _limit(self, text: str | None):
        if not text:
            return self.default
        item = self._parsed.get(text)
        if item is None:
            item = self._parsed[text] = parse(text)
        return item

    async def hit(self, principal) -> None:
        """Count one request of the principal; 429 with Retry-After when over its limit."""
        limit = self._limit(principal.rate_limit)
        key = f"{principal.kind}:{principal.subject}"
        now = time.monotonic()
        left, until = self._leases.get(key, (0, 0.0))
        if left and now < until:
            self._leases[key] = (left - 1, until)
            return
        share = limit.amount // LEASE_SHARE
        if share > 1 and await self._limiter.hit(limit, key, cost=share):
            # valid for the window it was counted in; a lease taken meanwhile adds to it
            left, until = self._leases.get(key, (0, 0.0))
            self._leases[key] = ((left if now < until else 0) + share - 1,
                                 now + limit.get_expiry())
            return
        if await self._limiter.hit(limit, key):
            return
        stats = await self._limiter.get_window_stats(limit, key)
        retry = max(1, math.ceil(stats.reset_time - time.time()))
        if self.metrics is not None:
            self.metrics.rate_limited.labels(principal.subject).inc()
        raise RateLimited(OVER_LIMIT.format(limit=limit, subject=principal.subject, retry=retry),
                          headers={"Retry-After": str(retry)})
