/**
 * How a challenged transfer is confirmed: with a passkey when the server's challenge allows one
 * and this browser can use it, otherwise (or when the passkey check does not finish) by SMS code.
 */
import type { HistoryState } from 'vue-router'
import type { Transfer } from '@/api/payments'
import { getAssertion } from './webauthn'

export type StepUpMethod = 'passkey' | 'sms'

/** What POST /v1/transfers/{id}/confirm takes besides the challenge id. */
export type StepUpProof = { sms_code: string } | { passkey_assertion: Record<string, unknown> }

/** The passkey is offered first only when the server sent its options with the challenge. */
export function firstMethod(transfer: Transfer | null, webauthn: boolean): StepUpMethod {
  return webauthn &&
    transfer?.challenge_methods.includes('passkey') === true &&
    !!transfer.challenge_passkey_options
    ? 'passkey'
    : 'sms'
}

/**
 * Sign the server's challenge with a passkey. Resolves to the proof, or to the i18n key of the
 * message that sends the customer to the SMS code (no WebAuthn here, cancelled, or failed).
 */
export async function passkeyProof(
  options: Record<string, unknown>,
  webauthn: boolean,
): Promise<StepUpProof | string> {
  if (!webauthn) return 'transfer.passkeyUnavailable'
  try {
    return { passkey_assertion: await getAssertion(options) }
  } catch (error) {
    // NotAllowedError: the customer cancelled, or the prompt timed out.
    return error instanceof DOMException && error.name === 'NotAllowedError'
      ? 'transfer.passkeyCancelled'
      : 'transfer.passkeyFailed'
  }
}

/**
 * Where a screen that made a transfer sends the customer next: its result screen, with the
 * reply that challenged it in the history state. A later GET does not repeat the passkey
 * options (only the challenging reply carries them), so the result screen takes them from here.
 */
export function resultLocation(transfer: Transfer): { path: string; state: HistoryState } {
  // A plain copy: history state is structured-cloned, which a reactive proxy cannot be.
  const challenged =
    transfer.status === 'pending_challenge'
      ? (JSON.parse(JSON.stringify(transfer)) as HistoryState)
      : null
  return { path: `/transfers/${transfer.id}`, state: { challenged } }
}

/** `loaded` with the challenge's methods and passkey options from `state`, if for this challenge. */
export function withChallenge(loaded: Transfer, state: unknown): Transfer {
  const made = (state as { challenged?: Transfer | null } | null)?.challenged
  if (
    !made ||
    loaded.status !== 'pending_challenge' ||
    made.id !== loaded.id ||
    made.challenge_id !== loaded.challenge_id
  )
    return loaded
  return {
    ...loaded,
    challenge_methods: made.challenge_methods,
    challenge_passkey_options: made.challenge_passkey_options,
  }
}
