"""risk: each settled transaction is booked to the one AML run that counts it

Revision ID: 0012
Revises: 0010
Create Date: 2026-11-23 15:00:00

The daily AML run selected a day's transactions by when they were made and
counted only those already completed, so a 24-hour delayed transfer made late in
the day, settling after that day's run, was in no report: not in its own day's
(not settled yet) nor the next day's (made the day before). Now a run books the
settled transactions nobody has counted (`aml_business_date`), so each is
counted exactly once, on the day it settled, or by the next run if it settled
after its day's run.

Backfill: a settlement its day's run already saw (made that day, settled before
the run) is booked to that day; so is anything made before the daily job's
31-day catch-up window on a day it never ran (the old job would never count it;
the CLI can still report that day). The rest stay unbooked for the next run to
count: transactions of days not run yet, and those that settled after their
day's run (the ones this change stops losing).
"""

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

from zhangyin.clock import business_date, utcnow

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNBOOKED = sa.text("status = 'completed' AND aml_business_date IS NULL")
#: The daily job's catch-up window when this migration was written.
CATCH_UP_DAYS = 31


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("SET LOCAL lock_timeout = '5s'")
    op.add_column("risk_decisions", sa.Column("aml_business_date", sa.Date(), nullable=True))
    # Beijing date of the moment made (Asia/Shanghai has kept UTC+8 without DST since 1991).
    made_on = (
        "CAST(timezone('Asia/Shanghai', d.occurred_at) AS date)"
        if postgres
        else "date(d.occurred_at, '+8 hours')"
    )
    op.get_bind().execute(
        sa.text(
            f"""
            UPDATE risk_decisions AS d SET aml_business_date = {made_on}
            WHERE d.status = 'completed' AND (
                EXISTS (
                    SELECT 1 FROM risk_aml_runs AS r
                    WHERE r.business_date = {made_on} AND d.status_at <= r.generated_at
                )
                OR (
                    {made_on} < :window_start
                    AND NOT EXISTS (
                        SELECT 1 FROM risk_aml_runs AS r WHERE r.business_date = {made_on}
                    )
                )
            )
            """  # noqa: S608 - `made_on` is one of two fixed expressions
        ).bindparams(
            sa.bindparam(
                "window_start",
                business_date(utcnow()) - timedelta(days=CATCH_UP_DAYS),
                type_=sa.Date(),
            )
        )
    )
    op.create_index("ix_risk_decisions_aml_business_date", "risk_decisions", ["aml_business_date"])
    op.create_index(
        "ix_risk_decisions_aml_unbooked",
        "risk_decisions",
        ["status_at"],
        postgresql_where=UNBOOKED,
        sqlite_where=UNBOOKED,
    )


def downgrade() -> None:
    op.drop_index("ix_risk_decisions_aml_unbooked", table_name="risk_decisions")
    op.drop_index("ix_risk_decisions_aml_business_date", table_name="risk_decisions")
    op.drop_column("risk_decisions", "aml_business_date")
