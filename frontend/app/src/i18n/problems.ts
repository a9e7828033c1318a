/**
 * An API problem shown to a customer: the words come from the app's own catalogue
 * for the problem's `code` (falling back to the server's translated `detail`), and
 * the message is placed next to the field that caused it.
 */
import { ApiError, OfflineError } from '@/api/http'

/** Which form field a problem code belongs to. */
export const FIELD_OF_CODE: Record<string, string> = {
  invalid_phone: 'phone',
  login_failed: 'password',
  weak_password: 'password',
  code_invalid: 'sms_code',
  second_factor_failed: 'sms_code',
  step_up_invalid: 'sms_code',
  invalid_id_number: 'id_number',
  age_not_eligible: 'id_number',
  payee_name_mismatch: 'to_name',
  payee_account_unknown: 'to_account_number',
  same_account: 'to_account_number',
  unknown_bank: 'to_bank_code',
  limit_exceeded: 'amount',
  daily_count_exceeded: 'amount',
  insufficient_funds: 'amount',
  invalid_amount: 'amount',
  amount_not_positive: 'amount',
  amount_precision: 'amount',
  amount_too_large: 'amount',
  bill_amount_not_allowed: 'amount',
  bill_account_invalid: 'bill_account',
  no_bill_due: 'bill_account',
}

export interface ShownProblem {
  field: string | null
  message: string
}

type Translate = (key: string, values?: Record<string, unknown>) => string
type Has = (key: string) => boolean

export function describeProblem(error: unknown, t: Translate, te: Has): ShownProblem {
  if (error instanceof OfflineError) return { field: null, message: t('errors.offline') }
  if (!(error instanceof ApiError)) return { field: null, message: t('errors.generic') }
  const { code, problem } = error
  let field: string | null = FIELD_OF_CODE[code] ?? null
  if (code === 'validation_error' && problem.errors?.length) {
    field = problem.errors[0].field.split('.').pop() ?? null
  }
  // Limit problems carry their figures; the server's detail already says them in the
  // customer's language, which beats a generic line.
  if (code === 'limit_exceeded' && problem.detail) return { field, message: problem.detail }
  const key = `errors.${code}`
  const message = te(key) ? t(key) : problem.detail || t('errors.generic')
  return { field, message }
}
