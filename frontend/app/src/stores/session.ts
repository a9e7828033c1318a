/** Who is logged in. The access token is held by the API module in memory, never in storage. */
import { defineStore } from 'pinia'
import { ref } from 'vue'
import { hasAccessToken, renewAccessToken, setAccessToken } from '@/api/http'
import { identity, type Customer } from '@/api/identity'

const SIGNED_IN_HINT = 'zy_signed_in'

export const useSession = defineStore('session', () => {
  const customer = ref<Customer | null>(null)
  /** The phone typed at login, kept in memory to resend step-up codes (the API masks it). */
  const phone = ref<string>('')
  /** A login from a new device waiting for its second factor; `resend` starts a new challenge. */
  const pendingChallenge = ref<{
    challengeId: string
    phone: string
    resend: () => Promise<string>
  } | null>(null)
  let restored = false

  async function loadMe(): Promise<void> {
    customer.value = await identity.me()
    localStorage.setItem(SIGNED_IN_HINT, '1')
  }

  /**
   * After a reload: renew the access token from the refresh cookie, if there is a session.
   * The profile (/v1/me) loads alongside the first screen's own requests, not before them:
   * on a slow network every round trip saved is felt.
   */
  async function restore(): Promise<boolean> {
    if (customer.value || hasAccessToken()) return true
    if (!restored) {
      restored = true
      if (localStorage.getItem(SIGNED_IN_HINT) !== '1') return false
      if (await renewAccessToken()) {
        loadMe().then(onRestored, () => undefined)
        return true
      }
      localStorage.removeItem(SIGNED_IN_HINT)
    }
    return false
  }

  let onRestored: () => void = () => undefined
  function whenRestored(handler: () => void): void {
    onRestored = handler
  }

  async function logout(): Promise<void> {
    try {
      await identity.logout()
    } catch {
      // The session may already be gone; forget it here either way.
    }
    forget()
  }

  function forget(): void {
    setAccessToken(null)
    customer.value = null
    localStorage.removeItem(SIGNED_IN_HINT)
  }

  return { customer, phone, pendingChallenge, loadMe, restore, logout, forget, whenRestored }
})
