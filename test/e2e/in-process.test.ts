/** The scenario through the gateway's `handle`, with every service in memory: no server, no database. */
import { describe, test } from "bun:test";
import { createAuthApp } from "@vexil/auth/app";
import { serveAuthBus } from "@vexil/auth/bus-handlers";
import { bootstrapAuth } from "@vexil/auth/domain/bootstrap";
import { MemoryAuthStore } from "@vexil/auth/storage/memory-auth-store";
import { createFlagsApp } from "@vexil/flags/app";
import { bootstrapDefaultProject } from "@vexil/flags/domain/projects";
import { busKeyIssuer } from "@vexil/flags/env-keys-client";
import { MemoryProjectStore } from "@vexil/flags/storage/memory-project-store";
import { createGateway } from "@vexil/gateway/app";
import { busCallerVerifier } from "@vexil/gateway/caller-verifier";
import { MemoryBus } from "@vexil/shared/bus/memory-bus";
import { silentLogger } from "@vexil/shared/logger";
import { inProcessServiceClient } from "@vexil/shared/transport/http-over-bus";
import { makeClient } from "../support/client.ts";
import { runScenario } from "./scenario.ts";

export async function inMemoryGateway(adminToken: string) {
  const bus = new MemoryBus();
  const authStore = new MemoryAuthStore();
  await bootstrapAuth(authStore, adminToken);
  serveAuthBus(bus, authStore, silentLogger);
  const flagsCtx = { store: new MemoryProjectStore(), keys: busKeyIssuer(bus, 1_000), logger: silentLogger, now: Date.now };
  await bootstrapDefaultProject(flagsCtx);
  const auth = createAuthApp({ store: authStore, logger: silentLogger });
  const flags = createFlagsApp(flagsCtx);
  return createGateway({
    services: {
      auth: inProcessServiceClient("auth", (r) => auth.handle(r), 1_000),
      flags: inProcessServiceClient("flags", (r) => flags.handle(r), 1_000),
    },
    verifier: busCallerVerifier(bus, { timeoutMs: 1_000 }),
    logger: silentLogger,
    readiness: { checks: {}, isShuttingDown: () => false },
  });
}

describe("in-process gateway with in-memory services", () => {
  test("projects and environments scenario", async () => {
    const token = "in-process-admin-token";
    const gateway = await inMemoryGateway(token);
    await runScenario(makeClient(["http://localhost"], `Bearer ${token}`, (r) => gateway.handle(r)));
  });
});
