"""ledger: the postings guard reads each transfer once, and an account keeps its currency

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 17:10:00

0013's guard on `ledger_postings` read, for every new leg, its account and its
transfer by primary key: four reads per posted transfer, 16 of a batch
transfer's ~90 µs of server CPU. It now groups the legs by transfer and
currency first and reads each transfer once. The checks are the same or
stricter:

- the legs of a transfer net to zero in each currency (unchanged);
- the transfer exists, in the legs' currency (unchanged);
- every leg is on the transfer's debit or credit account (new: before, a leg
  could sit on any account of the right currency). Those two accounts were
  checked to exist and hold the transfer's currency when the transfer was
  written (`ledger_check_new_transfers`), and an account's currency can no
  longer change (the new trigger below), so each leg's account still exists
  and holds the leg's currency.
"""

from collections.abc import Sequence

from alembic import op

from zhangyin.migrations.earlier import definition

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTINGS_GUARD)
        op.execute(CURRENCY_FIXED_FUNCTION)
        op.execute(CURRENCY_FIXED_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_accounts_currency_fixed ON ledger_accounts")
        op.execute("DROP FUNCTION IF EXISTS ledger_refuse_currency_change()")
        op.execute(definition("0013_ledger_lighter_writes.py", "POSTINGS_GUARD"))


# Each transfer is read by primary key in a scalar subquery (not a join, which
# stale statistics could plan as a scan of the whole table; see 0013).
POSTINGS_GUARD = """
CREATE OR REPLACE FUNCTION ledger_check_postings_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT legs.transfer_id, legs.currency, legs.net <> 0 AS unbalanced,
           (legs.t).currency IS DISTINCT FROM legs.currency AS unknown_transfer,
           (SELECT min(x) FROM unnest(legs.accounts) AS x
             WHERE x NOT IN ((legs.t).debit_account_id, (legs.t).credit_account_id))
               AS stray_account
      INTO bad
      FROM (SELECT g.*,
                   (SELECT t FROM ledger_transfers t WHERE t.id = g.transfer_id) AS t
              FROM (SELECT n.transfer_id, n.currency, sum(n.amount_minor) AS net,
                           array_agg(n.account_id) AS accounts
                      FROM new_postings n
                     GROUP BY n.transfer_id, n.currency) AS g
            OFFSET 0) AS legs  -- not pulled up: each transfer is read once
     WHERE legs.net <> 0
        OR (legs.t).currency IS DISTINCT FROM legs.currency
        OR NOT legs.accounts <@ ARRAY[(legs.t).debit_account_id, (legs.t).credit_account_id]
     LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    ELSIF bad.unbalanced THEN
        RAISE EXCEPTION 'ledger: transfer % does not balance in %', bad.transfer_id, bad.currency
            USING ERRCODE = 'check_violation';
    ELSIF bad.unknown_transfer THEN
        RAISE EXCEPTION 'ledger: posting for unknown transfer % or in another currency',
            bad.transfer_id
            USING ERRCODE = 'check_violation';
    END IF;
    RAISE EXCEPTION 'ledger: account % is not the debit or credit account of transfer %',
        bad.stray_account, bad.transfer_id
        USING ERRCODE = 'check_violation';
END $$
"""

CURRENCY_FIXED_FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_refuse_currency_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: account % cannot change its currency', OLD.id
        USING ERRCODE = 'check_violation';
END $$
"""

# UPDATE OF currency: the trigger is not even considered for balance updates.
CURRENCY_FIXED_TRIGGER = """
CREATE TRIGGER ledger_accounts_currency_fixed BEFORE UPDATE OF currency ON ledger_accounts
    FOR EACH ROW WHEN (NEW.currency IS DISTINCT FROM OLD.currency)
    EXECUTE FUNCTION ledger_refuse_currency_change()
"""
