/** What the auth service answers on the bus: verdicts for the gateway, environment keys for flags. */
import type {
  DeleteEnvironmentKeysRequest,
  IssueEnvironmentKeysReply,
  IssueEnvironmentKeysRequest,
  Verdict,
  VerifyRequest,
} from "@vexil/shared/auth-messages";
import type { Bus, Subscription } from "@vexil/shared/bus/bus";
import { serveJson } from "@vexil/shared/bus/rpc";
import { invalidRequest } from "@vexil/shared/errors";
import type { Logger } from "@vexil/shared/logger";
import { queueGroup, subjects } from "@vexil/shared/subjects";
import { issueEnvironmentKeys } from "./domain/environment-keys.ts";
import { verifyAccessToken } from "./domain/token-verifier.ts";
import type { AuthStore } from "./storage/auth-store.ts";

const ids = (body: { environmentIds?: unknown }) => {
  if (!Array.isArray(body.environmentIds) || !body.environmentIds.every((x) => typeof x === "string")) {
    throw invalidRequest("environmentIds must be an array of strings");
  }
  return body.environmentIds as string[];
};

export function serveAuthBus(bus: Bus, store: AuthStore, logger: Logger): Subscription[] {
  const queue = queueGroup("auth");
  return [
    serveJson<VerifyRequest, Verdict>(bus, subjects.authVerify, queue, logger, (body) =>
      typeof body.token === "string" ? verifyAccessToken(store, body.token) : Promise.resolve({ v: 1, ok: false, reason: "Invalid access token" }),
    ),
    serveJson<IssueEnvironmentKeysRequest, IssueEnvironmentKeysReply>(bus, subjects.authIssueEnvironmentKeys, queue, logger, async (body) => ({
      v: 1,
      keys: await issueEnvironmentKeys(store, ids(body)),
    })),
    serveJson<DeleteEnvironmentKeysRequest, { deleted: number }>(bus, subjects.authDeleteEnvironmentKeys, queue, logger, async (body) => ({
      deleted: await store.deleteEnvironmentKeys(ids(body)),
    })),
  ];
}
