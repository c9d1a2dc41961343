/**
 * `bun run dev`: the all-in-one process with the console rebuilt on every change under `src/` (the
 * gateway reads the build from disk on each request: reload the page to get the new one).
 */
import { join } from "node:path";
import { buildConsole, watchConsole } from "./build.ts";

await buildConsole();
watchConsole();
const server = Bun.spawn(["bun", join(import.meta.dir, "../all-in-one/main.ts")], { stdio: ["inherit", "inherit", "inherit"] });
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => server.kill(signal));
process.exit(await server.exited);
