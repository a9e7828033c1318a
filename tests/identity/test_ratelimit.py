"""Counters behind rate limits and attempt limits: in-process and the real Redis."""

from __future__ import annotations

import os
import threading
import uuid

import pytest

from zhangyin.identity.errors import RateLimited
from zhangyin.identity.ratelimit import Limit, MemoryCounters, RateLimiter, RedisCounters

REDIS_URL = os.environ.get("ZHANGYIN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_or_skip() -> RedisCounters:
    counters = RedisCounters(REDIS_URL, prefix=f"zy:test:{uuid.uuid4().hex}:")
    try:
        counters.client.ping()
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    return counters


@pytest.fixture(params=["memory", "redis"])
def limiter(request: pytest.FixtureRequest) -> RateLimiter:
    return RateLimiter(MemoryCounters() if request.param == "memory" else _redis_or_skip())


def test_limit_allows_up_to_the_limit_then_refuses(limiter: RateLimiter) -> None:
    limit = Limit("login", 3, 60)
    for _ in range(3):
        limiter.check(limit, "13900000000")
    with pytest.raises(RateLimited) as refused:
        limiter.check(limit, "13900000000")
    assert 0 < refused.value.params["retry_after"] <= 60
    limiter.check(limit, "13900000001")  # another subject has its own count


def test_concurrent_hits_are_counted_exactly(limiter: RateLimiter) -> None:
    key = uuid.uuid4().hex
    allowed: list[bool] = []
    lock = threading.Lock()

    def attempt() -> None:
        try:
            limiter.check(Limit("burst", 10, 60), key)
            ok = True
        except RateLimited:
            ok = False
        with lock:
            allowed.append(ok)

    threads = [threading.Thread(target=attempt) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 10 and len(allowed) == 40


def test_redis_window_expires() -> None:
    # An hour's window: with a one-second one the key was gone (count 0, TTL -2) whenever a
    # loaded machine took more than a second between the hit and the checks.
    counters = _redis_or_skip()
    count, ttl = counters.hit("expiring", 3600)
    assert count == 1 and ttl == 3600
    again, ttl_again = counters.hit("expiring", 3600)
    assert again == 2 and ttl_again <= 3600  # a later hit does not extend the window
    # The key lives as long as its window (a minute's slack for a slow machine).
    assert 3600 - 60 <= counters.client.ttl(counters.prefix + "expiring") <= 3600
    assert counters.peek("expiring") == 2


def test_counters_keep_limiting_in_process_while_redis_is_down() -> None:
    counters = RedisCounters("redis://127.0.0.1:1/0", prefix=f"zy:test:{uuid.uuid4().hex}:")
    limiter = RateLimiter(counters)
    limit = Limit("login", 3, 60)
    for _ in range(3):
        limiter.check(limit, "13900000000")
    with pytest.raises(RateLimited):
        limiter.check(limit, "13900000000")
    assert counters.peek("login:13900000000") == 4
    assert counters.down_until > 0  # the breaker tripped: later calls do not wait on Redis


def test_counts_made_during_an_outage_still_count_when_redis_is_back() -> None:
    counters = _redis_or_skip()
    counters.fallback.hit("sms:1", 60)
    counters.fallback.hit("sms:1", 60)
    counters.hit("sms:1", 60)
    assert counters.peek("sms:1") == 2  # the larger of the two: Redis has only 1
