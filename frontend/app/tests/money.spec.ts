import { describe, expect, it } from 'vitest'
import {
  amountInWords,
  formatAmount,
  fromMinor,
  limitProblem,
  sanitizeAmountInput,
  shortAmount,
  toMinor,
  type TransferLimits,
} from '@/lib/money'

describe('amountInWords (中文大写金额)', () => {
  it.each([
    ['1234.50', '壹仟贰佰叁拾肆元伍角整'],
    ['100', '壹佰元整'],
    ['100.00', '壹佰元整'],
    ['0.05', '伍分'],
    ['0.50', '伍角整'],
    ['0.56', '伍角陆分'],
    ['0', '零元整'],
    ['10', '壹拾元整'],
    ['1001', '壹仟零壹元整'],
    ['1010.05', '壹仟零壹拾元零伍分'],
    ['1234.56', '壹仟贰佰叁拾肆元伍角陆分'],
    ['10000', '壹万元整'],
    ['100010', '壹拾万零壹拾元整'],
    ['10001000', '壹仟万壹仟元整'],
    ['100000100', '壹亿零壹佰元整'],
    ['50000', '伍万元整'],
    ['123456789.12', '壹亿贰仟叁佰肆拾伍万陆仟柒佰捌拾玖元壹角贰分'],
  ])('%s → %s', (amount, words) => {
    expect(amountInWords(amount)).toBe(words)
  })

  it('says nothing for what is not an amount', () => {
    expect(amountInWords('')).toBe('')
    expect(amountInWords('12.345')).toBe('')
    expect(amountInWords('-5')).toBe('')
    expect(amountInWords('1e3')).toBe('')
  })
})

describe('sanitizeAmountInput', () => {
  it.each([
    ['12a3', '123'],
    ['00012', '12'],
    ['0.123', '0.12'],
    ['.5', '0.5'],
    ['1.2.3', '1.23'],
    ['１２', ''],
    ['12。5', '12.5'],
    ['0', '0'],
    ['0.', '0.'],
    ['1234567890123', '123456789012'],
    ['¥ 1,000.00', '1000.00'],
  ])('%s → %s', (typed, kept) => {
    expect(sanitizeAmountInput(typed)).toBe(kept)
  })
})

describe('minor units', () => {
  it('converts without floating point drift', () => {
    expect(toMinor('0.1')).toBe(10)
    expect(toMinor('1234.5')).toBe(123450)
    expect(toMinor('0.29')).toBe(29)
    expect(fromMinor(123450)).toBe('1234.50')
    expect(fromMinor(5)).toBe('0.05')
  })

  it('refuses what is not an amount', () => {
    expect(() => toMinor('abc')).toThrow()
  })

  it('groups thousands for display', () => {
    expect(formatAmount('1234567.5')).toBe('1,234,567.50')
    expect(formatAmount('12')).toBe('12.00')
  })
})

describe('limitProblem', () => {
  const limits: TransferLimits = {
    per_transaction: '50000.00',
    daily_amount: '200000.00',
    daily_count: 50,
    remaining_today: '30000.00',
    count_today: 3,
  }

  it('is null within the limits', () => {
    expect(limitProblem('100.00', limits)).toBeNull()
    expect(limitProblem('30000.00', limits)).toBeNull()
  })

  it('names the per-transaction limit first', () => {
    expect(limitProblem('50000.01', limits)).toBe('per_transaction')
  })

  it('names what is left today when that is smaller', () => {
    expect(limitProblem('30000.01', limits)).toBe('daily_amount')
  })

  it('names the daily count once it is used up', () => {
    expect(limitProblem('1.00', { ...limits, count_today: 50 })).toBe('daily_count')
  })

  it('is null without limits or an amount', () => {
    expect(limitProblem('1.00', null)).toBeNull()
    expect(limitProblem('', limits)).toBeNull()
  })

  it('shortens round amounts in Chinese', () => {
    expect(shortAmount('50000.00', 'zh-CN')).toBe('5万')
    expect(shortAmount('50000.00', 'en-US')).toBe('50,000')
    expect(shortAmount('1234.50', 'zh-CN')).toBe('1,234.50')
  })
})
