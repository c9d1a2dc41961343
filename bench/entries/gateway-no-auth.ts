/** A gateway with authentication bypassed, for benchmarks only; it joins a cluster through NATS_URL. */
import { startGateway } from "@vexil/gateway/start";
import { loadConfig } from "@vexil/shared/config";
import { runMain } from "@vexil/shared/lifecycle";
import { fixedCallerVerifier } from "./fixed-caller.ts";

await runMain(async () => {
  await startGateway(loadConfig(process.env, { nats: true, database: false }), { verifier: fixedCallerVerifier });
});
