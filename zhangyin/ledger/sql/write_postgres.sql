-- PostgreSQL write of one ledger unit of work (see _Posting._write_postgres).
-- Every part reads its rows from arrays, so the text and parameters never change.
-- Placeholders are psycopg's binary ones (percent, name, b), filled by zhangyin.pgarrays:
-- dumping arrays as text costs a regular expression per element on the client.
-- The outbox event of each new transfer is built here from its row (the payload
-- _event_row builds); events of resolved holds arrive ready-made in e_*.
WITH t AS (
    SELECT *
      FROM unnest(CAST(%(t_id)b AS varchar[]), CAST(%(t_debit)b AS bigint[]), CAST(%(t_credit)b AS bigint[]),
                  CAST(%(t_currency)b AS varchar[]), CAST(%(t_amount)b AS bigint[]),
                  CAST(%(t_posted)b AS bigint[]), CAST(%(t_status)b AS varchar[]),
                  CAST(%(t_batch)b AS varchar[]), CAST(%(t_reference)b AS varchar[]),
                  CAST(%(t_reverses)b AS varchar[]), CAST(%(t_memo)b AS varchar[]),
                  CAST(%(t_expires)b AS timestamptz[]), CAST(%(t_debit_balance)b AS bigint[]),
                  CAST(%(t_credit_balance)b AS bigint[])) WITH ORDINALITY
        AS v(id, debit, credit, currency, amount, posted, status, batch, reference, reverses,
             memo, expires, debit_balance, credit_balance, n)
), new_transfers AS (
    INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, currency, amount_minor,
        posted_amount_minor, status, batch_id, reference, reverses_id, memo, expires_at,
        created_at, resolved_at)
    SELECT v.id, v.debit, v.credit, v.currency, v.amount, v.posted, v.status, v.batch,
           v.reference, v.reverses, v.memo, v.expires, %(now)b,
           CASE WHEN v.status = 'pending' THEN NULL ELSE CAST(%(now)b AS timestamptz) END
      FROM t AS v
), resolved AS (
    UPDATE ledger_transfers SET status = v.status, posted_amount_minor = v.posted, resolved_at = %(now)b
      FROM unnest(CAST(%(u_id)b AS varchar[]), CAST(%(u_status)b AS varchar[]), CAST(%(u_posted)b AS bigint[]))
        AS v(id, status, posted)
     WHERE ledger_transfers.id = v.id AND ledger_transfers.id = ANY(CAST(%(u_id)b AS varchar[]))
), new_postings AS (
    INSERT INTO ledger_postings (transfer_id, account_id, currency, amount_minor, balance_after_minor,
        created_at)
    SELECT l.transfer_id, l.account_id, l.currency, l.amount, l.balance, %(now)b
      FROM (
            -- the two legs of each new posted transfer, from its row and its legs' balances
            SELECT 0 AS part, v.n, leg.side, v.id AS transfer_id, leg.account_id, v.currency,
                   leg.amount, leg.balance
              FROM t AS v
             CROSS JOIN LATERAL (VALUES (0, v.debit, v.posted, v.debit_balance),
                                        (1, v.credit, -v.posted, v.credit_balance))
                AS leg(side, account_id, amount, balance)
             WHERE v.status = 'posted'
            UNION ALL
            -- legs of posted holds, as given
            SELECT 1, p.n, 0, p.transfer_id, p.account_id, p.currency, p.amount, p.balance
              FROM unnest(CAST(%(p_transfer)b AS varchar[]), CAST(%(p_account)b AS bigint[]),
                          CAST(%(p_currency)b AS varchar[]), CAST(%(p_amount)b AS bigint[]),
                          CAST(%(p_balance)b AS bigint[])) WITH ORDINALITY
                AS p(transfer_id, account_id, currency, amount, balance, n)
           ) AS l
     -- posting ids in the order the legs happened: running balances stay in order
     ORDER BY l.part, l.n, l.side
), balances AS (
    UPDATE ledger_accounts
       SET debits_posted_minor = v.dp, credits_posted_minor = v.cp,
           debits_pending_minor = v.dpend, credits_pending_minor = v.cpend, updated_at = %(now)b
      FROM unnest(CAST(%(a_id)b AS bigint[]), CAST(%(a_dp)b AS bigint[]), CAST(%(a_cp)b AS bigint[]),
                  CAST(%(a_dpend)b AS bigint[]), CAST(%(a_cpend)b AS bigint[]))
        AS v(id, dp, cp, dpend, cpend)
     WHERE ledger_accounts.id = v.id AND ledger_accounts.id = ANY(CAST(%(a_id)b AS bigint[]))
)
INSERT INTO outbox_events (event_type, aggregate_type, aggregate_id, payload, created_at, attempts)
SELECT 'ledger.transfer.' || v.status, 'ledger_transfer', v.id,
       json_build_object('transfer_id', v.id, 'debit_account_id', v.debit,
           'credit_account_id', v.credit, 'currency', v.currency, 'amount_minor', v.amount,
           'posted_amount_minor', v.posted, 'status', v.status, 'reference', v.reference,
           'reverses_id', v.reverses),
       %(now)b, 0
  FROM t AS v
UNION ALL
SELECT v.event_type, 'ledger_transfer', v.aggregate_id, CAST(v.payload AS json), %(now)b, 0
  FROM unnest(CAST(%(e_type)b AS varchar[]), CAST(%(e_aggregate)b AS varchar[]), CAST(%(e_payload)b AS text[]))
    AS v(event_type, aggregate_id, payload)
