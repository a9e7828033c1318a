"""Counters for rate limits and lockouts: Redis when configured, in-process otherwise.

Fixed windows (INCR + EXPIRE): simple, atomic, and good enough to stop SMS
bombing and password spraying. Counters live outside the database transaction
on purpose: a refused attempt must count even when the request rolls back.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from prometheus_client import Counter

from zhangyin.config import get_settings
from zhangyin.identity.errors import RateLimited

log = logging.getLogger(__name__)

FALLBACKS = Counter(
    "zhangyin_ratelimit_redis_fallbacks_total",
    "Times the rate-limit counters fell back from Redis to in-process counting",
)


@dataclass(frozen=True)
class Limit:
    name: str
    limit: int
    window_seconds: int


class CounterStore(Protocol):
    def hit(self, key: str, window_seconds: int) -> tuple[int, int]:
        """Count one event; return (count in the window, seconds until the window ends)."""
        ...

    def peek(self, key: str) -> int: ...


class MemoryCounters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, float]] = {}

    def hit(self, key: str, window_seconds: int) -> tuple[int, int]:
        now = time.monotonic()
        with self._lock:
            count, ends = self._counts.get(key, (0, 0.0))
            if ends <= now:
                count, ends = 0, now + window_seconds
            count += 1
            self._counts[key] = (count, ends)
            if len(self._counts) > 100_000:
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            return count, max(int(ends - now), 1)

    def peek(self, key: str) -> int:
        with self._lock:
            count, ends = self._counts.get(key, (0, 0.0))
            return count if ends > time.monotonic() else 0


class RedisCounters:
    """Counters shared by every process, with an in-process fallback while Redis is down.

    A limit that stops working when Redis fails would either lock every customer out
    or let attackers through; counting per process for a few seconds keeps the limits
    (each process allows the limit) and keeps logins and step-ups working.
    """

    def __init__(self, url: str, prefix: str = "zy:rl:", cool_off_seconds: float = 5.0) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.prefix = prefix
        self.client = redis.Redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
        )
        self.fallback = MemoryCounters()
        self.cool_off_seconds = cool_off_seconds
        self.down_until = 0.0

    def _redis_up(self) -> bool:
        return time.monotonic() >= self.down_until

    def _trip(self) -> None:
        self.down_until = time.monotonic() + self.cool_off_seconds
        FALLBACKS.inc()
        log.warning("rate-limit counters: redis failed; counting in this process for now")

    def hit(self, key: str, window_seconds: int) -> tuple[int, int]:
        if self._redis_up():
            full = self.prefix + key
            try:
                pipe = self.client.pipeline()
                pipe.incr(full)
                pipe.expire(full, window_seconds, nx=True)
                pipe.ttl(full)
                count, _, ttl = pipe.execute()
                return int(count), max(int(ttl), 1)
            except Exception:
                self._trip()
        return self.fallback.hit(key, window_seconds)

    def peek(self, key: str) -> int:
        if self._redis_up():
            try:
                value = self.client.get(self.prefix + key)
                return max(int(value) if value is not None else 0, self.fallback.peek(key))
            except Exception:
                self._trip()
        return self.fallback.peek(key)


class RateLimiter:
    def __init__(self, store: CounterStore) -> None:
        self.store = store

    def check(self, limit: Limit, subject: str) -> None:
        """Count an attempt; raise RateLimited once the window's limit is passed."""
        count, retry_after = self.store.hit(f"{limit.name}:{subject}", limit.window_seconds)
        if count > limit.limit:
            raise RateLimited(retry_after=retry_after)


def make_limiter(redis_url: str | None) -> RateLimiter:
    return RateLimiter(RedisCounters(redis_url) if redis_url else MemoryCounters())


@lru_cache(maxsize=1)
def process_counters() -> CounterStore:
    """Process-wide counters for attempt limits that services count (step-up proofs)."""
    url = get_settings().redis_url
    return RedisCounters(url) if url else MemoryCounters()
