import 'vant/lib/index.css'
import './styles/app.css'
import { createPinia } from 'pinia'
import { createApp } from 'vue'
import App from './App.vue'
import { whenSessionLost } from './api/http'
import { i18n } from './i18n'
import { router } from './router'
import { useSession } from './stores/session'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia).use(i18n).use(router)

whenSessionLost(() => {
  useSession(pinia).forget()
  if (router.currentRoute.value.meta.auth) router.replace('/login')
})

app.mount('#app')

if ('serviceWorker' in navigator && import.meta.env.PROD) {
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/app/sw.js', { scope: '/app/' }).catch(() => undefined)
  })
}
