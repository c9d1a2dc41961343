/** The gateway on its own: `NATS_URL=… VEXIL_INTERNAL_KEY=… PORT=8080 bun services/gateway/main.ts`. Run as many as you like. */
import { loadConfig } from "@vexil/shared/config";
import { runMain } from "@vexil/shared/lifecycle";
import { startGateway } from "./start.ts";

await runMain(async () => {
  await startGateway(loadConfig(process.env, { nats: true, database: false }));
});
