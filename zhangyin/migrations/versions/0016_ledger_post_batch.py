"""ledger: `ledger_post_batch` checks and writes a batch of transfers in one statement

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 19:50:00

`transfer_batch` in a unit of work locks the batch's accounts, sends the rows
back to Python, checks every transfer there, and writes with a second
statement: the locks are held across two more round trips, the client's
checks and the COMMIT. With 8 workers making batches of 100 transfers over
100,000 accounts, nearly every batch locks an account another batch holds,
so that time is spent waiting. This function does the same in the server:
lock (ascending id, as `_lock_accounts`), check each transfer in order against
the running totals (the refusals of `_Posting.post`, as `ledger_post_transfer`
makes them), and write what posts with one statement (as write_postgres.sql
does for new posted transfers). Called in autocommit, its locks last as long
as the server's work.

It returns one row per refused transfer (`item` counts from 1). A linked batch
stops at its first refusal and writes nothing.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POST_BATCH_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP FUNCTION ledger_post_batch(varchar[], bigint[], bigint[], varchar[], bigint[],"
            " varchar[], varchar, boolean, timestamptz)"
        )


# The checks run in the order of _Posting._check_pair and the floor checks of
# _Posting.post; the codes are those of zhangyin.ledger.errors, `subject` the
# account id (not found) or number, `available` what InsufficientFunds reports.
# The amount, a source equal to the destination and references are refused by
# the caller before it calls.
POST_BATCH_FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_post_batch(
    p_ids varchar[], p_debits bigint[], p_credits bigint[], p_currencies varchar[],
    p_amounts bigint[], p_memos varchar[], p_batch varchar, p_linked boolean, p_now timestamptz)
RETURNS TABLE (item integer, refusal text, subject text, available bigint)
LANGUAGE plpgsql AS $$
DECLARE
    -- The locked accounts, by ascending id, and their running totals.
    acct_id bigint[];
    acct_number varchar[];
    acct_currency varchar[];
    acct_status varchar[];
    acct_credit_normal boolean[];
    acct_floor boolean[];
    acct_overdraft bigint[];
    acct_dp bigint[];
    acct_cp bigint[];
    acct_dpend bigint[];
    acct_cpend bigint[];
    acct_touched boolean[];
    -- Where each transfer's debit and credit accounts are in acct_*, NULL if not found.
    debit_at integer[];
    credit_at integer[];
    -- The transfers that post, in order, and their legs' balances afterwards.
    posted integer[] := '{}';
    debit_after bigint[] := '{}';
    credit_after bigint[] := '{}';
    k integer;
    d integer;
    c integer;
    amt bigint;
    d_avail bigint;
    c_avail bigint;
    why text;
    who text;
    short bigint;
BEGIN
    -- The aggregates read the locked rows in one pass, so their elements line up; the
    -- order of the rows is the order of the locks and matters nowhere else.
    SELECT array_agg(a.id), array_agg(a.number), array_agg(a.currency), array_agg(a.status),
           array_agg(a.normal_side = 'credit'), array_agg(a.enforce_floor),
           array_agg(a.overdraft_limit_minor), array_agg(a.debits_posted_minor),
           array_agg(a.credits_posted_minor), array_agg(a.debits_pending_minor),
           array_agg(a.credits_pending_minor), array_agg(false)
      INTO acct_id, acct_number, acct_currency, acct_status, acct_credit_normal, acct_floor,
           acct_overdraft, acct_dp, acct_cp, acct_dpend, acct_cpend, acct_touched
      FROM (SELECT * FROM ledger_accounts WHERE id = ANY(p_debits || p_credits)
             ORDER BY id FOR UPDATE) AS a;
    -- One hash join, not a linear array_position per transfer and side.
    SELECT array_agg(d.pos ORDER BY x.n), array_agg(c.pos ORDER BY x.n)
      INTO debit_at, credit_at
      FROM unnest(p_debits, p_credits) WITH ORDINALITY AS x(debit, credit, n)
      LEFT JOIN unnest(acct_id) WITH ORDINALITY AS d(id, pos) ON d.id = x.debit
      LEFT JOIN unnest(acct_id) WITH ORDINALITY AS c(id, pos) ON c.id = x.credit;

    FOR k IN 1 .. coalesce(array_length(p_ids, 1), 0) LOOP
        amt := p_amounts[k];
        d := debit_at[k];
        c := credit_at[k];
        why := NULL;
        short := NULL;
        IF d IS NULL THEN
            why := 'account_not_found'; who := p_debits[k];
        ELSIF c IS NULL THEN
            why := 'account_not_found'; who := p_credits[k];
        ELSIF acct_currency[d] <> p_currencies[k] THEN
            why := 'currency_mismatch'; who := acct_number[d];
        ELSIF acct_currency[c] <> p_currencies[k] THEN
            why := 'currency_mismatch'; who := acct_number[c];
        ELSIF acct_status[d] = 'closed' THEN
            why := 'account_closed'; who := acct_number[d];
        ELSIF acct_status[d] IN ('frozen', 'fully_frozen') THEN
            why := 'account_frozen'; who := acct_number[d];
        ELSIF acct_status[c] = 'closed' THEN
            why := 'account_closed'; who := acct_number[c];
        ELSIF acct_status[c] = 'fully_frozen' THEN
            why := 'account_frozen'; who := acct_number[c];
        ELSE
            -- Available before the transfer, on each account's normal side.
            IF acct_credit_normal[d] THEN
                d_avail := acct_cp[d] - acct_dp[d] - acct_dpend[d];
            ELSE
                d_avail := acct_dp[d] - acct_cp[d] - acct_cpend[d];
            END IF;
            IF acct_credit_normal[c] THEN
                c_avail := acct_cp[c] - acct_dp[c] - acct_dpend[c];
            ELSE
                c_avail := acct_dp[c] - acct_cp[c] - acct_cpend[c];
            END IF;
            IF acct_floor[d] AND d_avail + (CASE WHEN acct_credit_normal[d] THEN -amt ELSE amt END)
                                 < -acct_overdraft[d] THEN
                why := 'insufficient_funds'; who := acct_number[d];
                short := d_avail + acct_overdraft[d];
            ELSIF acct_floor[c] AND c_avail + (CASE WHEN acct_credit_normal[c] THEN amt ELSE -amt END)
                                    < -acct_overdraft[c] THEN
                why := 'insufficient_funds'; who := acct_number[c];
                short := c_avail + acct_overdraft[c];
            END IF;
        END IF;

        IF why IS NOT NULL THEN
            item := k; refusal := why; subject := who; available := short;
            RETURN NEXT;
            IF p_linked THEN
                RETURN;  -- nothing has been written
            END IF;
        ELSE
            acct_dp[d] := acct_dp[d] + amt;
            acct_cp[c] := acct_cp[c] + amt;
            acct_touched[d] := true;
            acct_touched[c] := true;
            posted := posted || k;
            debit_after := debit_after || CASE WHEN acct_credit_normal[d]
                THEN acct_cp[d] - acct_dp[d] ELSE acct_dp[d] - acct_cp[d] END;
            credit_after := credit_after || CASE WHEN acct_credit_normal[c]
                THEN acct_cp[c] - acct_dp[c] ELSE acct_dp[c] - acct_cp[c] END;
        END IF;
    END LOOP;

    IF cardinality(posted) = 0 THEN
        RETURN;
    END IF;
    -- Every write in one statement, as write_postgres.sql makes them for new posted transfers.
    WITH t AS (
        SELECT p_ids[u.k] AS id, p_debits[u.k] AS debit, p_credits[u.k] AS credit,
               p_currencies[u.k] AS currency, p_amounts[u.k] AS amount, p_memos[u.k] AS memo,
               u.debit_balance, u.credit_balance, u.n
          FROM unnest(posted, debit_after, credit_after) WITH ORDINALITY
            AS u(k, debit_balance, credit_balance, n)
    ), new_transfers AS (
        INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, currency,
            amount_minor, posted_amount_minor, status, batch_id, reference, reverses_id, memo,
            expires_at, created_at, resolved_at)
        SELECT t.id, t.debit, t.credit, t.currency, t.amount, t.amount, 'posted', p_batch, NULL,
               NULL, t.memo, NULL, p_now, p_now
          FROM t
    ), legs AS (
        INSERT INTO ledger_postings (transfer_id, account_id, currency, amount_minor,
            balance_after_minor, created_at)
        SELECT t.id, leg.account_id, t.currency, leg.amount, leg.balance, p_now
          FROM t
         CROSS JOIN LATERAL (VALUES (0, t.debit, t.amount, t.debit_balance),
                                    (1, t.credit, -t.amount, t.credit_balance))
            AS leg(side, account_id, amount, balance)
         -- posting ids in the order the legs happened: running balances stay in order
         ORDER BY t.n, leg.side
    ), balances AS (
        UPDATE ledger_accounts
           SET debits_posted_minor = v.dp, credits_posted_minor = v.cp, updated_at = p_now
          FROM unnest(acct_id, acct_dp, acct_cp, acct_touched) AS v(id, dp, cp, touched)
         WHERE v.touched AND ledger_accounts.id = v.id AND ledger_accounts.id = ANY(acct_id)
    )
    -- The payload _event_row builds, key for key.
    INSERT INTO outbox_events (event_type, aggregate_type, aggregate_id, payload, created_at,
        attempts)
    SELECT 'ledger.transfer.posted', 'ledger_transfer', t.id,
           json_build_object('transfer_id', t.id, 'debit_account_id', t.debit,
               'credit_account_id', t.credit, 'currency', t.currency, 'amount_minor', t.amount,
               'posted_amount_minor', t.amount, 'status', 'posted', 'reference', NULL,
               'reverses_id', NULL),
           p_now, 0
      FROM t
     ORDER BY t.n;
END $$
"""
