/** One environment's flags and segments in the SDK format, for the streaming service (`vexil.flags.env-data`). */
import type { EnvironmentData } from "@vexil/shared/environment-data";
import { invalidRequest, notFound } from "@vexil/shared/errors";
import type { FlagsContext } from "./context.ts";
import { sdkFlag } from "./flags/sdk-format.ts";
import { sdkSegment } from "./segments/segments.ts";

export async function environmentData(ctx: FlagsContext, body: { environmentId?: unknown }): Promise<EnvironmentData> {
  if (typeof body.environmentId !== "string" || body.environmentId === "") throw invalidRequest("environmentId must be a string");
  const contents = await ctx.flags.environmentContents(body.environmentId);
  if (!contents) throw notFound(`Environment "${body.environmentId}"`);
  const flags: EnvironmentData["flags"] = {};
  for (const flag of contents.flags) {
    const item = sdkFlag(flag, contents.environmentKey);
    if (item) flags[flag.key] = item;
  }
  const segments: EnvironmentData["segments"] = {};
  for (const segment of contents.segments) segments[segment.key] = sdkSegment(segment);
  return { v: 1, environmentId: body.environmentId, projectKey: contents.projectKey, environmentKey: contents.environmentKey, seq: contents.seq, flags, segments };
}
