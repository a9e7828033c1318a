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

// While the session is renewed (refresh, then /v1/me), fetch the home screen's code in parallel.
if (/^\/app\/?(home)?$/.test(location.pathname)) loadHome().catch(() => undefined)

const app = createApp(App)
const pinia = createPinia()
app.use(pinia).use(i18n).use(router)

const session = useSession(pinia)
const prefs = usePrefs(pinia)
session.whenRestored(() => session.customer && prefs.useCustomer(session.customer.id))

whenSessionLost(() => {
  session.forget()
  if (router.currentRoute.value.meta.auth) router.replace('/login')
})

app.mount('#app')

if ('serviceWorker' in navigator && import.meta.env.PROD) {
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/app/sw.js', { scope: '/app/' }).catch(() => undefined)
  })
}
