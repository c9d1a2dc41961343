/**
 * Routes of expiring targets: `/api/v2/flags/{p}/{f}/expiring(-user)-targets/{e}`,
 * `/api/v2/users/{p}/{userKey}/expiring-user-targets/{e}`, and the segments'
 * `/api/v2/segments/{p}/{segmentKey}/expiring(-user)-targets/{e}`.
 *
 * The segments' paths put the segment key where every other segment path has the environment key
 * (`/api/v2/segments/{p}/{environmentKey}/{segmentKey}`), and Elysia's router wants one name per
 * place: they are an app of their own (`segmentExpiringApp`), which the flags app hands those
 * requests to (`forwardSegmentExpiring`).
 */
import { Elysia, t } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import { errorsPlugin } from "@vexil/shared/http/errors-plugin";
import { jsonVariants } from "@vexil/shared/http/json-variants";
import { operation } from "@vexil/shared/http/openapi";
import { textGuard } from "@vexil/shared/http/text-guard";
import type { FlagsContext } from "../domain/context.ts";
import { getFlagExpiringTargets, getUserExpiringTargets, patchFlagExpiringTargets, patchUserExpiringTargets } from "../domain/expiring/flag-expiring-targets.ts";
import { getSegmentExpiringTargets, patchSegmentExpiringTargets } from "../domain/expiring/segment-expiring-targets.ts";
import { EXPIRING_DOCS, PATCH_BODIES } from "../openapi/expiring-targets.ts";

const SEMANTIC = "application/json; domain-model=launchdarkly.semanticpatch";
const Key = t.String({ maxLength: 140 });
const FlagParams = t.Object({ projectKey: Key, flagKey: Key, environmentKey: Key });
const SegmentParams = t.Object({ projectKey: Key, segmentKey: Key, environmentKey: Key });
const UserParams = t.Object({ projectKey: Key, userKey: t.String({ maxLength: 1024 }), environmentKey: Key });
const TAG = "Expiring targets";
const instruction = (kind: string, where: Record<string, string>) => ({ instructions: [{ kind, value: 1_893_456_000_000, ...where }] });

export function flagExpiringRoutes(ctx: FlagsContext, assertions: Assertions) {
  const caller = (request: Request) => assertions.callerOf(request);
  const flagPaths = [
    ["expiring-targets", false, "getExpiringContextTargets", "patchExpiringTargets", "ExpiringTarget", PATCH_BODIES.flagContexts, instruction("addExpiringTarget", { variationId: "<variation id>", contextKey: "alice", contextKind: "user" })],
    ["expiring-user-targets", true, "getExpiringUserTargets", "patchExpiringUserTargets", "ExpiringUserTarget", PATCH_BODIES.flagUsers, instruction("addExpireUserTargetDate", { variationId: "<variation id>", userKey: "alice" })],
  ] as const;
  let app = new Elysia({ normalize: false });
  for (const [segment, users, getId, patchId, rep, body, example] of flagPaths) {
    const path = `/api/v2/flags/:projectKey/:flagKey/${segment}/:environmentKey`;
    const what = users ? "user targets" : "context targets";
    app = app
      .get(path, async ({ request, params }) => getFlagExpiringTargets(ctx, await caller(request), params.projectKey, params.flagKey, params.environmentKey, users), {
        params: FlagParams,
        detail: operation({ id: getId, tag: TAG, summary: `A flag's expiring ${what} in an environment`, description: EXPIRING_DOCS.get, ok: { 200: `${rep}GetResponse` }, errors: [403, 404] }),
      })
      .patch(
        path,
        async ({ request, params, body: sent }) => patchFlagExpiringTargets(ctx, await caller(request), params.projectKey, params.flagKey, params.environmentKey, sent, request.headers.get("content-type"), users),
        {
          params: FlagParams,
          body: t.Unknown(),
          detail: operation({ id: patchId, tag: TAG, summary: `Add, update or remove expiring ${what} of a flag`, description: EXPIRING_DOCS.patch, ok: { 200: `${rep}PatchResponse` }, errors: [403, 404], request: { [SEMANTIC]: body }, requestExample: example }),
        },
      ) as unknown as typeof app;
  }
  const userPath = "/api/v2/users/:projectKey/:userKey/expiring-user-targets/:environmentKey";
  return app
    .get(userPath, async ({ request, params }) => getUserExpiringTargets(ctx, await caller(request), params.projectKey, params.userKey, params.environmentKey), {
      params: UserParams,
      detail: operation({ id: "getExpiringFlagsForUser", tag: TAG, summary: "A user's removal dates on the project's flags", description: EXPIRING_DOCS.users, ok: { 200: "ExpiringUserTargetGetResponse" }, errors: [403, 404] }),
    })
    .patch(userPath, async ({ request, params, body }) => patchUserExpiringTargets(ctx, await caller(request), params.projectKey, params.userKey, params.environmentKey, body, request.headers.get("content-type")), {
      params: UserParams,
      body: t.Unknown(),
      detail: operation({
        id: "patchExpiringFlagsForUser",
        tag: TAG,
        summary: "Add, update or remove a user's removal dates on flags",
        description: `${EXPIRING_DOCS.users} ${EXPIRING_DOCS.patch}`,
        ok: { 200: "ExpiringUserTargetPatchResponse" },
        errors: [403, 404],
        request: { [SEMANTIC]: PATCH_BODIES.users },
        requestExample: instruction("addExpireUserTargetDate", { flagKey: "new-checkout", variationId: "<variation id>" }),
      }),
    });
}

