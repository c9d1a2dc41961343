/** What the auth service answers on the bus: verdicts for the gateways, environment keys for flags, usage from the gateways. */
import type {
  DeleteEnvironmentKeysRequest,
  IssueEnvironmentKeysReply,
  IssueEnvironmentKeysRequest,
  ResetEnvironmentKeyReply,
  ResetEnvironmentKeyRequest,
  UsageEvent,
  Verdict,
  VerifyRequest,
} from "@vexil/shared/auth-messages";
import { decodeJson, encodeJson, type Bus, type Subscription } from "@vexil/shared/bus/bus";
import { serveJson } from "@vexil/shared/bus/rpc";
import { invalidRequest } from "@vexil/shared/errors";
import { queueGroup, subjects } from "@vexil/shared/subjects";
import type { AuthContext, AuthEvents } from "./domain/context.ts";
import { issueEnvironmentKeys, resetEnvironmentKey, verifyEnvironmentKey, type SdkKeyVerdict } from "./domain/environment-keys.ts";
import { verifySession } from "./domain/sessions.ts";
import { verifyAccessToken } from "./domain/token-verifier.ts";

const ids = (body: { environmentIds?: unknown }) => {
  if (!Array.isArray(body.environmentIds) || !body.environmentIds.every((x) => typeof x === "string")) {
    throw invalidRequest("environmentIds must be an array of strings");
  }
  return body.environmentIds as string[];
};

const REFUSED: Verdict = { v: 1, ok: false, reason: "Invalid access token" };

/** Publishes, then waits until the server has it, so every subscriber hears of it before the caller's reply. */
export function busAuthEvents(bus: Bus): AuthEvents {
  return {
    async revoked(event) {
      bus.publish(subjects.authRevoked, encodeJson({ v: 1, ...event }));
      await bus.flush();
    },
    async environmentKeysRevoked(event) {
      bus.publish(subjects.authEnvironmentKeysRevoked, encodeJson({ v: 1, ...event }));
      await bus.flush();
    },
  };
}

export function serveAuthBus(bus: Bus, ctx: AuthContext): Subscription[] {
  const queue = queueGroup("auth");
  const { logger, store } = ctx;
  return [
    serveJson<VerifyRequest, Verdict>(bus, subjects.authVerify, queue, logger, async (body) => {
      if (typeof body.token === "string") return verifyAccessToken(store, body.token, ctx.now());
      if (typeof body.session === "string") return verifySession(ctx, body.session);
      return REFUSED;
    }),
    serveJson<IssueEnvironmentKeysRequest, IssueEnvironmentKeysReply>(bus, subjects.authIssueEnvironmentKeys, queue, logger, async (body) => ({
      v: 1,
      keys: await issueEnvironmentKeys(store, ids(body), ctx.now()),
    })),
    serveJson<{ key?: unknown }, SdkKeyVerdict>(bus, subjects.authVerifyEnvironmentKey, queue, logger, async (body) =>
      typeof body.key === "string" ? verifyEnvironmentKey(store, body.key, ctx.now()) : { v: 1, ok: false, reason: "Invalid SDK key" },
    ),
    serveJson<DeleteEnvironmentKeysRequest, { deleted: number }>(bus, subjects.authDeleteEnvironmentKeys, queue, logger, async (body) => ({
      deleted: await store.deleteEnvironmentKeys(ids(body)),
    })),
    serveJson<ResetEnvironmentKeyRequest, ResetEnvironmentKeyReply>(bus, subjects.authResetEnvironmentKey, queue, logger, async (body) => ({
      v: 1,
      key: await resetEnvironmentKey(ctx, body),
    })),
    bus.subscribe(
      subjects.authUsage,
      async (msg) => {
        const usage = decodeJson<UsageEvent>(msg.data);
        await store.touchTokens(new Map(Object.entries(usage.tokens ?? {})));
        await store.touchMembers(new Map(Object.entries(usage.members ?? {})));
      },
      { queue },
    ),
  ];
}
