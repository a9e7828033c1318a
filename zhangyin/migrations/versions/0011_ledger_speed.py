"""ledger: lighter indexes on transfers, and a one-round-trip transfer on PostgreSQL

Revision ID: 0011
Revises: 0001
Create Date: 2026-11-23 13:00:00

Every posted transfer used to update six indexes of `ledger_transfers`. Most
transfers carry no reference, reverse nothing and are never pending, so the
unique indexes on `reference` and `reverses_id` and the expiry index now hold
only the rows that have a value (partial indexes; lookups by a value still use
them). No query reads transfers by debit or credit account (statements go
through postings), so those two indexes go.

`ledger_post_transfer` posts one transfer in one statement: it locks both
accounts in id order, refuses exactly as `_Posting.post` does (returning the
refusal instead of raising, so Python raises the same DomainError), and writes
the transfer, both legs, both balances and the outbox event. The database
guards (triggers) still check what it writes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")
HAS_REFERENCE = sa.text("reference IS NOT NULL")
HAS_REVERSES = sa.text("reverses_id IS NOT NULL")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_ledger_transfers_debit_account_id", table_name="ledger_transfers")
    op.drop_index("ix_ledger_transfers_credit_account_id", table_name="ledger_transfers")
    op.drop_index("ix_ledger_transfers_pending_expiry", table_name="ledger_transfers")
    if postgres:
        op.drop_constraint("uq_ledger_transfers_reference", "ledger_transfers", type_="unique")
        op.drop_constraint("uq_ledger_transfers_reverses_id", "ledger_transfers", type_="unique")
    else:
        # SQLite drops a table constraint only by rebuilding the table, which
        # also drops its triggers: put them back afterwards.
        with op.batch_alter_table("ledger_transfers", recreate="always") as batch_op:
            batch_op.drop_constraint("uq_ledger_transfers_reference", type_="unique")
            batch_op.drop_constraint("uq_ledger_transfers_reverses_id", type_="unique")
        for statement in SQLITE_TRANSFER_TRIGGERS:
            op.execute(statement)
    op.create_index(
        "uq_ledger_transfers_reference",
        "ledger_transfers",
        ["reference"],
        unique=True,
        postgresql_where=HAS_REFERENCE,
        sqlite_where=HAS_REFERENCE,
    )
    op.create_index(
        "uq_ledger_transfers_reverses_id",
        "ledger_transfers",
        ["reverses_id"],
        unique=True,
        postgresql_where=HAS_REVERSES,
        sqlite_where=HAS_REVERSES,
    )
    op.create_index(
        "ix_ledger_transfers_pending_expiry",
        "ledger_transfers",
        ["expires_at"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    if postgres:
        op.execute(POST_TRANSFER_FUNCTION)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(
            "DROP FUNCTION IF EXISTS ledger_post_transfer("
            "varchar, bigint, bigint, varchar, bigint, varchar, varchar, timestamptz)"
        )
    op.drop_index("ix_ledger_transfers_pending_expiry", table_name="ledger_transfers")
    op.drop_index("uq_ledger_transfers_reverses_id", table_name="ledger_transfers")
    op.drop_index("uq_ledger_transfers_reference", table_name="ledger_transfers")
    if postgres:
        op.create_unique_constraint(
            "uq_ledger_transfers_reference", "ledger_transfers", ["reference"]
        )
        op.create_unique_constraint(
            "uq_ledger_transfers_reverses_id", "ledger_transfers", ["reverses_id"]
        )
    else:
        with op.batch_alter_table("ledger_transfers", recreate="always") as batch_op:
            batch_op.create_unique_constraint("uq_ledger_transfers_reference", ["reference"])
            batch_op.create_unique_constraint("uq_ledger_transfers_reverses_id", ["reverses_id"])
        for statement in SQLITE_TRANSFER_TRIGGERS:
            op.execute(statement)
    op.create_index(
        "ix_ledger_transfers_pending_expiry", "ledger_transfers", ["status", "expires_at"]
    )
    op.create_index(
        "ix_ledger_transfers_debit_account_id", "ledger_transfers", ["debit_account_id"]
    )
    op.create_index(
        "ix_ledger_transfers_credit_account_id", "ledger_transfers", ["credit_account_id"]
    )


# The ledger_transfers triggers of 0001's SQLITE_GUARDS, unchanged.
SQLITE_TRANSFER_TRIGGERS = [
    """
    CREATE TRIGGER IF NOT EXISTS ledger_transfers_guard BEFORE UPDATE ON ledger_transfers
    WHEN OLD.status <> 'pending'
      OR NEW.amount_minor <> OLD.amount_minor
      OR NEW.currency <> OLD.currency
      OR NEW.debit_account_id <> OLD.debit_account_id
      OR NEW.credit_account_id <> OLD.credit_account_id
    BEGIN SELECT RAISE(ABORT, 'ledger: transfer is final or its terms cannot change'); END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS ledger_transfers_no_delete BEFORE DELETE ON ledger_transfers
    BEGIN SELECT RAISE(ABORT, 'ledger: ledger_transfers rows are immutable'); END
    """,
]

# Refusal codes are the DomainError codes of zhangyin.ledger.errors; `subject` is
# the account id (account_not_found) or number (the others), `available` the
# amount InsufficientFunds reports (available before the transfer + overdraft).
POST_TRANSFER_FUNCTION = """
CREATE FUNCTION ledger_post_transfer(
    p_id varchar, p_debit bigint, p_credit bigint, p_currency varchar, p_amount bigint,
    p_reference varchar, p_memo varchar, p_now timestamptz,
    OUT refusal text, OUT subject text, OUT available bigint)
