"""ledger: one query for the postings guard, and no index on postings by transfer

Revision ID: 0013
Revises: 0011
Create Date: 2026-11-23 15:10:00

The statement-level guard on `ledger_postings` (0001) ran three queries over
each INSERT's new legs: balance per transfer and currency, account and
currency of each leg, transfer and currency of each leg. It now makes the same
three checks in one pass (one GROUP BY) and raises the same errors, in the
same order of precedence within a transfer. Both guards now read accounts and
transfers by primary key per row: a join against the transition table was
planned as a scan of the whole table while statistics were stale (seen: a seq
scan of ledger_transfers for a 200-leg insert), and PL/pgSQL keeps the plan.

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
        op.execute(POSTINGS_GUARD)
        op.execute(NEW_TRANSFERS_GUARD)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(THREE_QUERY_POSTINGS_GUARD)
        op.execute(JOINED_NEW_TRANSFERS_GUARD)
    op.create_index("ix_ledger_postings_transfer_id", "ledger_postings", ["transfer_id"])


# Accounts and transfers are read by primary key per leg (scalar subqueries):
# joins against the transition table could be planned as a scan of the whole
# table while its statistics are stale, and PL/pgSQL keeps such a plan.
POSTINGS_GUARD = """
CREATE OR REPLACE FUNCTION ledger_check_postings_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    -- Every statement's legs net to zero per transfer and currency (so the sum
    -- of all postings can never move away from zero), each leg's account exists
    -- and holds its currency, and each leg's transfer exists in that currency.
    SELECT legs.transfer_id, legs.currency,
           sum(legs.amount_minor) <> 0 AS unbalanced,
           min(legs.account_id) FILTER (WHERE legs.account_currency IS DISTINCT FROM legs.currency)
               AS bad_account
      INTO bad
      FROM (SELECT n.transfer_id, n.currency, n.amount_minor, n.account_id,
                   (SELECT a.currency FROM ledger_accounts a WHERE a.id = n.account_id)
                       AS account_currency,
                   (SELECT t.currency FROM ledger_transfers t WHERE t.id = n.transfer_id)
                       AS transfer_currency
              FROM new_postings n
            OFFSET 0) AS legs  -- not pulled up: each leg's lookups run once
     GROUP BY legs.transfer_id, legs.currency
    HAVING sum(legs.amount_minor) <> 0
        OR bool_or(legs.account_currency IS DISTINCT FROM legs.currency
                   OR legs.transfer_currency IS DISTINCT FROM legs.currency)
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

NEW_TRANSFERS_GUARD = """
CREATE OR REPLACE FUNCTION ledger_check_new_transfers() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT t.id INTO bad
      FROM new_transfers t
     WHERE (SELECT d.currency FROM ledger_accounts d WHERE d.id = t.debit_account_id)
               IS DISTINCT FROM t.currency
        OR (SELECT c.currency FROM ledger_accounts c WHERE c.id = t.credit_account_id)
               IS DISTINCT FROM t.currency
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: transfer % names an unknown account or another currency', bad.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$
"""

# 0001's definition, restored on downgrade.
THREE_QUERY_POSTINGS_GUARD = """
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

# 0001's definition, restored on downgrade.
JOINED_NEW_TRANSFERS_GUARD = """
CREATE OR REPLACE FUNCTION ledger_check_new_transfers() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT t.id INTO bad
      FROM new_transfers t
      LEFT JOIN ledger_accounts d ON d.id = t.debit_account_id
      LEFT JOIN ledger_accounts c ON c.id = t.credit_account_id
     WHERE d.id IS NULL OR c.id IS NULL OR d.currency <> t.currency OR c.currency <> t.currency
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: transfer % names an unknown account or another currency', bad.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$
"""
