/**
 * Money on the console's screens. The API sends integer minor units plus an ISO 4217
 * currency (`balance_minor`, `amount_minor`) or a decimal string ("1234.50"); this is the
 * one place that turns either into "¥1,234.56" / "1,234.56 USD". Integer arithmetic only:
 * never floats, so a balance of 10^15 fen shows to the fen.
 */

/** Minor-unit exponents: the same table as the back end's zhangyin/money.py. */
const EXPONENTS: Record<string, number> = {
  CNY: 2,
  HKD: 2,
  MOP: 2,
  USD: 2,
  EUR: 2,
  GBP: 2,
  JPY: 0,
  KRW: 0,
  SGD: 2,
  AUD: 2,
  CAD: 2,
  CHF: 2,
}

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/

function grouped(digits: string): string {
  return digits.replace(/^0+(?=\d)/, '').replace(/\B(?=(\d{3})+(?!\d))/g, ',')
}

function shown(negative: boolean, whole: string, fraction: string, currency: string): string {
  const number = grouped(whole) + (fraction ? `.${fraction}` : '')
  const sign = negative ? '-' : ''
  return currency === 'CNY' ? `${sign}¥${number}` : `${sign}${number} ${currency}`
}

/** 123456, "CNY" → "¥1,234.56"; 1234, "JPY" → "1,234 JPY". Unknown currencies show as sent. */
export function formatMinor(minor: number, currency: string): string {
  const exponent = EXPONENTS[currency]
  if (exponent === undefined || !Number.isSafeInteger(minor)) return `${minor} ${currency}`
  const digits = String(Math.abs(minor)).padStart(exponent + 1, '0')
  const split = digits.length - exponent
  return shown(minor < 0, digits.slice(0, split), digits.slice(split), currency)
}

/** "1234.5", "CNY" → "¥1,234.50": a decimal amount with the currency's decimals. */
export function formatDecimal(amount: string, currency: string): string {
  const exponent = EXPONENTS[currency]
  const parts = DECIMAL.exec(amount.trim())
  if (exponent === undefined || parts === null) return `${amount} ${currency}`
  const [, sign, whole, fraction = ''] = parts
  if (fraction.length > exponent) return `${amount} ${currency}`
  return shown(sign === '-', whole, fraction.padEnd(exponent, '0'), currency)
}
