"""The payments scheduler: delayed posts, interbank sends and feed, code expiry, scheduled runs.

Every job reads what is due from the database and moves it on in its own
transaction, so a restart loses nothing: whatever was due while the server was
down is done on the first pass after it comes back (scheduled transfers catch
up once). Each job is safe to run from several workers at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session

from zhangyin.db import Database
from zhangyin.payments import billers, cardless, interbank, scheduled, service
from zhangyin.payments.clearing import ClearingGateway, ClearingUnreachable, default_gateway

log = logging.getLogger(__name__)


def _drain(db: Database, job: Callable[[Session], int], batch: int = 100) -> int:
    total = 0
    while True:
        done = db.run(job)
        total += done
        if done < batch:
            return total


def run_payment_jobs(db: Database, gateway: ClearingGateway | None = None) -> dict[str, int]:
    """One pass of every payments job; returns how much each did."""
    done: dict[str, int] = {}
    jobs: list[tuple[str, Callable[[], int]]] = [
        ("delayed_posted", lambda: _drain(db, lambda s: service.post_due_delayed(s, limit=100))),
        ("scheduled_runs", lambda: _drain(db, lambda s: scheduled.run_due(s, limit=100))),
        ("reviews_expired", lambda: _drain(db, lambda s: service.expire_stale_reviews(s))),
        ("unconfirmed_expired", lambda: _drain(db, lambda s: service.expire_unconfirmed(s))),
        ("cardless_expired", lambda: _drain(db, lambda s: cardless.expire_due(s, limit=100))),
        ("autopay_paid", lambda: db.run(lambda s: billers.run_autopay(s))),
    ]
    clearing_gateway = gateway or default_gateway(service.OUR_BANK_CODE)
    jobs.append(("clearing_sent", lambda: interbank.send_pending(db, clearing_gateway)))
    jobs.append(("clearing_received", lambda: interbank.poll(db, clearing_gateway)))
    # Answers to what was just received (acceptances, returns) go out in the same pass.
    jobs.append(("clearing_answered", lambda: interbank.send_pending(db, clearing_gateway)))
    for name, job in jobs:
        try:
            done[name] = job()
        except ClearingUnreachable as exc:
            # The clearing house is down: transfers stay `processing` and are retried.
            log.info("clearing house unreachable", extra={"job": name, "error": str(exc)[:200]})
            done[name] = 0
        except Exception:
            log.exception("payments job failed", extra={"job": name})
            done[name] = 0
    return done
