"""Per-client rate limits: in process by default, shared through Redis in production."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest

from base.settings import Settings
from serving.core.auth import Principal
from serving.core.errors import RateLimited
from serving.core.rate_limits import RateLimiter


def principal(name: str, limit: str | None = None) -> Principal:
    return Principal(name, "token", ("front_desk",), frozenset({"ml:read"}), limit)


def test_over_the_limit_is_429_with_retry_after_per_client():
    async def scenario():
        limiter = RateLimiter("3/minute", "memory://")
        alice, bob = principal("alice"), principal("bob")
        for _ in range(3):
            await limiter.hit(alice)
        with pytest.raises(RateLimited) as refused:
            await limiter.hit(alice)
        assert refused.value.status_code == 429
        assert 1 <= int(refused.value.headers["Retry-After"]) <= 60
        assert "alice" in refused.value.message
        await limiter.hit(bob)  # another client has its own budget
        for _ in range(5):
            await limiter.hit(principal("carol", "10/minute"))  # a token may carry its own limit

    asyncio.run(scenario())


@pytest.mark.production
def test_processes_share_one_budget_in_redis():
    import redis

    url = Settings().redis_url  # the production profile's rate_limit_storage
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.exceptions.ConnectionError as exc:
        if os.environ.get("CI"):  # the services should be there: a failure, not a skip
            raise
        pytest.skip(f"Redis refused the connection at {url}: {exc}")
    # Any other RedisError (a wrong password, ...) is a failure: the service is there.
    client = principal(f"test-{uuid.uuid4().hex}")

    async def scenario():
        first, second = RateLimiter("4/minute", url), RateLimiter("4/minute", url)  # two processes
        for limiter in (first, second, first, second):
            await limiter.hit(client)
        with pytest.raises(RateLimited):
            await second.hit(client)

    asyncio.run(scenario())
