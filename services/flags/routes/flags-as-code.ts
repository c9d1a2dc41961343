/** Routes of flags as code: `/api/v2/projects/{projectKey}/export`, `/plan` and `/apply`. */
import { Elysia, t } from "elysia";
import type { Assertions } from "@vexil/shared/assertion";
import { operation } from "@vexil/shared/http/openapi";
import type { FlagsContext } from "../domain/context.ts";
import { applyProject } from "../domain/flags-as-code/apply.ts";
import { exportProject } from "../domain/flags-as-code/export.ts";
import { planProject } from "../domain/flags-as-code/plan.ts";
import { FLAGS_AS_CODE_TEXT } from "../openapi/flags-as-code.ts";

const Params = t.Object({ projectKey: t.String({ maxLength: 140 }) });
const ExportQuery = t.Object({ env: t.Optional(t.String({ maxLength: 2048 })), format: t.Optional(t.String({ maxLength: 8 })) }, { additionalProperties: false });
const File = t.Unknown({ description: "The file: its text (YAML or JSON), or the JSON value itself" });
const PlanPost = t.Object(
  {
    file: t.Optional(File),
    prune: t.Optional(t.Boolean({ description: "Delete live flags and segments the file does not have" })),
    fromEnv: t.Optional(t.String({ maxLength: 140, description: "Promotion: the environment whose targeting is copied" })),
    toEnv: t.Optional(t.String({ maxLength: 140, description: "Promotion: the environment made equal to fromEnv" })),
  },
  { additionalProperties: false },
);
const ApplyPost = t.Object(
  {
    comment: t.Optional(t.String({ maxLength: 4096, description: "Lands in every audit entry the apply writes (a commit hash, say)" })),
    plan: t.Optional(t.Unknown({ description: "A plan as `plan` answered it" })),
    file: t.Optional(File),
    prune: t.Optional(t.Boolean()),
  },
  { additionalProperties: false },
);

/** The export answers YAML (the default) or JSON: both are documented. */
function withYaml<D extends object>(detail: D): D {
  const ok = (detail as { responses?: Record<string, { content?: Record<string, unknown> }> }).responses?.["200"];
  if (ok?.content) ok.content["application/yaml"] = { schema: { type: "string", description: "The same file as YAML" } };
  return detail;
}

export function flagsAsCodeRoutes(ctx: FlagsContext, assertions: Assertions) {
  const caller = (request: Request) => assertions.callerOf(request);
  return new Elysia({ normalize: false })
    .get(
      "/api/v2/projects/:projectKey/export",
      async ({ request, params, query }) => {
        const { text, contentType } = await exportProject(ctx, await caller(request), params.projectKey, query);
        return new Response(text, { headers: { "content-type": `${contentType}; charset=utf-8` } });
      },
      {
        params: Params,
        query: ExportQuery,
        detail: withYaml(operation({ id: "exportProject", tag: "Flags as code", summary: "Export a project as a file", description: FLAGS_AS_CODE_TEXT.export, ok: { 200: "FlagsAsCodeFile" }, errors: [403, 404] })),
      },
    )
    .post("/api/v2/projects/:projectKey/plan", async ({ request, params, body }) => planProject(ctx, await caller(request), params.projectKey, body), {
      params: Params,
      body: PlanPost,
      detail: operation({
        id: "planProject",
        tag: "Flags as code",
        summary: "Plan the changes a file makes",
        description: FLAGS_AS_CODE_TEXT.plan,
        ok: { 200: "FlagsAsCodePlan" },
        errors: [403, 404],
        requestExample: { file: "version: 1\nenvironments:\n  production: {name: Production, color: 417505}\nflags: []\n", prune: false },
      }),
    })
    .post("/api/v2/projects/:projectKey/apply", async ({ request, params, body }) => applyProject(ctx, await caller(request), params.projectKey, body), {
      params: Params,
      body: ApplyPost,
      detail: operation({
        id: "applyProject",
        tag: "Flags as code",
        summary: "Apply a plan, or a file",
        description: FLAGS_AS_CODE_TEXT.apply,
        ok: { 200: "FlagsAsCodeApplyReport" },
        errors: [403, 404],
        requestExample: { comment: "deploy 3f2c0f9", plan: { project: "shop", environments: ["production"], prune: false, items: [], summary: "Nothing to do: the live state matches the file", notes: [] } },
      }),
    });
}
