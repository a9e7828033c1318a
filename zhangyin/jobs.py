"""Periodic work run by the server process: expiring ledger holds, and more as domains need."""

from __future__ import annotations

import asyncio
import logging

from zhangyin.db import Database
from zhangyin.ledger import service as ledger

log = logging.getLogger(__name__)


def expire_due_holds(db: Database) -> int:
    total = 0
    while True:
        expired = db.run(lambda session: ledger.expire_holds(session, limit=200))
        total += expired
        if expired < 200:
            return total


async def run_periodic_jobs(db: Database, interval: float = 15.0) -> None:
    while True:
        try:
            from zhangyin.payments.jobs import run_payment_jobs

            await asyncio.to_thread(run_payment_jobs, db)
            from zhangyin.analytics.jobs import run_analytics_jobs

            await asyncio.to_thread(run_analytics_jobs, db)
            expired = await asyncio.to_thread(expire_due_holds, db)
            if expired:
                log.info("expired holds", extra={"count": expired})
            from zhangyin.wealth.jobs import run_wealth_jobs

            await asyncio.to_thread(run_wealth_jobs, db)
            from zhangyin.risk.jobs import run_risk_jobs

            await asyncio.to_thread(run_risk_jobs, db)
        except Exception:
            log.exception("periodic jobs failed")
        await asyncio.sleep(interval)
