import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Transfer } from '@/api/payments'
import SecondFactorSheet from '@/components/SecondFactorSheet.vue'
import { firstMethod, resultLocation, withChallenge } from '@/lib/stepUp'

const OPTIONS = {
  challenge: 'AAECAw',
  rpId: 'localhost',
  allowCredentials: [{ id: 'BAUG', type: 'public-key' }],
  userVerification: 'required',
}

function challenged(changes: Partial<Transfer> = {}): Transfer {
  return {
    id: 't-1',
    kind: 'intra',
    status: 'pending_challenge',
    from_account_id: 1,
    to_account_number: '6216****5678',
    to_name: '李四',
    to_bank_code: null,
    to_bank_name: null,
    amount: '6000.00',
    currency: 'CNY',
    memo: '',
    arrival: 'instant',
    reason: null,
    challenge_id: 'c-1',
    challenge_methods: ['sms', 'passkey'],
    challenge_passkey_options: OPTIONS,
    due_at: null,
    created_at: '2026-11-23T02:00:00Z',
    completed_at: null,
    timeline: [],
    ...changes,
  }
}

function bytes(...values: number[]): ArrayBuffer {
  return new Uint8Array(values).buffer
}

/** A browser with WebAuthn whose navigator.credentials.get does what `get` does. */
function webauthn(get: (options: CredentialRequestOptions) => Promise<unknown>) {
  const spy = vi.fn(get)
  vi.stubGlobal('PublicKeyCredential', class {})
  Object.defineProperty(navigator, 'credentials', { value: { get: spy }, configurable: true })
  return spy
}

function signed() {
  return {
    id: 'BAUG',
    rawId: bytes(4, 5, 6),
    type: 'public-key',
    response: {
      authenticatorData: bytes(1),
      clientDataJSON: bytes(2),
      signature: bytes(3),
      userHandle: null,
    },
    getClientExtensionResults: () => ({}),
  }
}

function open(transfer: Transfer) {
  return mount(SecondFactorSheet, {
    props: { show: true, transfer, errorMessage: '', busy: false, resend: async () => undefined },
    attachTo: document.body,
  })
}

afterEach(() => {
  vi.unstubAllGlobals()
  Reflect.deleteProperty(navigator, 'credentials')
  document.body.innerHTML = ''
})

describe('firstMethod', () => {
  it('offers the passkey only when the challenge allows it, sent options and WebAuthn exists', () => {
    expect(firstMethod(challenged(), true)).toBe('passkey')
    expect(firstMethod(challenged(), false)).toBe('sms')
    expect(firstMethod(challenged({ challenge_methods: ['sms'] }), true)).toBe('sms')
    expect(firstMethod(challenged({ challenge_passkey_options: null }), true)).toBe('sms')
    expect(firstMethod(challenged({ challenge_passkey_options: undefined }), true)).toBe('sms')
    expect(firstMethod(null, true)).toBe('sms')
  })
})

describe('SecondFactorSheet', () => {
  it('asks for the passkey first and sends its assertion for the server challenge', async () => {
    const get = webauthn(async () => signed())
    const sheet = open(challenged())
    expect(sheet.find('[data-testid="confirm-passkey"]').text()).toBe('使用指纹/面容 (通行密钥)')
    expect(sheet.find('[data-testid="confirm-challenge"]').exists()).toBe(false)
    expect(sheet.find('[data-testid="challenge-amount"]').text()).toBe('¥6,000.00')
    await sheet.find('[data-testid="confirm-passkey"]').trigger('click')
    await flushPromises()
    const publicKey = get.mock.calls[0][0].publicKey as PublicKeyCredentialRequestOptions
    expect(new Uint8Array(publicKey.challenge as ArrayBuffer)).toEqual(new Uint8Array([0, 1, 2, 3]))
    expect(publicKey.rpId).toBe('localhost')
    const [proof] = sheet.emitted('confirm')?.[0] ?? []
    expect(proof).toEqual({
      passkey_assertion: {
        id: 'BAUG',
        rawId: 'BAUG',
        type: 'public-key',
        response: {
          authenticatorData: 'AQ',
          clientDataJSON: 'Ag',
          signature: 'Aw',
          userHandle: null,
        },
        clientExtensionResults: {},
      },
    })
  })

  it('falls back to the SMS code, saying why, when the customer cancels', async () => {
    webauthn(async () => {
      throw new DOMException('cancelled', 'NotAllowedError')
    })
    const sheet = open(challenged())
    await sheet.find('[data-testid="confirm-passkey"]').trigger('click')
    await flushPromises()
    expect(sheet.emitted('confirm')).toBeUndefined()
    expect(sheet.find('[data-testid="passkey-fallback"]').text()).toContain('已取消')
    expect(sheet.find('[data-testid="confirm-challenge"]').exists()).toBe(true)
    // The passkey stays the other choice.
    await sheet.find('[data-testid="use-passkey"]').trigger('click')
    expect(sheet.find('[data-testid="confirm-passkey"]').exists()).toBe(true)
    expect(sheet.find('[data-testid="passkey-fallback"]').exists()).toBe(false)
  })

  it('says the passkey did not finish when the authenticator fails otherwise', async () => {
    webauthn(async () => {
      throw new DOMException('no key', 'InvalidStateError')
    })
    const sheet = open(challenged())
    await sheet.find('[data-testid="confirm-passkey"]').trigger('click')
    await flushPromises()
    expect(sheet.find('[data-testid="passkey-fallback"]').text()).toContain('未能完成')
  })

  it('asks for the SMS code straight away where the browser has no WebAuthn', () => {
    const sheet = open(challenged())
    expect(sheet.find('[data-testid="confirm-passkey"]').exists()).toBe(false)
    expect(sheet.find('[data-testid="use-passkey"]').exists()).toBe(false)
    expect(sheet.find('[data-testid="confirm-challenge"]').exists()).toBe(true)
  })

  it('lets a passkey holder choose the SMS code and sends only the code', async () => {
    const get = webauthn(async () => signed())
    const sheet = open(challenged())
    await sheet.find('[data-testid="use-sms"]').trigger('click')
    await sheet.find('input').setValue('123456')
    await sheet.find('[data-testid="confirm-challenge"]').trigger('click')
    expect(sheet.emitted('confirm')?.[0]).toEqual([{ sms_code: '123456' }])
    expect(get).not.toHaveBeenCalled()
  })
})

describe('the challenge handed to the result screen', () => {
  it('keeps the passkey options for the same pending challenge only', () => {
    const made = challenged()
    const { path, state } = resultLocation(made)
    expect(path).toBe('/transfers/t-1')
    const loaded = challenged({ challenge_methods: [], challenge_passkey_options: null })
    expect(firstMethod(withChallenge(loaded, state), true)).toBe('passkey')
    expect(
      withChallenge(challenged({ challenge_id: 'c-2', challenge_methods: [] }), state),
    ).toEqual(challenged({ challenge_id: 'c-2', challenge_methods: [] }))
    const done = challenged({ status: 'completed', challenge_id: null, challenge_methods: [] })
    expect(withChallenge(done, state)).toBe(done)
    expect(withChallenge(loaded, null)).toBe(loaded)
    expect(resultLocation(challenged({ status: 'completed' })).state.challenged).toBeNull()
  })
})
