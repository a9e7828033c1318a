// After the build: writes name.js.gz / name.css.gz beside each asset (zhangyin.web sends
// them to browsers that accept gzip), then prints the size of the JavaScript the browser
// needs for first paint (the entry and the chunks index.html preloads), gzipped, and
// fails the build above the budget.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

const BUDGET_KB = 200
const dist = fileURLToPath(new URL('../../../zhangyin/web/dist/app/', import.meta.url))
const html = readFileSync(join(dist, 'index.html'), 'utf8')
const firstPaint = [...html.matchAll(/(?:src|href)="\/app\/(assets\/[^"]+\.js)"/g)].map((m) => m[1])
const gz = (file) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length

for (const file of readdirSync(join(dist, 'assets'))) {
  if (!/\.(js|css)$/.test(file)) continue
  const path = join(dist, 'assets', file)
  writeFileSync(`${path}.gz`, gzipSync(readFileSync(path), { level: 9 }))
}
const kb = (bytes) => (bytes / 1024).toFixed(1)

let firstPaintBytes = 0
for (const file of firstPaint) firstPaintBytes += gz(file)
const all = readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.js'))
const allBytes = all.reduce((sum, f) => sum + gz(join('assets', f)), 0)
const css = readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.css'))
const cssBytes = css.reduce((sum, f) => sum + gz(join('assets', f)), 0)

console.log(
  `first-paint JS: ${kb(firstPaintBytes)} KB gzipped in ${firstPaint.length} files (budget ${BUDGET_KB} KB)`,
)
console.log(
  `all JS: ${kb(allBytes)} KB gzipped in ${all.length} files; CSS: ${kb(cssBytes)} KB gzipped`,
)
console.log(
  JSON.stringify({
    bench: 'app-size',
    first_paint_js_gzip_kb: Number(kb(firstPaintBytes)),
    all_js_gzip_kb: Number(kb(allBytes)),
    css_gzip_kb: Number(kb(cssBytes)),
    budget_kb: BUDGET_KB,
  }),
)
if (firstPaintBytes > BUDGET_KB * 1024) {
  console.error(`first-paint JS is over budget (${kb(firstPaintBytes)} KB > ${BUDGET_KB} KB)`)
  process.exit(1)
}
