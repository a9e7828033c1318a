import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import LimitDisplay from '@/components/LimitDisplay.vue'
import { setLanguage } from '@/i18n'
import type { TransferLimits } from '@/lib/money'

const limits: TransferLimits = {
  per_transaction: '50000.00',
  daily_amount: '200000.00',
  daily_count: 50,
  remaining_today: '30000.00',
  count_today: 3,
}

describe('LimitDisplay', () => {
  it('shows the limits before they are hit', () => {
    setLanguage('zh-CN')
    const wrapper = mount(LimitDisplay, { props: { limits, amount: '100' } })
    expect(wrapper.text()).toContain('单笔限额 5万 元，今日还可转 3万 元')
    expect(wrapper.find('[data-testid="limit-warning"]').exists()).toBe(false)
  })

  it('warns once the amount is above the per-transaction limit', () => {
    const wrapper = mount(LimitDisplay, { props: { limits, amount: '60000' } })
    const warning = wrapper.find('[data-testid="limit-warning"]')
    expect(warning.attributes('role')).toBe('alert')
    expect(warning.text()).toBe('超出单笔限额 5万 元，请减少金额或分次转账')
  })

  it('warns with what is left today', () => {
    const wrapper = mount(LimitDisplay, { props: { limits, amount: '40000' } })
    expect(wrapper.find('[data-testid="limit-warning"]').text()).toContain('3万')
  })

  it('speaks English too', () => {
    setLanguage('en-US')
    const wrapper = mount(LimitDisplay, { props: { limits, amount: '60000' } })
    expect(wrapper.text()).toContain('Per transfer up to 50,000 CNY; 30,000 CNY left today')
    expect(wrapper.find('[data-testid="limit-warning"]').text()).toContain(
      'per-transfer limit of 50,000',
    )
    setLanguage('zh-CN')
  })

  it('renders nothing without limits', () => {
    const wrapper = mount(LimitDisplay, { props: { limits: null, amount: '1' } })
    expect(wrapper.find('[data-testid="limits"]').exists()).toBe(false)
  })
})
