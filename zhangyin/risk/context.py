"""What a caller tells risk about an operation, and what risk answers.

These are the interface the payments domain calls (`zhangyin.risk.service.assess`);
they are re-exported from `zhangyin.risk.service`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

OPERATIONS = ("transfer", "interbank_transfer", "bill_payment", "qr_payment", "cardless_cash")


@dataclass(frozen=True)
class RiskContext:
    operation: str  # "transfer" | "interbank_transfer" | "bill_payment" | "qr_payment" | ...
    customer_id: str
    account_id: int  # the ledger account paying
    amount_minor: int
    currency: str
    payee_account_number: str | None
    payee_name: str | None
    payee_bank_code: str | None
    device_id: str | None
    ip: str | None
    channel: str  # "app" | "open_api" | "counter" | ...
    occurred_at: datetime  # aware UTC
    # facts from identity (the caller fills them; risk does not read identity's tables):
    customer_since: datetime | None = None
    kyc_level: int | None = None
    device_first_seen_at: datetime | None = None
    last_password_change_at: datetime | None = None
    last_phone_change_at: datetime | None = None
    last_login_at: datetime | None = None
    #: The payee's ledger account when the caller already found `payee_account_number`
    #: in this bank (risk then reads its statement without looking the number up again).
    payee_account_id: int | None = None


@dataclass(frozen=True)
class RiskReason:
    code: str
    message_zh: str
    message_en: str


@dataclass(frozen=True)
class RiskDecision:
    decision_id: str
    outcome: str  # "allow" | "challenge" | "delay" | "hold" | "block"
    reasons: list[RiskReason]
    score: float | None
    rule_hits: list[str]
    #: Rules in shadow mode that matched (logged, never acted on).
    shadow_hits: list[str] = field(default_factory=list)
    #: True when the engine failed and this is the fail-safe answer.
    failsafe: bool = False
