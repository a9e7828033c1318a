"""Idempotency-Key claims: one insert per key, twins and retries get the first answer."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy.orm import Session

from zhangyin.db import Database
from zhangyin.errors import DomainError, IdempotencyKeyReused
from zhangyin.idempotency import StoredResponse, run_idempotent


class _Refused(DomainError):
    code = "refused_for_test"
    status = 422
    message_zh = "测试拒绝"
    message_en = "Refused for the test"


def _run(db: Database, work: Any, *, key: str = "k-1", body: str = "a") -> StoredResponse:
    return run_idempotent(
        db,
        scope="test:scope",
        key=key,
        payload={"body": body},
        work=work,
        language="en",
        instance="/test",
    )


def test_concurrent_twins_run_the_work_once_and_share_its_answer(db: Database) -> None:
    calls: list[int] = []
    lock = threading.Lock()

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        with lock:
            calls.append(1)
            n = len(calls)
        time.sleep(0.05)  # the twins arrive while the first still holds the key
        return 201, {"n": n}

    barrier = threading.Barrier(4)
    answers: list[StoredResponse] = []

    def twin() -> None:
        barrier.wait()
        answers.append(_run(db, work))

    threads = [threading.Thread(target=twin) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert [a.body for a in answers] == [{"n": 1}] * 4
    assert sorted(a.replayed for a in answers) == [False, True, True, True]
    assert {a.status_code for a in answers} == {201}


def test_a_retry_replays_and_another_body_under_the_key_is_refused(db: Database) -> None:
    calls: list[int] = []

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        calls.append(1)
        return 201, {"ok": True}

    first = _run(db, work)
    again = _run(db, work)
    assert (first.replayed, again.replayed, again.body, len(calls)) == (False, True, first.body, 1)
    with pytest.raises(IdempotencyKeyReused):
        _run(db, work, body="b")
    assert len(calls) == 1


def test_a_refusal_is_stored_and_replayed_without_running_again(db: Database) -> None:
    calls: list[int] = []

    def work(session: Session) -> tuple[int, dict[str, Any]]:
        calls.append(1)
        raise _Refused()

    with pytest.raises(_Refused):
        _run(db, work, key="k-2")
    with pytest.raises(DomainError) as replayed:
        _run(db, work, key="k-2")
    assert replayed.value.code == "refused_for_test"
    assert replayed.value.status == 422
    assert len(calls) == 1
