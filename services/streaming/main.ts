/** The streaming service on its own: `NATS_URL=… VEXIL_INTERNAL_KEY=… bun services/streaming/main.ts`; SDKs connect to its PORT. */
import { runStandalone } from "@vexil/shared/standalone";
import { startStreamingService } from "./service.ts";

await runStandalone({
  name: "streaming",
  usesDatabase: false,
  start: async ({ bus, logger, config }) => {
    const streaming = await startStreamingService({
      bus,
      logger,
      requestTimeoutMs: config.serviceTimeoutMs,
      streamLimit: config.streamLimit,
      heartbeatMs: config.streamHeartbeatMs,
      evaluationsFlushMs: config.evaluationsFlushMs,
    });
    return { publicHandle: streaming.handle, beforeStop: streaming.closeStreams, stop: streaming.stop };
  },
});
