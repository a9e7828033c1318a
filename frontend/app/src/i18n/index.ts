import { createI18n } from 'vue-i18n'
import { Locale as VantLocale } from 'vant'
import vantEnUS from 'vant/es/locale/lang/en-US'
import vantZhCN from 'vant/es/locale/lang/zh-CN'
import { setApiLanguage } from '@/api/http'
import enUS from './en-US'
import zhCN from './zh-CN'

export type Language = 'zh-CN' | 'en-US'
export const LANGUAGES: Language[] = ['zh-CN', 'en-US']
const LANGUAGE_KEY = 'zy_language'

function initialLanguage(): Language {
  const saved = typeof localStorage !== 'undefined' ? localStorage.getItem(LANGUAGE_KEY) : null
  if (saved === 'zh-CN' || saved === 'en-US') return saved
  return 'zh-CN'
}

export const i18n = createI18n({
  legacy: false,
  locale: initialLanguage(),
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zhCN, 'en-US': enUS },
  missingWarn: false,
  fallbackWarn: false,
})

export function setLanguage(language: Language): void {
  i18n.global.locale.value = language
  setApiLanguage(language)
  VantLocale.use(language, language === 'en-US' ? vantEnUS : vantZhCN)
  if (typeof document !== 'undefined') document.documentElement.lang = language
  if (typeof localStorage !== 'undefined') localStorage.setItem(LANGUAGE_KEY, language)
}

export function currentLanguage(): Language {
  return i18n.global.locale.value as Language
}

setLanguage(initialLanguage())
