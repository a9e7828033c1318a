"""Imports every domain's tables so that Alembic and tests see the whole schema."""

from zhangyin.analytics import models as analytics_models  # noqa: F401
from zhangyin.console import models as console_models  # noqa: F401
from zhangyin.events import OutboxEvent
from zhangyin.idempotency import IdempotencyRecord
from zhangyin.identity import models as identity_models  # noqa: F401
from zhangyin.ledger.models import LedgerAccount, LedgerPosting, LedgerTransfer
from zhangyin.payments import models as payments_models  # noqa: F401
from zhangyin.risk import models as risk_models  # noqa: F401
from zhangyin.wealth import models as wealth_models  # noqa: F401

__all__ = ["IdempotencyRecord", "LedgerAccount", "LedgerPosting", "LedgerTransfer", "OutboxEvent"]
