import { createApp } from 'vue'
import { createRouter, createWebHistory } from 'vue-router'
import ElementPlus from 'element-plus'
import 'element-plus/dist/index.css'
import zhCn from 'element-plus/es/locale/lang/zh-cn'
import App from './App.vue'
import { i18n } from './i18n'
import { loggedIn } from './api'
import LoginView from './views/LoginView.vue'
import DashboardView from './views/DashboardView.vue'
import HomeConfigView from './views/HomeConfigView.vue'
import CustomersView from './views/CustomersView.vue'
import ConfigView from './views/ConfigView.vue'
import RiskView from './views/RiskView.vue'
import LimitsView from './views/LimitsView.vue'
import StaffView from './views/StaffView.vue'

const router = createRouter({
  history: createWebHistory('/console/'),
  routes: [
    { path: '/login', component: LoginView },
    { path: '/', component: DashboardView },
    { path: '/home-config', component: HomeConfigView },
    { path: '/customers', component: CustomersView },
    { path: '/config', component: ConfigView },
    { path: '/risk', component: RiskView },
    // One case, for links from alert e-mails and the customer 360's risk events.
    { path: '/risk/cases/:caseId', component: RiskView, props: true },
    { path: '/limits', component: LimitsView },
    { path: '/staff', component: StaffView },
  ],
})
// The token lives in memory only, so a link opened in a new tab logs in first, then goes on.
router.beforeEach((to) =>
  to.path !== '/login' && !loggedIn() ? { path: '/login', query: { next: to.fullPath } } : true,
)

createApp(App).use(router).use(i18n).use(ElementPlus, { locale: zhCn }).mount('#app')
