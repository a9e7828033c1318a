/// <reference types="vitest/config" />
import { fileURLToPath, URL } from 'node:url'
import vue from '@vitejs/plugin-vue'
import { defineConfig, type Plugin, type Rollup } from 'vite'

const BASE = '/app/'
const OUT_DIR = fileURLToPath(new URL('../../zhangyin/web/dist/app', import.meta.url))

/**
 * Vant ships its icon font as a data: URI with a CDN fallback. The strict CSP
 * (font-src 'self') refuses both, so the build writes the font next to the app
 * and points the @font-face at it: nothing is fetched from the internet.
 */
function localVantIconFont(): Plugin {
  return {
    name: 'zhangyin:local-vant-icon-font',
    apply: 'build',
    enforce: 'pre',
    transform(code, id) {
      if (!id.includes('vant') || !id.endsWith('.css')) return null
      const found =
        /@font-face\s*\{[^}]*font-family:\s*vant-icon[^}]*base64,([A-Za-z0-9+/=]+)[^}]*\}/.exec(
          code,
        )
      if (!found) return null
      this.emitFile({
        type: 'asset',
        fileName: 'assets/vant-icon.woff2',
        source: Buffer.from(found[1], 'base64'),
      })
      const local =
        '@font-face{font-family:vant-icon;font-style:normal;font-weight:400;font-display:block;' +
        `src:url(${BASE}assets/vant-icon.woff2) format("woff2")}`
      return { code: code.replace(found[0], local), map: null }
    },
  }
}

/**
 * A logged-in customer lands on the home screen: index.html names its code (the chunk and
 * what it imports, its CSS) so the browser fetches it alongside the entry script instead of
 * one round trip after it, and the service worker's install caches it with the shell.
 */
function preloadHome(): Plugin {
  return {
    name: 'zhangyin:preload-home',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(_html, context) {
        const chunks = Object.values(context.bundle ?? {}).filter(
          (item): item is Rollup.OutputChunk => item.type === 'chunk',
        )
        const byName = new Map(chunks.map((chunk) => [chunk.fileName, chunk]))
        const closure = (start: Rollup.OutputChunk[]): Set<Rollup.OutputChunk> => {
          const seen = new Set<Rollup.OutputChunk>()
          const visit = (chunk: Rollup.OutputChunk) => {
            if (seen.has(chunk)) return
            seen.add(chunk)
            for (const name of chunk.imports) {
              const next = byName.get(name)
              if (next) visit(next)
            }
          }
          start.forEach(visit)
          return seen
        }
        const home = chunks.find((chunk) => chunk.facadeModuleId?.endsWith('/views/HomeView.vue'))
        if (!home) throw new Error('preload-home: no chunk for views/HomeView.vue')
        const loaded = closure(chunks.filter((chunk) => chunk.isEntry))
        const needed = [...closure([home])].filter((chunk) => !loaded.has(chunk))
        return needed.flatMap((chunk) => [
          {
            tag: 'link',
            attrs: { rel: 'modulepreload', crossorigin: true, href: BASE + chunk.fileName },
            injectTo: 'head' as const,
          },
          ...[...(chunk.viteMetadata?.importedCss ?? [])].map((css) => ({
            tag: 'link',
            attrs: { rel: 'preload', as: 'style', crossorigin: true, href: BASE + css },
            injectTo: 'head' as const,
          })),
        ])
      },
    },
  }
}

export default defineConfig({
  base: BASE,
  plugins: [vue(), localVantIconFont(), preloadHome()],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  define: {
    __VUE_OPTIONS_API__: 'false',
    __VUE_PROD_DEVTOOLS__: 'false',
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
    __VUE_I18N_FULL_INSTALL__: 'false',
    __VUE_I18N_LEGACY_API__: 'false',
    __INTLIFY_PROD_DEVTOOLS__: 'false',
  },
  build: {
    outDir: OUT_DIR,
    emptyOutDir: true,
    target: 'es2020',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 300,
  },
  server: {
    proxy: { '/v1': 'http://127.0.0.1:8000' },
  },
  test: {
    environment: 'happy-dom',
    include: ['tests/**/*.spec.ts'],
    setupFiles: ['tests/setup.ts'],
  },
})
