import { readFileSync } from 'node:fs'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { OfflineError, api, hasAccessCookie, keepGrant, setAccessToken } from '@/api/http'
import { SIGNED_IN_HINT, useSession } from '@/stores/session'

const grant = (expiresIn: number) => ({
  access_token: 'at',
  expires_in: expiresIn,
  session_id: 's',
  subject_id: 'c',
  device_id: null,
  auth_methods: ['pwd'],
})

/** A fake server: answers by "METHOD path", records what was asked. */
function serve(answers: Record<string, () => Response>): string[] {
  const asked: string[] = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init?: RequestInit) => {
      const key = `${init?.method ?? 'GET'} ${url}`
      asked.push(key)
      const answer = answers[key]
      if (!answer) throw new Error(`unexpected ${key}`)
      return answer()
    }),
  )
  return asked
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  })

beforeEach(async () => {
  // A renewal in flight is shared for one tick (api/http): let the last test's settle.
  await new Promise((resolve) => setTimeout(resolve, 0))
  localStorage.clear()
  setAccessToken(null)
  setActivePinia(createPinia())
})
afterEach(() => vi.unstubAllGlobals())

describe('the access cookie hint', () => {
  it('is good until the grant expires, with a margin, and gone with the token', () => {
    expect(hasAccessCookie()).toBe(false)
    keepGrant(grant(900))
    expect(hasAccessCookie()).toBe(true)
    setAccessToken(null)
    expect(hasAccessCookie()).toBe(false)
    keepGrant(grant(10)) // inside the margin: renew instead
    expect(hasAccessCookie()).toBe(false)
  })
})

describe('restoring a session after a reload', () => {
  it('skips the renewal round trip while the access cookie is good', async () => {
    keepGrant(grant(900))
    localStorage.setItem(SIGNED_IN_HINT, '1')
    const asked = serve({ 'GET /v1/me': () => json({ id: 'c', name: '张三' }) })
    // keepGrant put a token in memory; a reload has none, only the cookie and the hint.
    const until = localStorage.getItem('zy_access_until')
    setAccessToken(null)
    localStorage.setItem('zy_access_until', until!)
    const session = useSession()
    expect(await session.restore()).toBe(true)
    expect(await session.restore()).toBe(true)
    await vi.waitFor(() => expect(session.customer?.name).toBe('张三'))
    expect(asked).toEqual(['GET /v1/me'])
  })

  it('renews with the refresh cookie once the access cookie has expired', async () => {
    localStorage.setItem(SIGNED_IN_HINT, '1')
    localStorage.setItem('zy_access_until', String(Date.now() - 1000))
    const asked = serve({
      'POST /v1/sessions/refresh': () => json(grant(900)),
      'GET /v1/me': () => json({ id: 'c', name: '张三' }),
    })
    expect(await useSession().restore()).toBe(true)
    expect(asked[0]).toBe('POST /v1/sessions/refresh')
    expect(hasAccessCookie()).toBe(true)
  })

  it('is not restored without a session, and forgets the hint', async () => {
    localStorage.setItem(SIGNED_IN_HINT, '1')
    serve({
      'POST /v1/sessions/refresh': () => json({ code: 'unauthenticated', status: 401 }, 401),
    })
    expect(await useSession().restore()).toBe(false)
    expect(localStorage.getItem(SIGNED_IN_HINT)).toBeNull()
  })
})

describe('a GET started early (window.__zyEarly)', () => {
  it('answers the first GET of its path once, then requests go out again', async () => {
    let n = 0
    const asked = serve({ 'GET /v1/accounts': () => json([{ n: ++n }]) })
    window.__zyEarly = { '/v1/accounts': Promise.resolve(json([{ n: 0 }])) }
    expect(await api.get('/v1/accounts')).toEqual([{ n: 0 }])
    expect(asked).toHaveLength(0)
    expect(await api.get('/v1/accounts')).toEqual([{ n: 1 }])
    expect(asked).toHaveLength(1)
  })

  it('is an offline error when the network failed', async () => {
    window.__zyEarly = { '/v1/accounts': Promise.reject(new TypeError('Failed to fetch')) }
    await expect(api.get('/v1/accounts')).rejects.toBeInstanceOf(OfflineError)
  })

  it('renews the session and retries when the cookie was no longer accepted', async () => {
    let calls = 0
    const asked = serve({
      'GET /v1/accounts': () =>
        ++calls === 1 ? json({ code: 'unauthenticated', status: 401 }, 401) : json([]),
      'POST /v1/sessions/refresh': () => json(grant(900)),
    })
    window.__zyEarly = { '/v1/accounts': fetch('/v1/accounts') }
    expect(await api.get('/v1/accounts')).toEqual([])
    expect(asked).toEqual(['GET /v1/accounts', 'POST /v1/sessions/refresh', 'GET /v1/accounts'])
  })
})

describe('public/boot.js', () => {
  const boot = readFileSync('public/boot.js', 'utf8') // vitest runs in frontend/app
  const run = (path: string) => {
    ;(window as unknown as { happyDOM: { setURL(url: string): void } }).happyDOM.setURL(
      `http://localhost${path}`,
    )
    new Function(boot)()
  }

  it('asks for the accounts before the app evaluates; the app reads that answer once', async () => {
    // A reload: no token in memory, the access cookie of the last grant still good.
    localStorage.setItem('zy_access_until', String(Date.now() + 900_000))
    localStorage.setItem(SIGNED_IN_HINT, '1')
    let n = 0
    const asked = serve({ 'GET /v1/accounts': () => json([{ n: ++n }]) })
    run('/app/home')
    expect(asked).toHaveLength(1)
    expect(await api.get('/v1/accounts')).toEqual([{ n: 1 }])
    expect(asked).toHaveLength(1)
    expect(window.__zyEarly?.['/v1/accounts']).toBeUndefined()
  })

  it('asks for nothing without a good access cookie or away from home', () => {
    const asked = serve({})
    localStorage.setItem(SIGNED_IN_HINT, '1')
    run('/app/home') // no grant noted
    localStorage.setItem('zy_access_until', String(Date.now() + 900_000))
    run('/app/transfer')
    localStorage.removeItem(SIGNED_IN_HINT)
    run('/app/home')
    expect(asked).toEqual([])
  })
})
