/** The flags use cases over the in-memory store, for the domain tests that need one. */
import { createAssertions } from "@vexil/shared/assertion";
import { CALLER_HEADER, type Caller } from "@vexil/shared/caller";
import { VexilError } from "@vexil/shared/errors";
import { silentLogger } from "@vexil/shared/logger";
import { createFlagsApp } from "@vexil/flags/app";
import type { EnvironmentKeyIssuer, FlagsContext } from "@vexil/flags/domain/context";
import { createProject } from "@vexil/flags/domain/projects";
import { MemoryFlagStore } from "@vexil/flags/storage/memory-flag-store";

const keys: EnvironmentKeyIssuer = {
  issue: async (ids) => ids.map((environmentId) => ({ environmentId, sdkKey: `sdk-${environmentId}`, mobileKey: `mob-${environmentId}` })),
  forget: async () => {},
  reset: async ({ environmentId }) => `sdk-${environmentId}-reset`,
};

const EVERYTHING = ["proj/*", "proj/*:env/*", "proj/*:env/*:flag/*", "proj/*:env/*:segment/*"];

export const admin: Caller = {
  kind: "token",
  tokenId: "t-admin",
  tokenName: "admin",
  memberId: null,
  memberEmail: null,
  role: "admin",
  serviceToken: true,
  grants: [{ base: "reader", statements: [{ effect: "allow", resources: EVERYTHING, actions: ["*"] }] }],
};

export const reader: Caller = { ...admin, tokenId: "t-reader", tokenName: "reader", role: "reader", grants: [{ base: "reader", statements: [] }] };

/** A memory store and a context over it, with the project `shop` (environments `production`, `test`). */
export async function memoryContext(now: () => number = Date.now): Promise<{ ctx: FlagsContext; store: MemoryFlagStore }> {
  const store = new MemoryFlagStore();
  const ctx: FlagsContext = { store, flags: store, segments: store, schedules: store.schedules, approvals: store.approvals, usage: store, audit: store, keys, logger: silentLogger, now };
  await createProject(ctx, admin, {
    key: "shop",
    name: "Shop",
    environments: [
      { key: "production", name: "Production", color: "ff0000" },
      { key: "test", name: "Test", color: "00ff00" },
    ],
  });
  return { ctx, store };
}

/** The VexilError `work` rejects with; fails the test if it resolves or throws anything else. */
export async function rejection(work: Promise<unknown>): Promise<VexilError> {
  let error: unknown;
  try {
    await work;
  } catch (e) {
    error = e;
  }
  if (!(error instanceof VexilError)) throw new Error(`expected a VexilError, got ${error === undefined ? "success" : String(error)}`);
  return error;
}

/** A JSON answer of the flags app. */
export interface Answer {
  status: number;
  body: any;
}

/**
 * The flags service's HTTP app over a memory context (`memoryContext`), called as the gateway
 * would: with `admin`'s signed assertion. Routes, schemas and the error format included.
 */
export async function memoryApp(now: () => number = Date.now) {
  const { ctx, store } = await memoryContext(now);
  const assertions = createAssertions(crypto.getRandomValues(new Uint8Array(32)));
  const app = createFlagsApp(ctx, assertions);
  const assertion = await assertions.sign(admin);
  const call = async (method: string, path: string, body?: unknown, contentType = "application/json"): Promise<Answer> => {
    const headers: Record<string, string> = { [CALLER_HEADER]: assertion };
    if (body !== undefined) headers["content-type"] = contentType;
    const response = await app.handle(new Request(`http://flags${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }));
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  return { ctx, store, call };
}
