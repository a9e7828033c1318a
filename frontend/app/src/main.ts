import 'vant/lib/index.css'
import './styles/app.css'
import { createPinia } from 'pinia'
import { createApp } from 'vue'
import App from './App.vue'
import { whenSessionLost } from './api/http'
import { i18n } from './i18n'
import { loadHome, router } from './router'
import { usePrefs } from './stores/prefs'
import { useSession } from './stores/session'

const RELOADED_AT_KEY = 'zy_reloaded_for_new_build'

// A logged-in customer lands on home: start its code now (public/boot.js started its data).
if (/^\/app\/?(home)?$/.test(location.pathname)) loadHome().catch(() => undefined)

const app = createApp(App)
const pinia = createPinia()
app.use(pinia).use(i18n).use(router)

const session = useSession(pinia)
const prefs = usePrefs(pinia)
session.whenRestored(() => session.customer && prefs.useCustomer(session.customer))

whenSessionLost(() => {
  session.forget()
  if (router.currentRoute.value.meta.auth) router.replace('/login')
})

app.mount('#app')

// The service worker answers with the cached shell first: after a new build it may name
// chunks the server no longer has. Reload once; the worker has fetched the new shell.
window.addEventListener('vite:preloadError', (event) => {
  const last = Number(sessionStorage.getItem(RELOADED_AT_KEY))
  if (Date.now() - last < 10_000) return
  sessionStorage.setItem(RELOADED_AT_KEY, String(Date.now()))
  event.preventDefault()
  location.reload()
})

if ('serviceWorker' in navigator && import.meta.env.PROD) {
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/app/sw.js', { scope: '/app/' }).catch(() => undefined)
  })
}
