/** Who is logged in. The access token is held by the API module in memory, never in storage. */
import { defineStore } from 'pinia'
import { ref } from 'vue'
import { hasAccessCookie, hasAccessToken, renewAccessToken, setAccessToken } from '@/api/http'
import { identity, type Customer } from '@/api/identity'

/** Set while this phone has a session; no secret, it only says whether to try restoring one. */
export const SIGNED_IN_HINT = 'zy_signed_in'

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
  /** Renewed, or carried by the access cookie of an earlier page load. */
  let live = false

  async function loadMe(): Promise<void> {
    customer.value = await identity.me()
    localStorage.setItem(SIGNED_IN_HINT, '1')
  }

  /**
   * After a reload: while the access cookie of the last grant is still good, the first
   * screen's requests go out at once with it (a 401 renews the session and retries them,
   * see api/http); otherwise renew the access token from the refresh cookie first, if
   * there is a session. The profile (/v1/me) loads alongside the first screen's own
   * requests, not before them: on a slow network every round trip saved is felt.
   */
  async function restore(): Promise<boolean> {
    if (customer.value || hasAccessToken() || live) return true
    if (!restored) {
      restored = true
      if (localStorage.getItem(SIGNED_IN_HINT) !== '1') return false
      if (hasAccessCookie() || (await renewAccessToken())) {
        live = true
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
    live = false
    customer.value = null
    localStorage.removeItem(SIGNED_IN_HINT)
  }

  return { customer, phone, pendingChallenge, loadMe, restore, logout, forget, whenRestored }
})
