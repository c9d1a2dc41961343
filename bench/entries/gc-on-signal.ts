/**
 * Runs another entry (argv[2]) with a full garbage collection on SIGUSR2, for benchmarks only: a
 * memory measurement collects the server's garbage before it reads RSS, so what it reads is what
 * the server holds, not what it has yet to collect.
 *
 *   bun bench/entries/gc-on-signal.ts services/all-in-one/main.ts
 */
import { resolve } from "node:path";

const entry = process.argv[2];
if (!entry) throw new Error("usage: bun bench/entries/gc-on-signal.ts <entry.ts>");
process.on("SIGUSR2", () => Bun.gc(true));
await import(resolve(entry));
