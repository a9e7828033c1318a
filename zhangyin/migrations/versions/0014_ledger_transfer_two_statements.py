"""ledger: `ledger_post_transfer` locks with one statement and writes with one

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 16:50:00

0011's function locked the two accounts with two SELECTs and wrote with five
statements (transfer, legs, two balance UPDATEs, outbox event). Every statement
that writes a table starts an executor and prepares that table's check
constraints again (PostgreSQL parses each constraint's stored expression per
statement; ledger_accounts has 7.5 kB of it): in a profile of one-transfer
transactions, preparing constraints was 15 % of the server's CPU and
evaluating them 0.6 %. Now one SELECT locks both rows (ascending id, as
before) and one statement writes everything. The refusals, rows, balances and
event are the same, and the guard triggers check the same rows.
"""

from collections.abc import Sequence

from alembic import op

from zhangyin.migrations.earlier import definition

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POST_TRANSFER_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        old = definition("0011_ledger_speed.py", "POST_TRANSFER_FUNCTION")
        op.execute(old.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))


# Refusals as in 0011 (codes of zhangyin.ledger.errors, `subject` the account id
# or number, `available` what InsufficientFunds reports).
POST_TRANSFER_FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_post_transfer(
    p_id varchar, p_debit bigint, p_credit bigint, p_currency varchar, p_amount bigint,
    p_reference varchar, p_memo varchar, p_now timestamptz,
    OUT refusal text, OUT subject text, OUT available bigint)
LANGUAGE plpgsql AS $$
DECLARE
    d ledger_accounts%ROWTYPE;
    c ledger_accounts%ROWTYPE;
    a ledger_accounts%ROWTYPE;
    d_avail bigint;
    c_avail bigint;
    d_balance bigint;
    c_balance bigint;
BEGIN
    -- Both rows locked by one statement in ascending id order, as _lock_accounts
    -- takes them: two transfers can wait, never deadlock.
    FOR a IN SELECT * FROM ledger_accounts WHERE id IN (p_debit, p_credit) ORDER BY id FOR UPDATE
    LOOP
        IF a.id = p_debit THEN d := a; ELSE c := a; END IF;
    END LOOP;
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

    -- Every write in one statement: the server starts one executor (and prepares
    -- each table's check constraints once), and the guards still see all of it.
    WITH new_transfer AS (
        INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, currency,
            amount_minor, posted_amount_minor, status, batch_id, reference, reverses_id, memo,
            expires_at, created_at, resolved_at)
        VALUES (p_id, p_debit, p_credit, p_currency, p_amount, p_amount, 'posted', NULL,
            p_reference, NULL, p_memo, NULL, p_now, p_now)
    ), legs AS (
        INSERT INTO ledger_postings (transfer_id, account_id, currency, amount_minor,
            balance_after_minor, created_at)
        VALUES (p_id, p_debit, p_currency, p_amount, d_balance, p_now),
               (p_id, p_credit, p_currency, -p_amount, c_balance, p_now)
    ), balances AS (
        UPDATE ledger_accounts
           SET debits_posted_minor = debits_posted_minor
                   + CASE WHEN id = p_debit THEN p_amount ELSE 0 END,
               credits_posted_minor = credits_posted_minor
                   + CASE WHEN id = p_credit THEN p_amount ELSE 0 END,
               updated_at = p_now
         WHERE id IN (p_debit, p_credit)
    )
    -- The payload _event_row builds, key for key.
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
