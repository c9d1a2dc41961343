/**
 * Opening the embedded database (PGlite: Postgres compiled to WebAssembly, running in this
 * process) with settings sized for a long-running server rather than PGlite's defaults.
 *
 * Memory, measured on an idle all-in-one process (`bench/idle.ts`, BENCHMARKS.md):
 * - `shared_buffers` is Postgres's own default, 128 MB, and PGlite touches all of it at start-up:
 *   about 120 MB of resident memory that a flag store's working set never needs. 4 MB (512 pages)
 *   holds the catalogs and the hot rows; the files sit in the operating system's page cache
 *   anyway, so a buffer miss costs a read from memory, not a disk seek.
 * - `max_connections` sizes per-backend arrays and the lock table in shared memory (5 MB at the
 *   default 100); PGlite is one backend.
 * - The first start runs initdb, for which PGlite starts a second Postgres and an initdb module
 *   of their own, peaking near 1 GB; the process then keeps tens of megabytes of that in its
 *   heap for good. A fresh data directory is therefore initialised by a short-lived child process,
 *   and this process only ever opens an existing one.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { PGlite } from "@electric-sql/pglite";

/** Startup settings added to PGlite's own (`-c name=value`, as for `postgres`). */
const SETTINGS = ["shared_buffers=4MB", "max_connections=5"];

async function create(dir: string): Promise<PGlite> {
  const { PGlite } = await import("@electric-sql/pglite");
  return PGlite.create(dir, { startParams: [...PGlite.defaultStartParams, ...SETTINGS.flatMap((s) => ["-c", s])] });
}

/** PGlite on `dir`, created (in a child process) if it holds no database yet. */
export async function openPgliteDir(dir: string): Promise<PGlite> {
  mkdirSync(dir, { recursive: true });
  if (!existsSync(join(dir, "PG_VERSION"))) {
    const child = Bun.spawn([process.execPath, fileURLToPath(import.meta.url), dir], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
    if (code !== 0) throw new Error(`the embedded database could not be created in ${dir}: ${stderr.trim().split("\n").slice(-3).join(" ") || `exit ${code}`}`);
  }
  return create(dir);
}

// Run as a script: create the database in the directory given, and exit.
if (import.meta.main) {
  const dir = process.argv[2];
  if (!dir) throw new Error("usage: bun shared/db/pglite.ts <directory>");
  await (await create(dir)).close();
}
