import { config } from '@vue/test-utils'
import { afterAll } from 'vitest'
import { i18n, setLanguage } from '@/i18n'

config.global.plugins = [i18n]
setLanguage('zh-CN')

/**
 * Vant's safe-area placeholders (nav bar, action bar, tab bar) measure themselves again
 * 100, 200 and 300 ms after mounting. A file that finishes sooner tears its window down
 * first, and those timers then throw "window is not defined" after the tests have passed:
 * let them run out while the window still exists.
 */
const VANT_PLACEHOLDER_SETTLE_MS = 350
afterAll(() => new Promise((settled) => setTimeout(settled, VANT_PLACEHOLDER_SETTLE_MS)))
