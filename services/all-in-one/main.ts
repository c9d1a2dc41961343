/** Every service in one process on one port: `bun run start`. */
import { loadConfig } from "@vexil/shared/config";
import { runMain } from "@vexil/shared/lifecycle";
import { startAllInOne } from "./start.ts";

await runMain(async () => {
  await startAllInOne(loadConfig(process.env));
});
