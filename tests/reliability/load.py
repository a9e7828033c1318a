"""A load of transfers from several threads that remembers what every client was told.

Each request carries a fresh Idempotency-Key and that key as its memo, so the
rows it made (if any) can be found afterwards. An answer is one of:
  told_ok      2xx: the transfer exists in the state the body says
  told_failed  a 4xx refusal: nothing was moved
  in_doubt     no answer (connection cut, timeout) or 503: retry with the same key
Anything else (a 500, a non-problem error body) is recorded as `bad`.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.reliability.bank import Customer, key, transfer_body


@dataclass
class Attempt:
    key: str
    payer: Customer
    body: dict[str, Any]
    status: int | None = None
    answer: dict[str, Any] | None = None
    elapsed: float = 0.0
    error: str = ""


@dataclass
class Outcomes:
    told_ok: list[Attempt] = field(default_factory=list)
    told_failed: list[Attempt] = field(default_factory=list)
    in_doubt: list[Attempt] = field(default_factory=list)
    bad: list[Attempt] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, attempt: Attempt) -> None:
        with self.lock:
            if attempt.status is not None and 200 <= attempt.status < 300:
                self.told_ok.append(attempt)
            elif attempt.status is None or attempt.status == 503:
                self.in_doubt.append(attempt)
            elif 400 <= attempt.status < 500 and is_problem(attempt.answer):
                self.told_failed.append(attempt)
            else:
                self.bad.append(attempt)

    @property
    def total(self) -> int:
        return len(self.told_ok) + len(self.told_failed) + len(self.in_doubt) + len(self.bad)


def is_problem(body: dict[str, Any] | None) -> bool:
    return bool(body) and isinstance(body, dict) and "code" in body and "status" in body


def send(http: httpx.Client, attempt: Attempt, timeout: float) -> Attempt:
    """One try of the attempt's request (a retry reuses key and body)."""
    started = time.monotonic()
    attempt.status, attempt.answer, attempt.error = None, None, ""
    try:
        response = http.post(
            "/v1/transfers",
            json=attempt.body,
            headers={**attempt.payer.headers, "Idempotency-Key": attempt.key},
            timeout=timeout,
        )
        attempt.status = response.status_code
        try:
            attempt.answer = response.json()
        except ValueError:
            attempt.answer = {"raw": response.text[:200]}
    except httpx.HTTPError as exc:
        attempt.error = type(exc).__name__
    attempt.elapsed = time.monotonic() - started
    return attempt


class TransferLoad:
    """`threads` clients sending small random transfers between `customers` until stopped."""

    def __init__(
        self,
        base_url: str,
        customers: list[Customer],
        *,
        threads: int = 4,
        timeout: float = 5.0,
        seed: int = 8,
        # Only a safety net for a test that never calls stop(): three kills and restarts
        # of a server on a loaded machine took longer than 120 s, the threads quietly
        # ended, and the next wait_for_successes timed out.
        max_seconds: float = 900,
    ) -> None:
        self.base_url = base_url
        self.customers = customers
        self.timeout = timeout
        self.max_seconds = max_seconds
        self.outcomes = Outcomes()
        self._stop = threading.Event()
        self._seed = seed
        self._threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)
        ]

    def _run(self, index: int) -> None:
        rng = random.Random(self._seed * 100 + index)
        deadline = time.monotonic() + self.max_seconds
        with httpx.Client(base_url=self.base_url) as http:
            while not self._stop.is_set() and time.monotonic() < deadline:
                payer, payee = rng.sample(self.customers, 2)
                amount = f"{rng.randint(1, 500) / 100:.2f}"
                k = key()
                attempt = Attempt(k, payer, transfer_body(payer, payee, amount, memo=k))
                send(http, attempt, self.timeout)
                self.outcomes.add(attempt)
                if attempt.status is None or attempt.status == 503:
                    time.sleep(0.05)  # the server is down: do not spin

    def start(self) -> TransferLoad:
        for thread in self._threads:
            thread.start()
        return self

    def wait_for_successes(self, count: int, timeout: float = 90) -> None:
        """Block until `count` more transfers were told ok (the load is really running)."""
        target = len(self.outcomes.told_ok) + count
        deadline = time.monotonic() + timeout
        while len(self.outcomes.told_ok) < target:
            if time.monotonic() > deadline:
                raise TimeoutError(f"fewer than {count} successes in {timeout} s")
            time.sleep(0.05)

    def stop(self) -> Outcomes:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 5)
        return self.outcomes


def resolve(http: httpx.Client, attempt: Attempt, tries: int = 20) -> Attempt:
    """Retry an in-doubt request with its own key until the bank gives a final answer."""
    for _ in range(tries):
        send(http, attempt, timeout=10)
        if attempt.status is not None and attempt.status != 503:
            return attempt
        time.sleep(0.25)
    raise AssertionError(f"no final answer for {attempt.key}: {attempt.error or attempt.status}")
