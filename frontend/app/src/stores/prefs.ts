/**
 * Display preferences: elder mode (长辈版), language and hidden amounts.
 *
 * Elder mode and language belong to the customer and live on the server (PATCH /v1/me),
 * so every phone they log in from applies them. This device also remembers the last
 * values, for the screens before login. A choice made before login (on the login or
 * welcome screen) stays local until login, then is saved to the customer; otherwise the
 * server's values win at login.
 */
import { defineStore } from 'pinia'
import { ref, watch } from 'vue'
import { identity, type Customer, type Preferences } from '@/api/identity'
import { currentLanguage, setLanguage as applyLanguage, type Language } from '@/i18n'
import { useSession } from '@/stores/session'

const DEVICE_ELDER_KEY = 'zy_elder'
/** What the customer chose before logging in, to save to their profile at login. */
const PENDING_KEY = 'zy_prefs_pending'

function readPending(): Preferences {
  try {
    const saved = JSON.parse(localStorage.getItem(PENDING_KEY) ?? '{}') as Preferences
    const pending: Preferences = {}
    if (typeof saved.elder_mode === 'boolean') pending.elder_mode = saved.elder_mode
    if (saved.language === 'zh-CN' || saved.language === 'en-US') pending.language = saved.language
    return pending
  } catch {
    return {}
  }
}

export const usePrefs = defineStore('prefs', () => {
  const elderMode = ref(localStorage.getItem(DEVICE_ELDER_KEY) === '1')
  const language = ref<Language>(currentLanguage())
  const hideAmounts = ref(localStorage.getItem('zy_hide_amounts') === '1')

  function showElder(on: boolean): void {
    elderMode.value = on
    localStorage.setItem(DEVICE_ELDER_KEY, on ? '1' : '0')
    document.documentElement.classList.toggle('elder', on)
  }

  function showLanguage(value: Language): void {
    language.value = value
    applyLanguage(value)
  }

  function remember(change: Preferences): void {
    localStorage.setItem(PENDING_KEY, JSON.stringify({ ...readPending(), ...change }))
  }

  /**
   * Apply a change at once; when logged in save it to the customer, else keep it for login.
   * A failed save puts the previous value back and rethrows (the view shows the problem).
   */
  async function change(update: Preferences): Promise<void> {
    const before: Preferences = { elder_mode: elderMode.value, language: language.value }
    if (update.elder_mode !== undefined) showElder(update.elder_mode)
    if (update.language !== undefined) showLanguage(update.language)
    const session = useSession()
    if (!session.customer) {
      remember(update)
      return
    }
    try {
      session.customer = await identity.updatePreferences(update)
    } catch (error) {
      if (update.elder_mode !== undefined) showElder(before.elder_mode as boolean)
      if (update.language !== undefined) showLanguage(before.language as Language)
      throw error
    }
  }

  const setElderMode = (on: boolean): Promise<void> => change({ elder_mode: on })
  const setLanguage = (value: Language): Promise<void> => change({ language: value })

  /**
   * After login: save what was chosen before login to the customer, then show the
   * customer's preferences (the server's when nothing was chosen here).
   */
  async function useCustomer(customer: Customer): Promise<void> {
    let current = customer
    const pending = readPending()
    const differs =
      (pending.elder_mode !== undefined && pending.elder_mode !== customer.elder_mode) ||
      (pending.language !== undefined && pending.language !== customer.language)
    if (differs) {
      try {
        current = await identity.updatePreferences(pending)
        useSession().customer = current
      } catch {
        // Not saved this time: keep what this device shows and try again at the next login.
        return
      }
    }
    localStorage.removeItem(PENDING_KEY)
    showElder(current.elder_mode)
    showLanguage(current.language)
  }

  watch(hideAmounts, (hidden) => localStorage.setItem('zy_hide_amounts', hidden ? '1' : '0'))
  showElder(elderMode.value)

  return { elderMode, language, hideAmounts, setElderMode, setLanguage, useCustomer }
})
