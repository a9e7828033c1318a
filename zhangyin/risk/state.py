"""The one-row version record workers compare their caches against (the cheap version check)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from zhangyin.clock import utcnow
from zhangyin.risk.models import RiskState

STATE_ID = 1


def read_versions(session: Session) -> tuple[int, int, str | None]:
    """(rules_version, watchlist_version, live model version): one primary-key read."""
    row = session.execute(
        select(RiskState.rules_version, RiskState.watchlist_version, RiskState.model_version).where(
            RiskState.id == STATE_ID
        )
    ).first()
    if row is None:
        return 0, 0, None
    return int(row[0]), int(row[1]), row[2]


def bump_rules(session: Session) -> None:
    session.execute(
        update(RiskState)
        .where(RiskState.id == STATE_ID)
        .values(rules_version=RiskState.rules_version + 1, updated_at=utcnow())
    )


def bump_watchlist(session: Session) -> None:
    session.execute(
        update(RiskState)
        .where(RiskState.id == STATE_ID)
        .values(watchlist_version=RiskState.watchlist_version + 1, updated_at=utcnow())
    )


def set_model(session: Session, version: str | None) -> None:
    session.execute(
        update(RiskState)
        .where(RiskState.id == STATE_ID)
        .values(model_version=version, updated_at=utcnow())
    )