/** The segments' expiring-target routes, as an app of their own (see the module's comment). */
export function segmentExpiringApp(ctx: FlagsContext, assertions: Assertions) {
  const caller = (request: Request) => assertions.callerOf(request);
  const paths = [
    ["expiring-targets", false, "getExpiringTargetsForSegment", "patchExpiringTargetsForSegment", "ExpiringTarget", PATCH_BODIES.segmentContexts, instruction("addExpiringTarget", { targetType: "included", contextKey: "alice", contextKind: "user" })],
    ["expiring-user-targets", true, "getExpiringUserTargetsForSegment", "patchExpiringUserTargetsForSegment", "ExpiringUserTarget", PATCH_BODIES.segmentUsers, instruction("addExpireUserTargetDate", { targetType: "included", userKey: "alice" })],
  ] as const;
  let app = new Elysia({ normalize: false }).use(errorsPlugin(ctx.logger)).use(jsonVariants()).use(textGuard());
  for (const [segment, users, getId, patchId, rep, body, example] of paths) {
    const path = `/api/v2/segments/:projectKey/:segmentKey/${segment}/:environmentKey`;
    const what = users ? "user targets" : "context targets";
    app = app
      .get(path, async ({ request, params }) => getSegmentExpiringTargets(ctx, await caller(request), params.projectKey, params.segmentKey, params.environmentKey, users), {
        params: SegmentParams,
        detail: operation({ id: getId, tag: TAG, summary: `A segment's expiring ${what} (the environment last in the path)`, description: EXPIRING_DOCS.get, ok: { 200: `${rep}GetResponse` }, errors: [403, 404] }),
      })
      .patch(
        path,
        async ({ request, params, body: sent }) => patchSegmentExpiringTargets(ctx, await caller(request), params.projectKey, params.segmentKey, params.environmentKey, sent, request.headers.get("content-type"), users),
        {
          params: SegmentParams,
          body: t.Unknown(),
          detail: operation({ id: patchId, tag: TAG, summary: `Add, update or remove expiring ${what} of a segment`, description: EXPIRING_DOCS.patch, ok: { 200: `${rep}PatchResponse` }, errors: [403, 404], request: { [SEMANTIC]: body }, requestExample: example }),
        },
      ) as unknown as typeof app;
  }
  return app;
}

/**
 * The flags app's side: requests to the segments' expiring-target paths go to `target`, with the
 * body the flags app read (a body is read once). The names here are those of the other segment
 * routes at the same places; they are not read.
 */
export function forwardSegmentExpiring(target: { handle(request: Request): Promise<Response> }) {
  const forward = ({ request, body }: { request: Request; body: unknown }) => {
    const headers = new Headers(request.headers);
    headers.delete("content-length");
    return target.handle(new Request(request.url, { method: request.method, headers, body: body === undefined ? undefined : JSON.stringify(body) }));
  };
  const app = new Elysia({ normalize: false });
  for (const segment of ["expiring-targets", "expiring-user-targets"]) {
    const path = `/api/v2/segments/:projectKey/:environmentKey/${segment}/:rest`;
    app.get(path, forward).patch(path, forward, { body: t.Unknown() });
  }
  return app;
}
