import { flushPromises, mount } from '@vue/test-utils'
import { createPinia } from 'pinia'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createMemoryHistory, createRouter } from 'vue-router'
import { ApiError } from '@/api/http'
import { payments, type FraudReport, type Transfer } from '@/api/payments'
import TransferResultView from '@/views/TransferResultView.vue'

function transfer(changes: Partial<Transfer> = {}): Transfer {
  return {
    id: 't-1',
    kind: 'intra',
    status: 'completed',
    from_account_id: 1,
    to_account_number: '6216****5678',
    to_name: '李四',
    to_bank_code: null,
    to_bank_name: null,
    amount: '100.00',
    currency: 'CNY',
    memo: '',
    arrival: 'instant',
    reason: null,
    challenge_id: null,
    challenge_methods: [],
    due_at: null,
    created_at: '2026-11-23T02:00:00Z',
    completed_at: '2026-11-23T02:00:00Z',
    timeline: [],
    ...changes,
  }
}

async function open(shown: Transfer) {
  vi.spyOn(payments, 'transfer').mockResolvedValue(shown)
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/transfers/:id', component: TransferResultView },
      { path: '/:rest(.*)*', component: { template: '<div />' } },
    ],
  })
  await router.push('/transfers/t-1')
  const wrapper = mount(TransferResultView, {
    global: { plugins: [router, createPinia()] },
    attachTo: document.body,
  })
  await flushPromises()
  return wrapper
}

function dialogButton(text: string): HTMLButtonElement {
  const buttons = Array.from(
    document.body.querySelectorAll<HTMLButtonElement>('.van-dialog button'),
  )
  const found = buttons.find((b) => b.textContent?.includes(text))
  if (!found) throw new Error(`no dialog button ${text}`)
  return found
}

afterEach(() => {
  vi.restoreAllMocks()
  document.body.innerHTML = ''
})

describe('TransferResultView: report fraud', () => {
  it('is offered on a completed transfer and not on one still on its way', async () => {
    const done = await open(transfer())
    expect(done.find('[data-testid="report-fraud"]').text()).toBe('举报诈骗')
    done.unmount()
    const delayed = await open(transfer({ status: 'delayed', due_at: '2026-11-23T04:00:00Z' }))
    expect(delayed.find('[data-testid="report-fraud"]').exists()).toBe(false)
  })

  it('asks first, sends the cleaned description once, then shows the report status', async () => {
    const answer: FraudReport = {
      transfer_id: 't-1',
      report_id: 'case-1',
      status: 'reviewing',
      description: '冒充客服',
      reported_at: '2026-11-23T03:00:00Z',
    }
    const sent = vi.spyOn(payments, 'reportFraud').mockResolvedValue(answer)
    const wrapper = await open(transfer())
    await wrapper.find('[data-testid="report-fraud"]').trigger('click')
    await flushPromises()
    expect(document.body.textContent).toContain('举报这笔转账为诈骗')
    const text = document.body.querySelector<HTMLTextAreaElement>('.van-dialog textarea')
    expect(text).not.toBeNull()
    text!.value = '  冒充客服\u0000 '
    text!.dispatchEvent(new Event('input'))
    dialogButton('确认举报').click()
    await flushPromises()
    expect(sent).toHaveBeenCalledTimes(1)
    expect(sent.mock.calls[0].slice(0, 2)).toEqual(['t-1', '冒充客服'])
    expect(wrapper.find('[data-testid="fraud-report-status"]').text()).toContain(
      '已受理，反诈专员正在核实',
    )
    expect(wrapper.find('[data-testid="report-fraud"]').exists()).toBe(false)
  })

  it('sends nothing when the customer cancels, and shows a refusal in their words', async () => {
    const sent = vi
      .spyOn(payments, 'reportFraud')
      .mockRejectedValue(new ApiError({ status: 409, code: 'transfer_not_reportable' }))
    const wrapper = await open(transfer())
    await wrapper.find('[data-testid="report-fraud"]').trigger('click')
    await flushPromises()
    dialogButton('取消').click()
    await flushPromises()
    expect(sent).not.toHaveBeenCalled()
    await wrapper.find('[data-testid="report-fraud"]').trigger('click')
    await flushPromises()
    dialogButton('确认举报').click()
    await flushPromises()
    expect(wrapper.find('[data-testid="form-error"]').text()).toBe('只能举报已完成、转给他人的转账')
    expect(wrapper.find('[data-testid="fraud-report-status"]').exists()).toBe(false)
  })
})
