/**
 * Messages (消息中心) and the home page's banners. The engagement domain has no API yet,
 * so the inbox is built from what the customer's own data says: transfers become
 * transaction notices, new devices become security alerts. Read state stays on this device.
 */
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

/** Banners until the console's home configuration is served to the app. */
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
