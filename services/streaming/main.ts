/** The streaming service on its own: `NATS_URL=… bun services/streaming/main.ts`. */
import { runStandalone } from "@vexil/shared/standalone";
import { startStreamingService } from "./service.ts";

await runStandalone({ name: "streaming", usesDatabase: false, start: ({ logger }) => startStreamingService({ logger }) });
