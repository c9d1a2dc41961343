/**
 * Builds the console with Bun's bundler into `dist/`: `index.html` naming content-hashed
 * `assets/` (scripts and styles only, nothing inline, nothing from elsewhere). A build is written
 * to a fresh directory and swapped in whole, so a server never reads half of one.
 * `bun services/console/build.ts` builds; `--watch` rebuilds on every change under `src/`.
 */
import { existsSync, mkdirSync, renameSync, rmSync, watch } from "node:fs";
import { basename, join } from "node:path";

export const CONSOLE_DIR = import.meta.dir;
export const DIST_DIR = join(CONSOLE_DIR, "dist");
const SRC_DIR = join(CONSOLE_DIR, "src");

export interface BuildResult {
  dir: string;
  scripts: string[];
  styles: string[];
}

const page = (scripts: string[], styles: string[]) => `<!doctype html>
<html lang="en" data-mantine-color-scheme="light">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Vexil</title>
${styles.map((s) => `<link rel="stylesheet" href="/assets/${s}">`).join("\n")}
${scripts.map((s) => `<script type="module" src="/assets/${s}"></script>`).join("\n")}
</head>
<body>
<div id="root"></div>
<noscript>The Vexil console needs JavaScript.</noscript>
</body>
</html>
`;

/** Builds the console into `outDir` (default `dist/`). */
export async function buildConsole(outDir = DIST_DIR): Promise<BuildResult> {
  const staging = `${outDir}.${process.pid}.${crypto.randomUUID().slice(0, 8)}`;
  mkdirSync(staging, { recursive: true });
  try {
    const result = await Bun.build({
      entrypoints: [join(SRC_DIR, "main.tsx")],
      outdir: join(staging, "assets"),
      target: "browser",
      format: "esm",
      splitting: true,
      minify: true,
      sourcemap: "none",
      naming: { entry: "[name]-[hash].[ext]", chunk: "[name]-[hash].[ext]", asset: "[name]-[hash].[ext]" },
      define: { "process.env.NODE_ENV": JSON.stringify("production") },
    });
    if (!result.success) throw new AggregateError(result.logs, "The console did not build");
    const names = result.outputs.map((o) => ({ kind: o.kind, name: basename(o.path) }));
    const scripts = names.filter((o) => o.kind === "entry-point" && o.name.endsWith(".js")).map((o) => o.name);
    const styles = names.filter((o) => o.name.endsWith(".css")).map((o) => o.name);
    await Bun.write(join(staging, "index.html"), page(scripts, styles));
    const old = `${outDir}.old.${process.pid}.${crypto.randomUUID().slice(0, 8)}`;
    if (existsSync(outDir)) renameSync(outDir, old);
    renameSync(staging, outDir);
    rmSync(old, { recursive: true, force: true });
    return { dir: outDir, scripts, styles };
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}

/** Builds the console unless a build is already there. */
export async function ensureConsoleBuilt(outDir = DIST_DIR): Promise<string> {
  const index = join(outDir, "index.html");
  if (existsSync(index)) return outDir;
  try {
    await buildConsole(outDir);
  } catch (e) {
    // Processes started together may build at once: the first swapped in wins, the others keep it.
    if (!existsSync(index)) throw e;
  }
  return outDir;
}

/** Rebuilds on every change under `src/` until the process ends. */
export function watchConsole(outDir = DIST_DIR): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watcher = watch(SRC_DIR, { recursive: true }, () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      buildConsole(outDir).then(
        (b) => console.log(`console rebuilt: ${b.scripts.join(", ")}`),
        (e) => console.error(String(e), ...(e instanceof AggregateError ? e.errors.map(String) : [])),
      );
    }, 100);
  });
  return () => watcher.close();
}

if (import.meta.main) {
  const started = performance.now();
  const built = await buildConsole();
  console.log(`console built in ${Math.round(performance.now() - started)} ms: ${[...built.scripts, ...built.styles].join(", ")}`);
  if (process.argv.includes("--watch")) {
    watchConsole();
    console.log(`watching ${SRC_DIR}`);
  }
}
