"""ledger: one query for the postings guard, and no index on postings by transfer

Revision ID: 0013
Revises: 0011
Create Date: 2026-11-23 15:10:00

The statement-level guard on `ledger_postings` (0001) ran three queries over
each INSERT's new legs: balance per transfer and currency, account and
currency of each leg, transfer and currency of each leg. It now makes the same
three checks in one pass (one join, one GROUP BY) and raises the same errors,
in the same order of precedence within a transfer.

Nothing reads postings by `transfer_id` through an index any more: a
statement line's counterparty is the transfer's other account (read from the
transfer), and reconciliation scans the whole table. Every posted transfer
wrote two entries into that index; it goes.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_ledger_postings_transfer_id", table_name="ledger_postings")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(ONE_PASS_GUARD)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(THREE_QUERY_GUARD)
    op.create_index("ix_ledger_postings_transfer_id", "ledger_postings", ["transfer_id"])


ONE_PASS_GUARD = """
CREATE OR REPLACE FUNCTION ledger_check_postings_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    -- Every statement's legs net to zero per transfer and currency (so the sum
    -- of all postings can never move away from zero), each leg's account exists
    -- and holds its currency, and each leg's transfer exists in that currency.
    SELECT n.transfer_id, n.currency,
           sum(n.amount_minor) <> 0 AS unbalanced,
           min(n.account_id) FILTER (WHERE a.id IS NULL OR a.currency <> n.currency)
               AS bad_account
      INTO bad
      FROM new_postings n
      LEFT JOIN ledger_accounts a ON a.id = n.account_id
      LEFT JOIN ledger_transfers t ON t.id = n.transfer_id
     GROUP BY n.transfer_id, n.currency
    HAVING sum(n.amount_minor) <> 0
        OR bool_or(a.id IS NULL OR a.currency <> n.currency
                   OR t.id IS NULL OR t.currency <> n.currency)
     LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    ELSIF bad.unbalanced THEN
        RAISE EXCEPTION 'ledger: transfer % does not balance in %', bad.transfer_id, bad.currency
            USING ERRCODE = 'check_violation';
    ELSIF bad.bad_account IS NOT NULL THEN
        RAISE EXCEPTION 'ledger: account % does not exist or does not hold %',
            bad.bad_account, bad.currency
            USING ERRCODE = 'check_violation';
    END IF;
    RAISE EXCEPTION 'ledger: posting for unknown transfer % or in another currency',
        bad.transfer_id
        USING ERRCODE = 'check_violation';
END $$
"""

# 0001's definition, restored on downgrade.
THREE_QUERY_GUARD = """
CREATE OR REPLACE FUNCTION ledger_check_postings_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT transfer_id, currency INTO bad
      FROM new_postings
     GROUP BY transfer_id, currency
    HAVING sum(amount_minor) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: transfer % does not balance in %', bad.transfer_id, bad.currency
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT n.account_id, n.currency INTO bad
      FROM new_postings n LEFT JOIN ledger_accounts a ON a.id = n.account_id
     WHERE a.id IS NULL OR a.currency <> n.currency
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: account % does not exist or does not hold %', bad.account_id, bad.currency
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT n.transfer_id INTO bad
      FROM new_postings n LEFT JOIN ledger_transfers t ON t.id = n.transfer_id
     WHERE t.id IS NULL OR t.currency <> n.currency
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: posting for unknown transfer % or in another currency', bad.transfer_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$
"""
