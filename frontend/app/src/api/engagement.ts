/**
 * Messages (消息中心) and the home page the console configures (GET /v1/app/home-config).
 * There is no message API yet, so the inbox is built from what the customer's own data
 * says: transfers become transaction notices, new devices security alerts. Read state
 * stays on this device.
 */
import { api } from './http'
import { identity } from './identity'
import { payments } from './payments'

export type MessageKind = 'transaction' | 'security' | 'marketing'

export interface Message {
  id: string
  kind: MessageKind
  title: string
  body: string
  at: string
  link?: string
}

export interface Banner {
  id: string
  title: string
  subtitle: string
  link: string
  image?: string
}

export interface Notice {
  id: string
  title: string
  body: string
  link: string
}

export interface HomeConfig {
  banners: Banner[]
  notices: Notice[]
  shortcuts: string[] | null
}

interface HomeConfigOut {
  banners: { id: string; title: string; body: string; image_url: string; link: string }[]
  notices: Notice[]
  shortcuts: string[] | null
}

/** Only links inside the app are followed, and only images the CSP allows (same origin). */
function inApp(link: string): string {
  return link.startsWith('/') && !link.startsWith('//') ? link.replace(/^\/app(?=\/)/, '') : ''
}

export async function loadHomeConfig(elderMode: boolean): Promise<HomeConfig> {
  const config = await api.get<HomeConfigOut>('/v1/app/home-config', {
    elder_mode: String(elderMode),
  })
  return {
    banners: config.banners.map((b) => ({
      id: b.id,
      title: b.title,
      subtitle: b.body,
      link: inApp(b.link),
      image: b.image_url.startsWith('/') && !b.image_url.startsWith('//') ? b.image_url : undefined,
    })),
    notices: config.notices.map((n) => ({ ...n, link: inApp(n.link) })),
    shortcuts: config.shortcuts,
  }
}

const READ_KEY = 'zy_messages_read_at'

export function lastReadAt(): string {
  return localStorage.getItem(READ_KEY) || '1970-01-01T00:00:00Z'
}

export function markAllRead(): void {
  localStorage.setItem(READ_KEY, new Date().toISOString())
}

export async function loadMessages(
  t: (key: string, values?: Record<string, unknown>) => string,
  includeMarketing: boolean,
): Promise<Message[]> {
  const [transfers, devices] = await Promise.all([
    payments.transfers().catch(() => ({ transfers: [] })),
    identity.devices().catch(() => []),
  ])
  const messages: Message[] = transfers.transfers.map((transfer) => ({
    id: `transfer:${transfer.id}:${transfer.status}`,
    kind: 'transaction',
    title: t(`status.${transfer.status}`),
    body: t('messages.transferNotice', { name: transfer.to_name, amount: transfer.amount }),
    at: transfer.completed_at || transfer.created_at,
    link: `/transfers/${transfer.id}`,
  }))
  for (const device of devices) {
    messages.push({
      id: `device:${device.id}`,
      kind: 'security',
      title: t('messages.newDeviceTitle'),
      body: t('messages.newDeviceBody', { name: device.name }),
      at: device.first_seen_at,
      link: '/settings/devices',
    })
  }
  if (includeMarketing) {
    messages.push({
      id: 'marketing:welcome',
      kind: 'marketing',
      title: t('messages.welcomeTitle'),
      body: t('messages.welcomeBody'),
      at: '2026-01-01T00:00:00Z',
    })
  }
  return messages.sort((a, b) => b.at.localeCompare(a.at))
}

/** The app's own banners, shown when the console has published none. */
export function defaultBanners(t: (key: string) => string): Banner[] {
  return [
    {
      id: 'safety',
      title: t('banner.safetyTitle'),
      subtitle: t('banner.safetySubtitle'),
      link: '/privacy',
    },
    {
      id: 'elder',
      title: t('banner.elderTitle'),
      subtitle: t('banner.elderSubtitle'),
      link: '/settings',
    },
  ]
}
