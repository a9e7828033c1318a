/**
 * The one place the app talks HTTP. The access token lives in memory only; after a
 * reload it is renewed with the httpOnly refresh cookie the server set at login
 * (POST /v1/sessions/refresh). Errors arrive as RFC 9457 problem+json and become ApiError.
 */

export interface FieldProblem {
  field: string
  reason?: string
  message?: string
}

export interface Problem {
  type?: string
  title?: string
  status: number
  detail?: string
  code: string
  errors?: FieldProblem[]
  [extension: string]: unknown
}

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly problem: Problem

  constructor(problem: Problem) {
    super(problem.detail || problem.code)
    this.status = problem.status
    this.code = problem.code
    this.problem = problem
  }
}

export class OfflineError extends ApiError {
  constructor() {
    super({ status: 0, code: 'offline', detail: 'offline' })
  }
}

let accessToken: string | null = null
/**
 * Until when the httpOnly access cookie the server set with the last grant is good (ms since
 * the epoch). Not a secret: only a time, kept so that a reload can skip renewing the session
 * while that cookie still authenticates (one round trip less before the first screen).
 */
const ACCESS_UNTIL_KEY = 'zy_access_until'
/** Renew a little early: the clocks of the phone and the server differ and requests take time. */
const ACCESS_MARGIN_MS = 30_000
let language = 'zh-CN'
let refreshing: Promise<boolean> | null = null
let onSessionLost: (() => void) | null = null

export function setAccessToken(token: string | null): void {
  accessToken = token
  if (token === null) storage()?.removeItem(ACCESS_UNTIL_KEY)
}

/** Keep a grant's access token in memory and note when its cookie twin expires. */
export function keepGrant(grant: TokenGrant): void {
  accessToken = grant.access_token
  storage()?.setItem(ACCESS_UNTIL_KEY, String(Date.now() + grant.expires_in * 1000))
}

/** Whether the access cookie of an earlier page load should still be accepted by the server. */
export function hasAccessCookie(): boolean {
  const until = Number(storage()?.getItem(ACCESS_UNTIL_KEY))
  return Number.isFinite(until) && until - ACCESS_MARGIN_MS > Date.now()
}

function storage(): Storage | null {
  return typeof localStorage === 'undefined' ? null : localStorage
}

export function hasAccessToken(): boolean {
  return accessToken !== null
}

export function setApiLanguage(tag: string): void {
  language = tag
}

export function whenSessionLost(handler: () => void): void {
  onSessionLost = handler
}

export interface RequestOptions {
  body?: unknown
  query?: Record<string, string | number | undefined | null>
  idempotencyKey?: string
  /** Retry once after renewing the access token (default true). */
  renew?: boolean
}

function url(path: string, query?: RequestOptions['query']): string {
  if (!query) return path
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value))
  }
  const text = params.toString()
  return text ? `${path}?${text}` : path
}

async function send(method: string, path: string, options: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = {
    Accept: 'application/json, application/problem+json',
    'Accept-Language': language,
    // The server refuses cookie-authenticated writes without it (CSRF guard).
    'X-Requested-With': 'zhangyin',
  }
  if (accessToken) headers.Authorization = `Bearer ${accessToken}`
  if (options.idempotencyKey) headers['Idempotency-Key'] = options.idempotencyKey
  let body: string | undefined
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(options.body)
  }
  if (typeof navigator !== 'undefined' && navigator.onLine === false) throw new OfflineError()
  try {
    return await fetch(url(path, options.query), {
      method,
      headers,
      body,
      credentials: 'include',
      cache: 'no-store',
    })
  } catch {
    throw new OfflineError()
  }
}

async function problemOf(response: Response): Promise<Problem> {
  try {
    const parsed = (await response.json()) as Partial<Problem>
    return { ...parsed, status: response.status, code: parsed.code || 'http_error' } as Problem
  } catch {
    return {
      status: response.status,
      code: response.status >= 500 ? 'internal_error' : 'http_error',
    }
  }
}

export interface TokenGrant {
  access_token: string
  expires_in: number
  session_id: string
  subject_id: string
  device_id: string | null
  auth_methods: string[]
}

/** Renew the in-memory access token with the refresh cookie; false when there is no session. */
export function renewAccessToken(): Promise<boolean> {
  if (!refreshing) {
    refreshing = (async () => {
      try {
        const response = await send('POST', '/v1/sessions/refresh', { body: {} })
        if (!response.ok) {
          setAccessToken(null)
          return false
        }
        keepGrant((await response.json()) as TokenGrant)
        return true
      } catch {
        return false
      } finally {
        setTimeout(() => (refreshing = null), 0)
      }
    })()
  }
  return refreshing
}

declare global {
  interface Window {
    /** GETs public/boot.js started before the app's code evaluated: path → pending answer. */
    __zyEarly?: Record<string, Promise<Response> | undefined>
  }
}

/**
 * The answer to a GET that public/boot.js started before the app evaluated (the first
 * screen's data, on its way while the code loads and renders); used once. A 401 renews the
 * session and retries like any other request.
 */
function takeEarly(path: string): Promise<Response> | undefined {
  if (typeof window === 'undefined' || !window.__zyEarly?.[path]) return undefined
  const pending = window.__zyEarly[path]
  window.__zyEarly[path] = undefined
  return pending.catch(() => Promise.reject(new OfflineError()))
}

export async function request<T>(
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<T> {
  const early = method === 'GET' && !options.query ? takeEarly(path) : undefined
  let response = await (early ?? send(method, path, options))
  if (response.status === 401 && options.renew !== false && !path.startsWith('/v1/sessions')) {
    const problem = await problemOf(response.clone())
    if (problem.code === 'unauthenticated' || problem.code === 'token_invalid') {
      if (await renewAccessToken()) {
        response = await send(method, path, options)
      } else {
        onSessionLost?.()
      }
    }
  }
  if (!response.ok) throw new ApiError(await problemOf(response))
  if (response.status === 204 || response.status === 202) {
    const text = await response.text()
    return (text ? JSON.parse(text) : undefined) as T
  }
  return (await response.json()) as T
}

export const api = {
  get: <T>(path: string, query?: RequestOptions['query']) => request<T>('GET', path, { query }),
  post: <T>(path: string, body?: unknown, idempotencyKey?: string) =>
    request<T>('POST', path, { body: body ?? {}, idempotencyKey }),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, { body }),
  delete: <T>(path: string) => request<T>('DELETE', path),
}
