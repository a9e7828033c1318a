"""Races: a step-up proof and a refresh token used twice at the same moment work once."""

from __future__ import annotations

import threading
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.identity.factories import last_code, register
from zhangyin.db import Database
from zhangyin.errors import DomainError
from zhangyin.identity import service
from zhangyin.identity.service import StepUpBinding


def _race(work: Callable[[], None], n: int = 4) -> list[bool]:
    results: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(n)

    def run() -> None:
        barrier.wait()
        try:
            work()
            ok = True
        except DomainError:
            ok = False
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_step_up_proof_used_concurrently_approves_once(client: TestClient, db: Database) -> None:
    customer = register(client, db, login=False)
    binding = StepUpBinding("transfer", 100_00, "CNY", "6216880000000001234 李四")
    challenge = db.run(lambda s: service.start_step_up(s, customer.customer_id, binding))
    code = last_code(db, customer.phone)
    results = _race(
        lambda: db.run(
            lambda s: service.verify_step_up(
                s, customer.customer_id, challenge.challenge_id, binding, sms_code=code
            )
        )
    )
    assert results.count(True) == 1


def test_refresh_token_used_concurrently_rotates_once(client: TestClient, db: Database) -> None:
    customer = register(client, db)
    policy = service.default_policy()
    token = customer.tokens["refresh_token"]
    grants: list[str] = []

    def refresh() -> None:
        outcome = db.run(lambda s: service.refresh_session(s, token, policy))
        if outcome.refused is not None:
            raise outcome.refused
        assert outcome.grant is not None
        grants.append(outcome.grant.refresh_token)

    results = _race(refresh)
    assert results.count(True) == 1 and len(grants) == 1
