"""risk: record of the days whose AML reports the periodic job generated

Revision ID: 0010
Revises: 0004, 0003
Create Date: 2026-11-23 12:00:00

Fraud reports from customers need no table of their own: a report is a risk case
(`risk_cases`, kind `customer_report`) plus the fraud label on its decision. What
the daily AML job needs is to know which business days it has done, including
days that produced no report, so that it catches up once after downtime.

It merges the payments (0004) and risk (0003) branches rather than naming 0003 in
`depends_on`: a dependency on a branch head leaves 0003 among the script's heads
but not in the version table, so `migrate` would report the schema out of date.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhangyin.db

revision: str = "0010"
down_revision: str | Sequence[str] | None = ("0004", "0003")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "risk_aml_runs",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("generated_at", zhangyin.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("business_date", name=op.f("pk_risk_aml_runs")),
    )


def downgrade() -> None:
    op.drop_table("risk_aml_runs")
