/**
 * What the console's first load ships: builds it, then sums the scripts and stylesheets `index.html`
 * names, raw and gzipped (level 9, as a server would send them). `bun bench/console-size.ts`.
 */
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { DIST_DIR, buildConsole } from "../services/console/build.ts";

await buildConsole();
const html = await Bun.file(join(DIST_DIR, "index.html")).text();
const names = [...html.matchAll(/(?:src|href)="\/assets\/([^"]+)"/g)].map((m) => m[1]!);
const rows = await Promise.all(
  names.map(async (name) => {
    const bytes = new Uint8Array(await Bun.file(join(DIST_DIR, "assets", name)).arrayBuffer());
    return { name, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  }),
);
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
for (const r of rows) console.log(`${r.name.padEnd(28)} ${kb(r.raw).padStart(10)} raw ${kb(r.gzip).padStart(10)} gzipped`);
const js = rows.filter((r) => r.name.endsWith(".js")).reduce((s, r) => s + r.gzip, 0);
console.log(`JavaScript on first load: ${kb(js)} gzipped (target ≤ 300 KB)`);
