/** Identity: SMS codes, registration, sessions, second factor, me, devices, limits, passkeys, privacy. */
import { api, keepGrant, request, setAccessToken, type TokenGrant } from './http'

export type SmsPurpose = 'register' | 'login' | 'reset_password' | 'step_up'

export interface Customer {
  id: string
  kind: string
  status: string
  phone: string
  name: string
  id_number: string
  kyc_level: string
  enterprise_id: string | null
  totp_enabled: boolean
  /** 长辈版: larger text, simpler screens; applied on every phone the customer uses. */
  elder_mode: boolean
  language: 'zh-CN' | 'en-US'
  created_at: string
}

/** PATCH /v1/me: the preferences to change (at least one). */
export interface Preferences {
  elder_mode?: boolean
  language?: 'zh-CN' | 'en-US'
}

export interface AccountSummary {
  id: number
  number: string
  currency: string
  kind: string
  status: string
  balance: string
  available_balance: string
}

export interface Device {
  id: string
  name: string
  trusted: boolean
  first_seen_at: string
  last_seen_at: string
}

export interface Passkey {
  id: string
  name: string
  created_at: string
  last_used_at: string | null
}

export interface Ceremony {
  challenge_id: string
  options: Record<string, unknown>
}

export interface Consent {
  policy_version: string
  accepted_at: string
  withdrawn_at: string | null
}

export const PRIVACY_VERSION = '2026-01'

function keep(grant: TokenGrant): TokenGrant {
  keepGrant(grant)
  return grant
}

export const identity = {
  sendSmsCode: (phone: string, purpose: SmsPurpose, challengeId?: string) =>
    api.post<{ status: string }>('/v1/sms-codes', {
      phone,
      purpose,
      ...(challengeId ? { challenge_id: challengeId } : {}),
    }),
  register: (
    body: {
      phone: string
      sms_code: string
      name: string
      id_number: string
      password: string
      accept_privacy_version: string
      device_id: string
    },
    idempotencyKey: string,
  ) =>
    api.post<{ customer: Customer; account: AccountSummary }>(
      '/v1/customers',
      body,
      idempotencyKey,
    ),
  loginWithPassword: async (phone: string, password: string, deviceId: string) =>
    keep(await api.post<TokenGrant>('/v1/sessions', { phone, password, device_id: deviceId })),
  loginWithSms: async (phone: string, smsCode: string, deviceId: string) =>
    keep(
      await api.post<TokenGrant>('/v1/sessions/sms-code', {
        phone,
        sms_code: smsCode,
        device_id: deviceId,
      }),
    ),
  completeSecondFactor: async (challengeId: string, smsCode: string) =>
    keep(
      await api.post<TokenGrant>('/v1/sessions/second-factor', {
        challenge_id: challengeId,
        sms_code: smsCode,
      }),
    ),
  resetPassword: (body: {
    phone: string
    sms_code: string
    id_number: string
    new_password: string
  }) => api.post<void>('/v1/password-resets', body),
  logout: async () => {
    try {
      await request<void>('DELETE', '/v1/sessions/current', { renew: false })
    } finally {
      setAccessToken(null)
    }
  },
  me: () => api.get<Customer>('/v1/me'),
  updatePreferences: (changes: Preferences) =>
    request<Customer>('PATCH', '/v1/me', { body: changes }),
  devices: () => api.get<Device[]>('/v1/me/devices'),
  revokeDevice: (id: string) => api.delete<void>(`/v1/me/devices/${id}`),
  consents: () => api.get<Consent[]>('/v1/me/consents'),
  withdrawConsent: () => api.post<Consent[]>('/v1/me/consents/withdraw'),
  acceptConsent: (version: string) =>
    api.post<Consent[]>('/v1/me/consents', { policy_version: version }),
  exportData: () => api.get<Record<string, unknown>>('/v1/me/export'),
  passkeys: () => api.get<Passkey[]>('/v1/passkeys'),
  passkeyRegistrationOptions: () => api.post<Ceremony>('/v1/passkeys/registration-options'),
  registerPasskey: (challengeId: string, credential: Record<string, unknown>, name: string) =>
    api.post<Passkey>('/v1/passkeys', { challenge_id: challengeId, credential, name }),
  removePasskey: (id: string) => api.delete<void>(`/v1/passkeys/${id}`),
  passkeyLoginOptions: () => api.post<Ceremony>('/v1/passkeys/login-options'),
  loginWithPasskey: async (
    challengeId: string,
    credential: Record<string, unknown>,
    deviceId: string,
  ) =>
    keep(
      await api.post<TokenGrant>('/v1/passkeys/sessions', {
        challenge_id: challengeId,
        credential,
        device_id: deviceId,
      }),
    ),
}
