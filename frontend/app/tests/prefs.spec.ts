import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { identity, type Customer, type Preferences } from '@/api/identity'
import { currentLanguage, setLanguage } from '@/i18n'
import { usePrefs } from '@/stores/prefs'
import { useSession } from '@/stores/session'

function customer(changes: Partial<Customer> = {}): Customer {
  return {
    id: 'c-1',
    kind: 'personal',
    status: 'active',
    phone: '139****5678',
    name: '张*',
    id_number: '110***********1234',
    kyc_level: 'II',
    enterprise_id: null,
    totp_enabled: false,
    elder_mode: false,
    language: 'zh-CN',
    created_at: '2026-01-01T00:00:00Z',
    ...changes,
  }
}

/** The server: PATCH /v1/me answers the stored customer with the changes applied. */
function fakeServer(stored: Customer) {
  const calls: Preferences[] = []
  const spy = vi.spyOn(identity, 'updatePreferences').mockImplementation(async (changes) => {
    calls.push(changes)
    Object.assign(stored, changes)
    return { ...stored }
  })
  return { calls, spy }
}

const elderClass = () => document.documentElement.classList.contains('elder')

beforeEach(() => {
  localStorage.clear()
  setLanguage('zh-CN')
  document.documentElement.classList.remove('elder')
  setActivePinia(createPinia())
})

afterEach(() => {
  vi.restoreAllMocks()
  setLanguage('zh-CN')
})

describe('prefs store', () => {
  it("applies the server's elder mode and language at login when nothing was chosen here", async () => {
    const server = fakeServer(customer({ elder_mode: true, language: 'en-US' }))
    const prefs = usePrefs()
    const session = useSession()
    session.customer = customer({ elder_mode: true, language: 'en-US' })
    await prefs.useCustomer(session.customer)
    expect(prefs.elderMode).toBe(true)
    expect(elderClass()).toBe(true)
    expect(currentLanguage()).toBe('en-US')
    expect(server.calls).toEqual([])
  })

  it('keeps a choice made before login local, then saves it to the customer at login', async () => {
    const stored = customer()
    const server = fakeServer(stored)
    const prefs = usePrefs()
    await prefs.setElderMode(true) // on the login screen: no session yet
    await prefs.setLanguage('en-US')
    expect(server.calls).toEqual([])
    expect(elderClass()).toBe(true)

    const session = useSession()
    session.customer = customer()
    await prefs.useCustomer(session.customer)
    expect(server.calls).toEqual([{ elder_mode: true, language: 'en-US' }])
    expect(session.customer.elder_mode).toBe(true)
    expect(prefs.elderMode).toBe(true)
    expect(currentLanguage()).toBe('en-US')
    // Saved once: the next login takes the server's values without writing again.
    setActivePinia(createPinia())
    await usePrefs().useCustomer(customer({ elder_mode: true, language: 'en-US' }))
    expect(server.calls).toHaveLength(1)
  })

  it('saves a change made while logged in to the server', async () => {
    const stored = customer()
    const server = fakeServer(stored)
    const prefs = usePrefs()
    useSession().customer = customer()
    await prefs.setElderMode(true)
    expect(server.calls).toEqual([{ elder_mode: true }])
    expect(stored.elder_mode).toBe(true)
    expect(useSession().customer?.elder_mode).toBe(true)
    await prefs.setLanguage('en-US')
    expect(server.calls[1]).toEqual({ language: 'en-US' })
    expect(currentLanguage()).toBe('en-US')
  })

  it('puts the previous value back when the server refuses the change', async () => {
    vi.spyOn(identity, 'updatePreferences').mockRejectedValue(new Error('offline'))
    const prefs = usePrefs()
    useSession().customer = customer()
    await expect(prefs.setElderMode(true)).rejects.toThrow('offline')
    expect(prefs.elderMode).toBe(false)
    expect(elderClass()).toBe(false)
    await expect(prefs.setLanguage('en-US')).rejects.toThrow('offline')
    expect(currentLanguage()).toBe('zh-CN')
  })

  it('keeps a pre-login choice for the next login when saving it fails', async () => {
    const update = vi.spyOn(identity, 'updatePreferences').mockRejectedValue(new Error('offline'))
    const prefs = usePrefs()
    await prefs.setElderMode(true)
    await prefs.useCustomer(customer())
    expect(prefs.elderMode).toBe(true) // what this device shows stays
    update.mockResolvedValue(customer({ elder_mode: true }))
    setActivePinia(createPinia())
    await usePrefs().useCustomer(customer())
    expect(update).toHaveBeenLastCalledWith({ elder_mode: true })
  })
})
