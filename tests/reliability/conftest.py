"""Fault tests run the real server (a subprocess) on servers of their own, never the shared ones."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.reliability.stack import Stack, missing_tools

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture
def make_stack() -> Iterator[Callable[..., Stack]]:
    """Build a throwaway stack (`make_stack(redis=True, nats=True)`); all are closed at the end."""
    missing = missing_tools()
    if missing:
        message = f"fault tests need {', '.join(missing)}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    stacks: list[Stack] = []

    def build(**kwargs: object) -> Stack:
        stack = Stack(**kwargs)  # type: ignore[arg-type]
        stacks.append(stack)
        return stack

    try:
        yield build
    finally:
        for stack in stacks:
            stack.close()


@pytest.fixture
def http_for() -> Iterator[Callable[[Stack], httpx.Client]]:
    clients: list[httpx.Client] = []

    def build(stack: Stack) -> httpx.Client:
        client = httpx.Client(base_url=stack.api.url, timeout=10)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()
