/** Routes of `/api/v2/sessions` (sign in and out) and `/api/v2/caller-identity`. */
import { Elysia } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import { SESSION_COOKIE, cookieValue } from "@vexil/shared/http/cookies";
import { link } from "@vexil/shared/http/links";
import { operation } from "@vexil/shared/http/openapi";
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
      {
        body: SessionPost,
        detail: operation({
          id: "postSession",
          tag: "Sessions",
          summary: "Sign in",
          description:
            `With the email and password of a member who has a password: the answer sets the \`${SESSION_COOKIE}\` cookie (HttpOnly, SameSite=Strict) for ${SESSION_TTL_SECONDS / 60} minutes. ` +
            "The cookie authenticates later calls: one that sends `Origin` must come from the configured public origin, and one without `Origin` may only read. " +
            "A wrong email or password is a 401, and failures count against the address like wrong tokens (429).",
          ok: { 201: "Session" },
          errors: [401, 429],
          requestExample: { email: "ada@example.com", password: "correct horse battery staple" },
          example: { expiresIn: SESSION_TTL_SECONDS },
          public: true,
        }),
      },
    )
    .delete(
      "/api/v2/sessions",
      async ({ request, set }) => {
        set.headers["set-cookie"] = await logout(ctx, cookieValue(request.headers.get("cookie"), SESSION_COOKIE));
        set.status = 204;
      },
      {
        detail: operation({
          id: "deleteSession",
          tag: "Sessions",
          summary: "Sign out",
          description: `Ends the session named by the \`${SESSION_COOKIE}\` cookie everywhere at once, and clears the cookie. Without a session it only clears the cookie.`,
          ok: { 204: null },
          errors: [429],
          public: true,
        }),
      },
    )
    .get(
      "/api/v2/caller-identity",
      async ({ request }) => {
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
      },
      { detail: operation({ id: "getCallerIdentity", tag: "Other", summary: "Who the caller is", description: "The token or session the call authenticated with, and the member it acts for.", ok: { 200: "CallerIdentity" } }) },
    );
}
