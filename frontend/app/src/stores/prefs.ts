/**
 * Display preferences: elder mode (长辈版) and hidden amounts.
 *
 * Elder mode is remembered per customer. The identity API has no field for it yet
 * (no PATCH /v1/me), so it is kept on this device, keyed by customer id, plus a
 * device-wide choice for the screens before login.
 */
import { defineStore } from 'pinia'
import { ref, watch } from 'vue'

const DEVICE_ELDER_KEY = 'zy_elder'
const customerKey = (id: string) => `zy_elder:${id}`

export const usePrefs = defineStore('prefs', () => {
  const elderMode = ref(localStorage.getItem(DEVICE_ELDER_KEY) === '1')
  const hideAmounts = ref(localStorage.getItem('zy_hide_amounts') === '1')
  let customerId: string | null = null

  function apply(): void {
    document.documentElement.classList.toggle('elder', elderMode.value)
  }

  function setElderMode(on: boolean): void {
    elderMode.value = on
    localStorage.setItem(DEVICE_ELDER_KEY, on ? '1' : '0')
    if (customerId) localStorage.setItem(customerKey(customerId), on ? '1' : '0')
    apply()
  }

  /** After login: use this customer's own choice when they made one. */
  function useCustomer(id: string): void {
    customerId = id
    const saved = localStorage.getItem(customerKey(id))
    if (saved !== null) {
      elderMode.value = saved === '1'
      localStorage.setItem(DEVICE_ELDER_KEY, saved)
    } else {
      localStorage.setItem(customerKey(id), elderMode.value ? '1' : '0')
    }
    apply()
  }

  watch(hideAmounts, (hidden) => localStorage.setItem('zy_hide_amounts', hidden ? '1' : '0'))
  apply()

  return { elderMode, hideAmounts, setElderMode, useCustomer }
})
