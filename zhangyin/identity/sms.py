"""Sending SMS through a provider interface.

The default provider writes each message to the outbox table
(`identity_sms_outbox`) in the caller's transaction: the console and the tests
read it, and the dev inbox (`ZHANGYIN_DEMO=1`) shows it. A real gateway is
another `SmsProvider` chosen by `ZHANGYIN_SMS_PROVIDER`, which would send from
a job after commit so a rolled-back request never texts anyone.
"""

from __future__ import annotations

import os
from typing import Protocol

from sqlalchemy.orm import Session

from zhangyin.clock import utcnow
from zhangyin.identity.models import SmsMessage


class SmsProvider(Protocol):
    def send(self, session: Session, phone: str, text: str, purpose: str) -> None: ...


class OutboxSmsProvider:
    """Keeps messages in the outbox table; nothing leaves the bank."""

    def send(self, session: Session, phone: str, text: str, purpose: str) -> None:
        session.add(SmsMessage(phone=phone, purpose=purpose, text=text[:300], created_at=utcnow()))


PROVIDERS: dict[str, type[OutboxSmsProvider]] = {"outbox": OutboxSmsProvider}


def provider() -> SmsProvider:
    name = os.environ.get("ZHANGYIN_SMS_PROVIDER", "outbox")
    if name not in PROVIDERS:
        raise RuntimeError(f"unknown SMS provider {name!r}; known: {', '.join(PROVIDERS)}")
    return PROVIDERS[name]()
