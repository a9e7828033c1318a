import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { useSession } from '@/stores/session'

declare module 'vue-router' {
  interface RouteMeta {
    /** Needs a logged-in customer. */
    auth?: boolean
    /** Shows the bottom tab bar. */
    tab?: boolean
  }
}

/** Home is where a logged-in customer lands: main.ts starts loading it at once. */
export const loadHome = () => import('@/views/HomeView.vue')

const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/home' },
  { path: '/welcome', component: () => import('@/views/WelcomeView.vue') },
  { path: '/register', component: () => import('@/views/RegisterView.vue') },
  { path: '/login', component: () => import('@/views/LoginView.vue') },
  { path: '/login/verify', component: () => import('@/views/NewDeviceView.vue') },
  { path: '/forgot', component: () => import('@/views/ForgotPasswordView.vue') },
  { path: '/privacy', component: () => import('@/views/PrivacyView.vue') },
  {
    path: '/home',
    component: () => import('@/views/HomeView.vue'),
    meta: { auth: true, tab: true },
  },
  {
    path: '/accounts',
    component: () => import('@/views/AccountsView.vue'),
    meta: { auth: true, tab: true },
  },
  {
    path: '/accounts/:id',
    component: () => import('@/views/AccountDetailView.vue'),
    meta: { auth: true },
  },
  { path: '/transfer', component: () => import('@/views/TransferView.vue'), meta: { auth: true } },
  {
    path: '/transfers/:id',
    component: () => import('@/views/TransferResultView.vue'),
    meta: { auth: true },
  },
  { path: '/bills', component: () => import('@/views/BillsView.vue'), meta: { auth: true } },
  { path: '/receive', component: () => import('@/views/ReceiveView.vue'), meta: { auth: true } },
  { path: '/scan', component: () => import('@/views/ScanView.vue'), meta: { auth: true } },
  { path: '/cardless', component: () => import('@/views/CardlessView.vue'), meta: { auth: true } },
  {
    path: '/messages',
    component: () => import('@/views/MessagesView.vue'),
    meta: { auth: true, tab: true },
  },
  {
    path: '/settings',
    component: () => import('@/views/SettingsView.vue'),
    meta: { auth: true, tab: true },
  },
  {
    path: '/settings/devices',
    component: () => import('@/views/DevicesView.vue'),
    meta: { auth: true },
  },
  {
    path: '/settings/passkeys',
    component: () => import('@/views/PasskeysView.vue'),
    meta: { auth: true },
  },
  {
    path: '/settings/limits',
    component: () => import('@/views/LimitsView.vue'),
    meta: { auth: true },
  },
  { path: '/:rest(.*)*', redirect: '/home' },
]

export const router = createRouter({
  history: createWebHistory('/app/'),
  routes,
  scrollBehavior: (_to, _from, saved) => saved ?? { top: 0 },
})

router.beforeEach(async (to) => {
  if (!to.meta.auth) return true
  const session = useSession()
  if (await session.restore()) return true
  return { path: '/welcome', query: to.fullPath === '/home' ? {} : { next: to.fullPath } }
})
