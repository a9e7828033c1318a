"""Counters for rate limits and lockouts: Redis when configured, in-process otherwise.

Fixed windows (INCR + EXPIRE): simple, atomic, and good enough to stop SMS
bombing and password spraying. Counters live outside the database transaction
on purpose: a refused attempt must count even when the request rolls back.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from zhangyin.config import get_settings
from zhangyin.identity.errors import RateLimited


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
    def __init__(self, url: str, prefix: str = "zy:rl:") -> None:
        import redis

        self.prefix = prefix
        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def hit(self, key: str, window_seconds: int) -> tuple[int, int]:
        full = self.prefix + key
        pipe = self.client.pipeline()
        pipe.incr(full)
        pipe.expire(full, window_seconds, nx=True)
        pipe.ttl(full)
        count, _, ttl = pipe.execute()
        return int(count), max(int(ttl), 1)

    def peek(self, key: str) -> int:
        value = self.client.get(self.prefix + key)
        return int(value) if value is not None else 0


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