LANGUAGE plpgsql AS $$
DECLARE
    d ledger_accounts%ROWTYPE;
    c ledger_accounts%ROWTYPE;
    d_avail bigint;
    c_avail bigint;
    d_balance bigint;
    c_balance bigint;
BEGIN
    -- Row locks in ascending id order, as _lock_accounts takes them: no deadlocks.
    IF p_debit < p_credit THEN
        SELECT * INTO d FROM ledger_accounts WHERE id = p_debit FOR UPDATE;
        SELECT * INTO c FROM ledger_accounts WHERE id = p_credit FOR UPDATE;
    ELSE
        SELECT * INTO c FROM ledger_accounts WHERE id = p_credit FOR UPDATE;
        SELECT * INTO d FROM ledger_accounts WHERE id = p_debit FOR UPDATE;
    END IF;
    IF d.id IS NULL THEN
        refusal := 'account_not_found'; subject := p_debit; RETURN;
    END IF;
    IF c.id IS NULL THEN
        refusal := 'account_not_found'; subject := p_credit; RETURN;
    END IF;
    IF d.currency <> p_currency THEN
        refusal := 'currency_mismatch'; subject := d.number; RETURN;
    END IF;
    IF c.currency <> p_currency THEN
        refusal := 'currency_mismatch'; subject := c.number; RETURN;
    END IF;
    IF d.status = 'closed' THEN
        refusal := 'account_closed'; subject := d.number; RETURN;
    END IF;
    IF d.status IN ('frozen', 'fully_frozen') THEN
        refusal := 'account_frozen'; subject := d.number; RETURN;
    END IF;
    IF c.status = 'closed' THEN
        refusal := 'account_closed'; subject := c.number; RETURN;
    END IF;
    IF c.status = 'fully_frozen' THEN
        refusal := 'account_frozen'; subject := c.number; RETURN;
    END IF;
    -- Available before the transfer, on each account's normal side.
    IF d.normal_side = 'credit' THEN
        d_avail := d.credits_posted_minor - d.debits_posted_minor - d.debits_pending_minor;
        d_balance := d.credits_posted_minor - d.debits_posted_minor - p_amount;
    ELSE
        d_avail := d.debits_posted_minor - d.credits_posted_minor - d.credits_pending_minor;
        d_balance := d.debits_posted_minor + p_amount - d.credits_posted_minor;
    END IF;
    IF c.normal_side = 'credit' THEN
        c_avail := c.credits_posted_minor - c.debits_posted_minor - c.debits_pending_minor;
        c_balance := c.credits_posted_minor + p_amount - c.debits_posted_minor;
    ELSE
        c_avail := c.debits_posted_minor - c.credits_posted_minor - c.credits_pending_minor;
        c_balance := c.debits_posted_minor - c.credits_posted_minor - p_amount;
    END IF;
    IF d.enforce_floor AND d_avail + (CASE WHEN d.normal_side = 'credit' THEN -p_amount
                                           ELSE p_amount END) < -d.overdraft_limit_minor THEN
        refusal := 'insufficient_funds'; subject := d.number;
        available := d_avail + d.overdraft_limit_minor; RETURN;
    END IF;
    IF c.enforce_floor AND c_avail + (CASE WHEN c.normal_side = 'credit' THEN p_amount
                                           ELSE -p_amount END) < -c.overdraft_limit_minor THEN
        refusal := 'insufficient_funds'; subject := c.number;
        available := c_avail + c.overdraft_limit_minor; RETURN;
    END IF;

    INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, currency, amount_minor,
        posted_amount_minor, status, batch_id, reference, reverses_id, memo, expires_at,
        created_at, resolved_at)
    VALUES (p_id, p_debit, p_credit, p_currency, p_amount, p_amount, 'posted', NULL,
        p_reference, NULL, p_memo, NULL, p_now, p_now);
    -- Both legs in one statement: the balance trigger checks them together.
    INSERT INTO ledger_postings (transfer_id, account_id, currency, amount_minor,
        balance_after_minor, created_at)
    VALUES (p_id, p_debit, p_currency, p_amount, d_balance, p_now),
           (p_id, p_credit, p_currency, -p_amount, c_balance, p_now);
    UPDATE ledger_accounts
       SET debits_posted_minor = debits_posted_minor + p_amount, updated_at = p_now
     WHERE id = p_debit;
    UPDATE ledger_accounts
       SET credits_posted_minor = credits_posted_minor + p_amount, updated_at = p_now
     WHERE id = p_credit;
    -- The payload _Posting._event builds, key for key.
    INSERT INTO outbox_events (event_type, aggregate_type, aggregate_id, payload, created_at,
        attempts)
    VALUES ('ledger.transfer.posted', 'ledger_transfer', p_id,
        json_build_object('transfer_id', p_id, 'debit_account_id', p_debit,
            'credit_account_id', p_credit, 'currency', p_currency, 'amount_minor', p_amount,
            'posted_amount_minor', p_amount, 'status', 'posted', 'reference', p_reference,
            'reverses_id', NULL),
        p_now, 0);
END $$
"""
