/** The all-in-one process with authentication bypassed, for benchmarks only. */
import { startAllInOne } from "@vexil/all-in-one/start";
import { loadConfig } from "@vexil/shared/config";
import { runMain } from "@vexil/shared/lifecycle";
import { fixedCallerVerifier } from "./fixed-caller.ts";

await runMain(async () => {
  await startAllInOne(loadConfig(process.env), { verifier: fixedCallerVerifier });
});
