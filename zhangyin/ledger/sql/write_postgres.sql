-- PostgreSQL write of one ledger unit of work (see _Posting._write_postgres).
-- Every part reads its rows from arrays, so the text and parameters never change.
WITH new_transfers AS (
    INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, currency, amount_minor,
        posted_amount_minor, status, batch_id, reference, reverses_id, memo, expires_at,
        created_at, resolved_at)
    SELECT v.id, v.debit, v.credit, v.currency, v.amount, v.posted, v.status, v.batch,
           v.reference, v.reverses, v.memo, v.expires, :now,
           CASE WHEN v.status = 'pending' THEN NULL ELSE CAST(:now AS timestamptz) END
      FROM unnest(CAST(:t_id AS varchar[]), CAST(:t_debit AS bigint[]), CAST(:t_credit AS bigint[]),
                  CAST(:t_currency AS varchar[]), CAST(:t_amount AS bigint[]),
                  CAST(:t_posted AS bigint[]), CAST(:t_status AS varchar[]),
                  CAST(:t_batch AS varchar[]), CAST(:t_reference AS varchar[]),
                  CAST(:t_reverses AS varchar[]), CAST(:t_memo AS varchar[]),
                  CAST(:t_expires AS timestamptz[]))
        AS v(id, debit, credit, currency, amount, posted, status, batch, reference, reverses,
             memo, expires)
), resolved AS (
    UPDATE ledger_transfers SET status = v.status, posted_amount_minor = v.posted, resolved_at = :now
      FROM unnest(CAST(:u_id AS varchar[]), CAST(:u_status AS varchar[]), CAST(:u_posted AS bigint[]))
        AS v(id, status, posted)
     WHERE ledger_transfers.id = v.id AND ledger_transfers.id = ANY(CAST(:u_id AS varchar[]))
), new_postings AS (
    INSERT INTO ledger_postings (transfer_id, account_id, currency, amount_minor, balance_after_minor,
        created_at)
    SELECT v.transfer_id, v.account_id, v.currency, v.amount, v.balance, :now
      FROM unnest(CAST(:p_transfer AS varchar[]), CAST(:p_account AS bigint[]),
                  CAST(:p_currency AS varchar[]), CAST(:p_amount AS bigint[]),
                  CAST(:p_balance AS bigint[]))
        AS v(transfer_id, account_id, currency, amount, balance)
), balances AS (
    UPDATE ledger_accounts
       SET debits_posted_minor = v.dp, credits_posted_minor = v.cp,
           debits_pending_minor = v.dpend, credits_pending_minor = v.cpend, updated_at = :now
      FROM unnest(CAST(:a_id AS bigint[]), CAST(:a_dp AS bigint[]), CAST(:a_cp AS bigint[]),
                  CAST(:a_dpend AS bigint[]), CAST(:a_cpend AS bigint[]))
        AS v(id, dp, cp, dpend, cpend)
     WHERE ledger_accounts.id = v.id AND ledger_accounts.id = ANY(CAST(:a_id AS bigint[]))
)
INSERT INTO outbox_events (event_type, aggregate_type, aggregate_id, payload, created_at, attempts)
SELECT v.event_type, 'ledger_transfer', v.aggregate_id, CAST(v.payload AS json), :now, 0
  FROM unnest(CAST(:e_type AS varchar[]), CAST(:e_aggregate AS varchar[]), CAST(:e_payload AS text[]))
    AS v(event_type, aggregate_id, payload)
