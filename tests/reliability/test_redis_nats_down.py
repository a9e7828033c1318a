"""Redis and NATS away: money still moves; events wait in the outbox, then arrive once, in order."""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from collections.abc import Callable

import httpx

from tests.reliability import bank
from tests.reliability.invariants import reconcile_cli
from tests.reliability.stack import Stack

STREAM = "ZHANGYIN"


def unpublished(stack: Stack) -> int:
    return int(stack.sql("SELECT count(*) FROM outbox_events WHERE published_at IS NULL")[0][0])


def stream_event_ids(nats_url: str) -> list[tuple[int, str]]:
    """(outbox id, aggregate) of every message in the stream, in stream order."""

    async def read() -> list[tuple[int, str]]:
        import nats

        nc = await nats.connect(nats_url, connect_timeout=3, allow_reconnect=False)
        try:
            js = nc.jetstream(timeout=5)
            info = await js.stream_info(STREAM)
            found = []
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                message = await js.get_msg(STREAM, seq)
                assert message.data is not None
                body = json.loads(message.data)
                found.append((int(body["id"]), f"{body['aggregate_type']}:{body['aggregate_id']}"))
            return found
        finally:
            await nc.close()

    return asyncio.run(read())


def transfer(http: httpx.Client, payer: bank.Customer, payee: bank.Customer) -> httpx.Response:
    return http.post(
        "/v1/transfers",
        json=bank.transfer_body(payer, payee, "1.00"),
        headers={**payer.headers, "Idempotency-Key": bank.key()},
    )


def test_money_moves_without_redis_and_nats_and_events_follow_once_in_order(
    make_stack: Callable[..., Stack], http_for: Callable[[Stack], httpx.Client]
) -> None:
    stack = make_stack(redis=True, nats=True)
    assert stack.redis is not None and stack.nats is not None
    stack.api.start()
    http = http_for(stack)
    a = bank.register(http, stack.sql, "张三")
    b = bank.register(http, stack.sql, "李四", deposit=None)
    # The first transfer to a new payee may ask for step-up: answer it, as the customer would.
    assert bank.confirmed(http, stack.sql, a, transfer(http, a, b))["status"] == "completed"
    bank.wait_until(lambda: unpublished(stack) == 0, 30, "outbox drained while NATS is up")

    stack.nats.stop()
    for _ in range(10):
        moved = transfer(http, a, b)
        assert moved.status_code == 201, moved.text
        assert moved.json()["status"] == "completed"
    for _ in range(5):
        moved = transfer(http, b, a)
        assert moved.status_code == 201 and moved.json()["status"] == "completed"
    assert bank.balance_minor(http, a) == 100_000 - 1_100 + 500
    assert bank.balance_minor(http, b) == 1_100 - 500
    time.sleep(1.5)  # several dispatcher passes meet a NATS that is down
    assert unpublished(stack) >= 15, "events of transfers made without NATS wait in the outbox"

    # Redis away too: counters fall back to the process, risk reads the database; money moves.
    stack.redis.stop()
    before = bank.balance_minor(http, a), bank.balance_minor(http, b)
    answers = [transfer(http, a, b) for _ in range(3)]
    answers.append(
        http.post(
            "/v1/sessions",
            json={"phone": a.phone, "password": bank.PASSWORD, "device_id": a.device_id},
        )
    )
    assert [r.status_code for r in answers] == [201, 201, 201, 201], [r.text for r in answers]
    moved_minor = 100 * sum(1 for r in answers[:3] if r.json()["status"] == "completed")
    assert moved_minor == 300
    after = bank.balance_minor(http, a), bank.balance_minor(http, b)
    assert after == (before[0] - moved_minor, before[1] + moved_minor)

    stack.redis.start()
    stack.nats.start()
    bank.wait_until(lambda: unpublished(stack) == 0, 60, "outbox drained after NATS returned")
    assert stack.api.starts == 1
    assert bank.login(http, a.phone, a.device_id)

    # Events keep coming (periodic jobs): compare what was published before reading the stream.
    published = {int(r[0]) for r in stack.sql(
        "SELECT id FROM outbox_events WHERE published_at IS NOT NULL")}  # fmt: skip
    in_stream = stream_event_ids(stack.nats.url)
    ids = [event_id for event_id, _ in in_stream]
    all_rows = {int(r[0]) for r in stack.sql("SELECT id FROM outbox_events")}
    assert len(ids) == len(set(ids)), "an event was delivered twice"
    assert published <= set(ids) <= all_rows, "each committed event exactly once in the stream"
    per_aggregate: dict[str, list[int]] = defaultdict(list)
    for event_id, aggregate in in_stream:
        per_aggregate[aggregate].append(event_id)
    assert all(seq == sorted(seq) for seq in per_aggregate.values())
    assert any(len(seq) > 1 for seq in per_aggregate.values())
    assert '"msg": "unhandled error"' not in stack.api.logs(), "\n".join(stack.api.errors())
    reconcile_cli(stack)


def test_transfers_complete_while_redis_is_down(
    make_stack: Callable[..., Stack], http_for: Callable[[Stack], httpx.Client]
) -> None:
    stack = make_stack(redis=True)
    assert stack.redis is not None
    stack.api.start()
    http = http_for(stack)
    a = bank.register(http, stack.sql, "张三")
    b = bank.register(http, stack.sql, "李四", deposit=None)
    stack.redis.stop()
    for _ in range(3):
        moved = transfer(http, a, b)
        assert moved.status_code == 201, moved.text
        assert moved.json()["status"] == "completed"
    assert bank.balance_minor(http, b) == 300
