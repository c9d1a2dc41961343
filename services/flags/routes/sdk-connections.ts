/** Route of `/api/v2/projects/{projectKey}/environments/{environmentKey}/sdk-connections`: the SDKs connected to an environment now. */
import { Elysia, t } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import { operation } from "@vexil/shared/http/openapi";
import type { FlagsContext } from "../domain/context.ts";
import { getSdkConnections } from "../domain/sdk-connections.ts";
import { sdkConnectionsOperation } from "../openapi/sdk-connections.ts";

const Key = t.String({ maxLength: 140 });

export function sdkConnectionRoutes(ctx: FlagsContext, assertions: Assertions) {
  return new Elysia({ normalize: false }).get(
    "/api/v2/projects/:projectKey/environments/:environmentKey/sdk-connections",
    async ({ request, params }) => getSdkConnections(ctx, await assertions.callerOf(request), params.projectKey, params.environmentKey),
    {
      params: t.Object({ projectKey: Key, environmentKey: Key }),
      detail: operation({ id: "getSdkConnections", tag: "Environments", ...sdkConnectionsOperation, ok: { 200: "SdkConnections" }, errors: [403, 404, 503] }),
    },
  );
}
