"""identity: the customer's display preferences (elder mode, language) kept on the server

Revision ID: 0008
Revises: 0002
Create Date: 2026-11-24 09:00:00

`phone_changed_at` already exists (0002); the phone change flow now moves it.
The language is checked by the API (zh-CN or en-US); adding a CHECK here would
make SQLite rebuild identity_customers, which other tables reference.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "identity_customers",
        sa.Column("elder_mode", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "identity_customers",
        sa.Column("language", sa.String(length=5), server_default="zh-CN", nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("identity_customers") as batch:
        batch.drop_column("language")
        batch.drop_column("elder_mode")
