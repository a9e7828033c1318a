/** Reporting a transfer as fraud (举报诈骗): when the action is offered and what is sent. */
import type { Transfer } from '@/api/payments'

/** The server's limit on the customer's description. */
export const FRAUD_DESCRIPTION_MAX = 500

/** Only money that reached someone else can be reported; the app lists only outgoing transfers. */
export function canReportFraud(transfer: Pick<Transfer, 'status'>): boolean {
  return transfer.status === 'completed'
}

/** The description as the server accepts it: trimmed, no control characters but line breaks. */
export function cleanDescription(text: string): string {
  const printable = text.replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, '')
  return Array.from(printable.trim()).slice(0, FRAUD_DESCRIPTION_MAX).join('')
}
