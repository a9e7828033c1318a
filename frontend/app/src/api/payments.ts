/** Payments: accounts, transactions, transfers, limits, payees, billers, QR, cardless cash. */
import type { StepUpProof } from '@/lib/stepUp'
import { api } from './http'

export interface Account {
  id: number
  number: string
  masked_number: string
  name: string
  kind: string
  currency: string
  status: string
  balance: string
  available_balance: string
}

export interface AccountTransaction {
  transfer_id: string
  direction: 'in' | 'out'
  amount: string
  currency: string
  balance_after: string
  counterparty: string
  memo: string
  created_at: string
}

export type TransferStatus =
  | 'completed'
  | 'pending_challenge'
  | 'delayed'
  | 'held_for_review'
  | 'processing'
  | 'returned'
  | 'rejected'
  | 'cancelled'

export type Arrival = 'instant' | '2h' | '24h'

/** A fraud report (举报诈骗) on a transfer: `reviewing` until the bank's analyst decides. */
export interface FraudReport {
  transfer_id: string
  report_id: string
  status: 'reviewing' | 'confirmed' | 'dismissed'
  description: string
  reported_at: string
}

export interface Transfer {
  id: string
  kind: string
  status: TransferStatus
  from_account_id: number
  to_account_number: string
  to_name: string
  to_bank_code: string | null
  to_bank_name: string | null
  amount: string
  currency: string
  memo: string
  arrival: Arrival
  reason: string | null
  challenge_id: string | null
  challenge_methods: string[]
  /** WebAuthn request options, only on the reply that challenged and only for passkey holders. */
  challenge_passkey_options?: Record<string, unknown> | null
  due_at: string | null
  created_at: string
  completed_at: string | null
  timeline: { status: string; detail: string; at: string }[]
}

export interface TransferDraft {
  from_account_id: number
  to_account_number: string
  to_name: string
  amount: string
  currency: 'CNY'
  memo?: string
  arrival?: Arrival
  to_bank_code?: string
}

export interface Limits {
  currency: string
  per_transaction: string
  daily_amount: string
  daily_count: number
  default_per_transaction: string
  default_daily_amount: string
  default_daily_count: number
  used_today: string
  remaining_today: string
  count_today: number
  default_arrival: Arrival
}

export interface Payee {
  id: string
  account_number: string
  masked_account_number: string
  name: string
  bank_code: string
  bank_name: string
  nickname: string | null
}

export interface RecentPayee {
  account_number: string
  masked_account_number: string
  name: string
  bank_code: string
  last_paid_at: string
}

export interface Bank {
  code: string
  name: string
  name_en: string
}

export interface Biller {
  id: string
  category: string
  name: string
  name_en: string
  account_label: string
  account_pattern: string
  fixed_amounts: string[]
}

export interface Bill {
  biller_id: string
  bill_account: string
  holder_name: string
  period: string
  amount: string
  currency: string
}

export interface BillPayment {
  id: string
  biller_id: string
  bill_account: string
  amount: string
  currency: string
  transfer: Transfer
  created_at: string
}

export interface QrCode {
  id: string
  payload: string
  svg_data_uri: string
  amount: string | null
  currency: string
  expires_at: string | null
}

export interface QrDecoded {
  payee_name: string
  masked_account_number: string
  amount: string | null
  currency: string
  expires_at: string | null
}

export interface SavedBillAccount {
  id: string
  biller_id: string
  bill_account: string
  nickname: string | null
}

export interface Cardless {
  id: string
  account_id: number
  amount: string
  currency: string
  status: string
  expires_at: string
  created_at: string
  code: string | null
}

export const payments = {
  accounts: () => api.get<Account[]>('/v1/accounts'),
  account: (id: number) => api.get<Account>(`/v1/accounts/${id}`),
  transactions: (id: number, cursor?: string | null) =>
    api.get<{ account_id: number; transactions: AccountTransaction[]; next_cursor: string | null }>(
      `/v1/accounts/${id}/transactions`,
      { cursor, limit: 20 },
    ),
  createTransfer: (draft: TransferDraft, idempotencyKey: string) =>
    api.post<Transfer>('/v1/transfers', draft, idempotencyKey),
  confirmTransfer: (id: string, challengeId: string, proof: StepUpProof, idempotencyKey: string) =>
    api.post<Transfer>(
      `/v1/transfers/${id}/confirm`,
      { challenge_id: challengeId, ...proof },
      idempotencyKey,
    ),
  cancelTransfer: (id: string, idempotencyKey: string) =>
    api.post<Transfer>(`/v1/transfers/${id}/cancel`, {}, idempotencyKey),
  reportFraud: (id: string, description: string, idempotencyKey: string) =>
    api.post<FraudReport>(`/v1/transfers/${id}/report-fraud`, { description }, idempotencyKey),
  transfer: (id: string) => api.get<Transfer>(`/v1/transfers/${id}`),
  transfers: (cursor?: string | null) =>
    api.get<{ transfers: Transfer[]; next_cursor: string | null }>('/v1/transfers', {
      cursor,
      limit: 20,
    }),
  limits: () => api.get<Limits>('/v1/transfer-limits'),
  setDefaultArrival: (arrival: Arrival) =>
    api.put<Limits>('/v1/transfer-settings', { default_arrival: arrival }),
  setLimits: (body: { per_transaction?: string; daily_amount?: string }) =>
    api.put<unknown>('/v1/me/limits', body),
  banks: () => api.get<Bank[]>('/v1/banks'),
  payees: () => api.get<{ saved: Payee[]; recent: RecentPayee[] }>('/v1/payees'),
  addPayee: (
    body: { account_number: string; name: string; bank_code?: string; nickname?: string },
    idempotencyKey: string,
  ) => api.post<Payee>('/v1/payees', body, idempotencyKey),
  deletePayee: (id: string) => api.delete<void>(`/v1/payees/${id}`),
  billers: () => api.get<Biller[]>('/v1/billers'),
  bills: (billerId: string, account: string) =>
    api.get<{ biller_id: string; bill_account: string; bills: Bill[] }>(
      `/v1/billers/${billerId}/bills`,
      { account },
    ),
  billAccounts: () => api.get<SavedBillAccount[]>('/v1/bill-accounts'),
  payBill: (
    body: {
      biller_id: string
      bill_account: string
      from_account_id: number
      amount?: string
      save_account?: boolean
    },
    idempotencyKey: string,
  ) => api.post<BillPayment>('/v1/bill-payments', { currency: 'CNY', ...body }, idempotencyKey),
  createQr: (
    body: { account_id: number; amount?: string; expires_in_seconds?: number },
    key: string,
  ) => api.post<QrCode>('/v1/qr-codes', body, key),
  decodeQr: (payload: string) => api.post<QrDecoded>('/v1/qr-codes/decode', { payload }),
  payQr: (body: { payload: string; from_account_id: number; amount?: string }, key: string) =>
    api.post<Transfer>('/v1/qr-payments', body, key),
  createCardless: (
    body: { account_id: number; amount: string; expires_in_minutes?: number },
    key: string,
  ) => api.post<Cardless>('/v1/cardless-withdrawals', body, key),
  cardless: () => api.get<Cardless[]>('/v1/cardless-withdrawals'),
  cancelCardless: (id: string, key: string) =>
    api.post<Cardless>(`/v1/cardless-withdrawals/${id}/cancel`, {}, key),
  devDeposit: (accountNumber: string, amount: string, key: string) =>
    api.post<unknown>('/v1/dev/deposits', { account_number: accountNumber, amount }, key),
}
