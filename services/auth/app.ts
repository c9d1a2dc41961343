/** The auth service's HTTP routes (reached through the gateway). Pure assembly: tests call `handle`. */
import { Elysia } from "elysia";
import { callerOf } from "@vexil/shared/caller";
import { unauthorized } from "@vexil/shared/errors";
import { errorsPlugin } from "@vexil/shared/http/errors-plugin";
import { link } from "@vexil/shared/http/links";
import type { Logger } from "@vexil/shared/logger";
import type { AuthStore } from "./storage/auth-store.ts";

export interface AuthDeps {
  store: AuthStore;
  logger: Logger;
}

export function createAuthApp(deps: AuthDeps) {
  return new Elysia({ normalize: false })
    .use(errorsPlugin(deps.logger))
    .get("/api/v2/caller-identity", async ({ request }) => {
      const caller = callerOf(request);
      if (!caller) throw unauthorized();
      const member = caller.memberId ? await deps.store.memberById(caller.memberId) : undefined;
      return {
        authKind: "token",
        tokenKind: caller.serviceToken ? "service" : "personal",
        tokenId: caller.tokenId,
        tokenName: caller.tokenName,
        memberId: caller.memberId ?? undefined,
        serviceToken: caller.serviceToken,
        role: caller.role,
        member: member ? { _id: member.id, email: member.email, role: member.role } : undefined,
        _links: { self: link("/api/v2/caller-identity") },
      };
    });
}
