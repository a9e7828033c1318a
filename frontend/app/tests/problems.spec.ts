import { describe, expect, it } from 'vitest'
import { ApiError, OfflineError } from '@/api/http'
import { i18n, setLanguage } from '@/i18n'
import { describeProblem } from '@/i18n/problems'

const { t, te } = i18n.global

describe('describeProblem', () => {
  it("puts a payee-name mismatch next to the payee's name, in the customer's words", () => {
    setLanguage('zh-CN')
    const error = new ApiError({ status: 422, code: 'payee_name_mismatch', detail: 'server words' })
    expect(describeProblem(error, t, te)).toEqual({
      field: 'to_name',
      message: '收款人姓名与账号不一致，请核对',
    })
  })

  it('uses the field a validation error names', () => {
    const error = new ApiError({
      status: 422,
      code: 'validation_error',
      errors: [{ field: 'id_number', reason: 'string_pattern_mismatch' }],
    })
    expect(describeProblem(error, t, te).field).toBe('id_number')
  })

  it("falls back to the server's translated detail for a code the app does not know", () => {
    const error = new ApiError({ status: 409, code: 'something_new', detail: '服务器的说明' })
    expect(describeProblem(error, t, te)).toEqual({ field: null, message: '服务器的说明' })
  })

  it('keeps the figures of a limit problem', () => {
    const error = new ApiError({
      status: 422,
      code: 'limit_exceeded',
      detail: '超出单笔限额（限额 50000.00，今日剩余 30000.00）',
    })
    expect(describeProblem(error, t, te)).toEqual({
      field: 'amount',
      message: '超出单笔限额（限额 50000.00，今日剩余 30000.00）',
    })
  })

  it('says offline plainly, in English too', () => {
    setLanguage('en-US')
    expect(describeProblem(new OfflineError(), t, te).message).toContain('You are offline')
    setLanguage('zh-CN')
  })
})
