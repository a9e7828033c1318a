// The console's API client. The staff token lives in memory only (never localStorage).
let token: string | null = null

export function setToken(value: string | null): void {
  token = value
}

export function loggedIn(): boolean {
  return token !== null
}

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message)
  }
}

function language(): string {
  return document.documentElement.lang === 'en-US' ? 'en-US' : 'zh-CN'
}

export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers: Record<string, string> = { 'Accept-Language': language() }
  if (token) headers.Authorization = `Bearer ${token}`
  if (init.body) headers['Content-Type'] = 'application/json'
  if (init.method && init.method !== 'GET') headers['Idempotency-Key'] = crypto.randomUUID()
  const response = await fetch(path, { ...init, headers: { ...headers, ...(init.headers ?? {}) } })
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}))
    throw new ApiError(response.status, problem.code ?? 'error', problem.detail ?? response.statusText)
  }
  if (response.status === 204) return undefined as T
  return (await response.json()) as T
}

export async function download(path: string): Promise<void> {
  const response = await fetch(path, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  })
  if (!response.ok) throw new ApiError(response.status, 'export_failed', response.statusText)
  const blob = await response.blob()
  const name =
    /filename="([^"]+)"/.exec(response.headers.get('Content-Disposition') ?? '')?.[1] ?? 'export'
  const link = document.createElement('a')
  link.href = URL.createObjectURL(blob)
  link.download = name
  link.click()
  URL.revokeObjectURL(link.href)
}

export interface Me {
  staff_id: string
  roles: string[]
  permissions: string[]
}

export const me: { value: Me | null } = { value: null }

export function can(permission: string): boolean {
  const perms = me.value?.permissions ?? []
  return perms.includes('*') || perms.includes(permission)
}

/** One line of a customer's risk history in the 360 (GET /v1/console/customers/{id}/360). */
export interface RiskEvent {
  decision_id: string | null
  occurred_at: string
  operation: string | null
  amount: string
  currency: string
  outcome: string | null
  reasons: { code: string; message_zh: string; message_en: string }[]
  failsafe: boolean
  reference: string | null
  status: string | null
  fraud_label: boolean | null
  cases: { id: string; kind: string; status: string; opened_at: string }[]
}
