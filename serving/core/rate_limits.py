"""Per-client rate limits (the `limits` library): a sliding window per token subject or
API key, counted in process by default and in Redis in production, so that every server
process shares one budget per client.

The limiter is `limits`' asyncio one: in memory, its expiry is a task on the event loop (the
threaded storage started a timer thread every 10 ms of traffic, a third of a cancellation
request's CPU); in Redis, the round trip no longer blocks the loop."""

from __future__ import annotations

import math
import time

from limits import parse, storage
from limits.aio import strategies

from serving.core.errors import Message, RateLimited

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
        if await self._limiter.hit(limit, key):
            return
        stats = await self._limiter.get_window_stats(limit, key)
        retry = max(1, math.ceil(stats.reset_time - time.time()))
        if self.metrics is not None:
            self.metrics.rate_limited.labels(principal.subject).inc()
        raise RateLimited(OVER_LIMIT.format(limit=limit, subject=principal.subject, retry=retry),
                          headers={"Retry-After": str(retry)})
