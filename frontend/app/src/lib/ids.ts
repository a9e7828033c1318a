/** Random identifiers: idempotency keys (one per confirm screen) and this device's id. */

function randomHex(bytes: number): string {
  const values = new Uint8Array(bytes)
  crypto.getRandomValues(values)
  return Array.from(values, (b) => b.toString(16).padStart(2, '0')).join('')
}

export function newIdempotencyKey(): string {
  return typeof crypto.randomUUID === 'function' ? crypto.randomUUID() : randomHex(16)
}

const DEVICE_KEY = 'zy_device_id'

/** The id this browser presents at login; it is not a secret (the server binds trust to it). */
export function deviceId(): string {
  let id = localStorage.getItem(DEVICE_KEY)
  if (!id || !/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
    id = `web-${randomHex(12)}`
    localStorage.setItem(DEVICE_KEY, id)
  }
  return id
}
