import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import { nextTick, ref } from 'vue'
import AmountInput from '@/components/AmountInput.vue'
import { setLanguage } from '@/i18n'

function mountWithModel(initial = '') {
  const model = ref(initial)
  const wrapper = mount(AmountInput, {
    props: {
      modelValue: model.value,
      'onUpdate:modelValue': (value: string) => {
        model.value = value
        wrapper.setProps({ modelValue: value })
      },
    },
  })
  return { wrapper, model }
}

describe('AmountInput', () => {
  it('keeps only a valid amount of what is typed', async () => {
    const { wrapper, model } = mountWithModel()
    await wrapper.find('input').setValue('00123.456abc')
    expect(model.value).toBe('123.45')
  })

  it('shows the amount in capital words under the field', async () => {
    setLanguage('zh-CN')
    const { wrapper } = mountWithModel()
    await wrapper.find('input').setValue('1234.5')
    await nextTick()
    expect(wrapper.find('[data-testid="amount-words"]').text()).toBe('壹仟贰佰叁拾肆元伍角整')
  })

  it('shows no words for an empty field', () => {
    const { wrapper } = mountWithModel('')
    expect(wrapper.find('[data-testid="amount-words"]').exists()).toBe(false)
  })

  it('shows the error next to the field', () => {
    const wrapper = mount(AmountInput, { props: { modelValue: '1', errorMessage: '超出单笔限额' } })
    expect(wrapper.find('.van-field__error-message').text()).toBe('超出单笔限额')
  })

  it('has a label for screen readers', () => {
    setLanguage('en-US')
    const wrapper = mount(AmountInput, { props: { modelValue: '' } })
    expect(wrapper.find('label').text()).toBe('Amount')
    setLanguage('zh-CN')
  })
})
