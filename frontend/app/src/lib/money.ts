/**
 * Money at the edge of the app: decimal strings ("1234.50") as the API sends them,
 * integer minor units (fen) for comparisons, never floats.
 */

const DIGITS = '零壹贰叁肆伍陆柒捌玖'
const SMALL_UNITS = ['', '拾', '佰', '仟']
const BIG_UNITS = ['', '万', '亿', '万亿']
export const MAX_INTEGER_DIGITS = 12

const AMOUNT_PATTERN = /^\d{1,16}(\.\d{1,2})?$/

export function isAmount(value: string): boolean {
  return AMOUNT_PATTERN.test(value)
}

/** "1234.5" → 123450 (fen). Throws on anything that is not a plain decimal amount. */
export function toMinor(amount: string): number {
  if (!isAmount(amount)) throw new Error(`not an amount: ${amount}`)
  const [yuan, fraction = ''] = amount.split('.')
  return Number(yuan) * 100 + Number((fraction + '00').slice(0, 2))
}

/** 123450 → "1234.50" */
export function fromMinor(minor: number): string {
  const sign = minor < 0 ? '-' : ''
  const abs = Math.abs(minor)
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`
}

/** "1234567.5" → "1,234,567.50" (grouping for display; the value is untouched). */
export function formatAmount(amount: string): string {
  const negative = amount.startsWith('-')
  const plain = negative ? amount.slice(1) : amount
  const [yuan, fraction = ''] = plain.split('.')
  const grouped = yuan.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  return `${negative ? '-' : ''}${grouped}.${(fraction + '00').slice(0, 2)}`
}

/**
 * What the amount field keeps of what was typed: digits and one decimal point,
 * at most two decimals, no leading zeros, at most MAX_INTEGER_DIGITS before the point.
 */
export function sanitizeAmountInput(raw: string): string {
  let text = raw.replace(/[．。]/g, '.').replace(/[^\d.]/g, '')
  const dot = text.indexOf('.')
  if (dot >= 0) text = text.slice(0, dot + 1) + text.slice(dot + 1).replace(/\./g, '')
  const [rawYuan, fraction] = text.split('.') as [string, string | undefined]
  let yuan = rawYuan.replace(/^0+(?=\d)/, '')
  if (yuan === '' && fraction !== undefined) yuan = '0'
  yuan = yuan.slice(0, MAX_INTEGER_DIGITS)
  if (fraction === undefined) return yuan
  return `${yuan}.${fraction.slice(0, 2)}`
}

function integerInWords(yuan: string): string {
  let out = ''
  let zeroPending = false
  let groupHasValue = false
  const length = yuan.length
  for (let index = 0; index < length; index++) {
    const position = length - 1 - index
    const digit = Number(yuan[index])
    if (digit === 0) {
      if (out !== '') zeroPending = true
    } else {
      if (zeroPending) out += '零'
      zeroPending = false
      out += DIGITS[digit] + SMALL_UNITS[position % 4]
      groupHasValue = true
    }
    if (position % 4 === 0 && position > 0 && groupHasValue) {
      out += BIG_UNITS[position / 4]
      groupHasValue = false
      zeroPending = false
    }
  }
  return out
}

/**
 * The amount in Chinese capital numerals, as written on a cheque or a bank's
 * confirm screen (中文大写金额): 1234.50 → 壹仟贰佰叁拾肆元伍角整, 100 → 壹佰元整,
 * 0.05 → 伍分, 1001.05 → 壹仟零壹元零伍分.
 */
export function amountInWords(amount: string): string {
  if (!isAmount(amount)) return ''
  const [rawYuan, fraction = ''] = amount.split('.')
  const yuan = rawYuan.replace(/^0+(?=\d)/, '')
  const jiao = Number((fraction + '00')[0])
  const fen = Number((fraction + '00')[1])
  const hasYuan = yuan !== '0'
  const prefix = hasYuan ? integerInWords(yuan) + '元' : ''
  if (jiao === 0 && fen === 0) return (hasYuan ? prefix : '零元') + '整'
  if (fen === 0) return `${prefix}${DIGITS[jiao]}角整`
  if (jiao === 0) return `${prefix}${hasYuan ? '零' : ''}${DIGITS[fen]}分`
  return `${prefix}${DIGITS[jiao]}角${DIGITS[fen]}分`
}

export interface TransferLimits {
  per_transaction: string
  daily_amount: string
  daily_count: number
  remaining_today: string
  count_today: number
}

export type LimitProblem = 'per_transaction' | 'daily_amount' | 'daily_count' | null

/** Which limit an amount would hit, so the app can say so before the customer submits. */
export function limitProblem(amount: string, limits: TransferLimits | null): LimitProblem {
  if (!limits) return null
  if (limits.count_today >= limits.daily_count) return 'daily_count'
  if (!isAmount(amount)) return null
  const minor = toMinor(amount)
  if (minor > toMinor(limits.per_transaction)) return 'per_transaction'
  if (minor > toMinor(limits.remaining_today)) return 'daily_amount'
  return null
}

/** "50000.00" → "5万" / "50,000" for the short limit line. */
export function shortAmount(amount: string, language: string): string {
  const minor = toMinor(amount)
  if (language.startsWith('zh') && minor >= 1_000_000 && minor % 100_000 === 0) {
    return `${minor / 1_000_000}万`
  }
  const text = formatAmount(amount)
  return text.endsWith('.00') ? text.slice(0, -3) : text
}
