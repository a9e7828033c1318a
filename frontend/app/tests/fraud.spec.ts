import { describe, expect, it } from 'vitest'
import { i18n, setLanguage } from '@/i18n'
import { canReportFraud, cleanDescription, FRAUD_DESCRIPTION_MAX } from '@/lib/fraud'

describe('canReportFraud', () => {
  it('offers the report only once the money has reached the payee', () => {
    expect(canReportFraud({ status: 'completed' })).toBe(true)
    for (const status of [
      'pending_challenge',
      'delayed',
      'held_for_review',
      'processing',
      'returned',
      'rejected',
      'cancelled',
    ] as const) {
      expect(canReportFraud({ status })).toBe(false)
    }
  })
})

describe('cleanDescription', () => {
  it('keeps line breaks, drops other control characters and trims', () => {
    expect(cleanDescription('  对方冒充客服\n让我转账\u0000\t ')).toBe('对方冒充客服\n让我转账')
  })

  it('cuts at the server limit counting characters, not UTF-16 units', () => {
    const long = '😀'.repeat(FRAUD_DESCRIPTION_MAX + 10)
    expect(Array.from(cleanDescription(long))).toHaveLength(FRAUD_DESCRIPTION_MAX)
  })
})

describe('fraud report texts', () => {
  it('has every status in both languages', () => {
    for (const language of ['zh-CN', 'en-US'] as const) {
      setLanguage(language)
      for (const key of ['reviewing', 'confirmed', 'dismissed', 'action', 'confirm']) {
        expect(i18n.global.te(`fraud.${key}`)).toBe(true)
      }
      expect(i18n.global.te('errors.transfer_not_reportable')).toBe(true)
    }
    setLanguage('zh-CN')
    expect(i18n.global.t('fraud.action')).toBe('举报诈骗')
  })
})
