"""Risk's periodic work: the daily AML reports, run by the server's job loop (zhangyin.jobs)."""

from __future__ import annotations

import logging

from zhangyin.db import Database
from zhangyin.risk import aml

log = logging.getLogger(__name__)


def run_risk_jobs(db: Database) -> dict[str, int]:
    """One pass: generate the AML reports of every ended business day not yet done."""
    generated = aml.generate_due(db)
    for day, count in generated.items():
        log.info("aml reports generated", extra={"business_date": str(day), "reports": count})
    return {"aml_days_generated": len(generated)}
