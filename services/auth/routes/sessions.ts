/** Routes of `/api/v2/sessions` (sign in and out) and `/api/v2/caller-identity`. */
import { Elysia } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import { SESSION_COOKIE, cookieValue } from "@vexil/shared/http/cookies";
import { link } from "@vexil/shared/http/links";
import type { AuthContext } from "../domain/context.ts";
import { SessionPost } from "../domain/schemas.ts";
import { SESSION_TTL_SECONDS, login, logout } from "../domain/sessions.ts";

export function sessionRoutes(ctx: AuthContext, assertions: Assertions) {
  return new Elysia({ normalize: false })
    .post(
      "/api/v2/sessions",
      async ({ body, set }) => {
        const { cookie } = await login(ctx, body.email, body.password);
        set.status = 201;
        set.headers["set-cookie"] = cookie;
        set.headers["cache-control"] = "no-store";
        return { expiresIn: SESSION_TTL_SECONDS };
      },
      { body: SessionPost },
    )
    .delete("/api/v2/sessions", async ({ request, set }) => {
      set.headers["set-cookie"] = await logout(ctx, cookieValue(request.headers.get("cookie"), SESSION_COOKIE));
      set.status = 204;
    })
    .get("/api/v2/caller-identity", async ({ request }) => {
      const caller = await assertions.callerOf(request);
      return {
        authKind: caller.kind,
        tokenKind: caller.kind === "token" ? (caller.serviceToken ? "service" : "personal") : undefined,
        tokenId: caller.tokenId ?? undefined,
        tokenName: caller.tokenName ?? undefined,
        memberId: caller.memberId ?? undefined,
        memberEmail: caller.memberEmail ?? undefined,
        serviceToken: caller.serviceToken,
        role: caller.role,
        _links: { self: link("/api/v2/caller-identity") },
      };
    });
}
