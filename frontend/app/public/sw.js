/* Zhangyin app shell service worker: the shell loads offline; the API is never cached
   and nothing that moves money is queued (a request made offline simply fails). */
const CACHE = 'zhangyin-shell-v2'
const SHELL = '/app/'

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE)
      const response = await fetch(SHELL, { cache: 'no-cache' })
      const html = await response.clone().text()
      await cache.put(SHELL, response)
      const assets = Array.from(
        html.matchAll(/\/app\/[A-Za-z0-9_./-]+\.(?:js|css|svg|woff2|webmanifest)/g),
        (m) => m[0],
      )
      await cache.addAll(Array.from(new Set(assets)))
      await self.skipWaiting()
    })(),
  )
})

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key)
      await self.clients.claim()
    })(),
  )
})

self.addEventListener('fetch', (event) => {
  const request = event.request
  const url = new URL(request.url)
  if (request.method !== 'GET' || url.origin !== self.location.origin) return
  if (!url.pathname.startsWith('/app/')) return
  if (request.mode === 'navigate') {
    // The cached shell answers at once (no round trip before the app starts); the network
    // copy replaces it for the next visit. A shell that names chunks a newer build removed
    // reloads itself once (main.ts, vite:preloadError), by then with the fresh copy.
    let saved = Promise.resolve()
    const fresh = fetch(request).then((response) => {
      if (response.ok) {
        const copy = response.clone()
        saved = caches.open(CACHE).then((cache) => cache.put(SHELL, copy))
      }
      return response
    })
    event.waitUntil(fresh.then(() => saved).catch(() => undefined))
    event.respondWith(
      caches.match(SHELL).then((hit) => {
        if (hit) {
          fresh.catch(() => undefined)
          return hit
        }
        return fresh.catch(() => caches.match(SHELL))
      }),
    )
    return
  }
  if (url.pathname.startsWith('/app/assets/')) {
    event.respondWith(
      caches.match(request).then(
        (hit) =>
          hit ||
          fetch(request).then((response) => {
            const copy = response.clone()
            if (response.ok) caches.open(CACHE).then((cache) => cache.put(request, copy))
            return response
          }),
      ),
    )
    return
  }
  // The shell's other files (boot.js, the icon, the manifest): the cached copy at once, the
  // network copy for the next visit. What the shell does not name goes to the network.
  event.respondWith(
    caches.match(request).then((hit) => {
      if (!hit) return fetch(request)
      const refresh = fetch(request).then((response) =>
        response.ok ? caches.open(CACHE).then((cache) => cache.put(request, response)) : undefined,
      )
      event.waitUntil(refresh.catch(() => undefined))
      return hit
    }),
  )
})
