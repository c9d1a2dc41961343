/**
 * Delivery receipts of a flag (`GET /api/v2/flags/{projectKey}/{flagKey}/deliveries`): for each
 * recent change of the flag in an environment, its version, when it was written, how many SDK
 * streams each streaming instance wrote it to and when, and the delivery lag over all those streams
 * (p50, p99, max). The receipts come from the streaming instances over the bus and are kept, bounded,
 * in this instance's memory (`delivery-ledger.ts`); this module only reads and shapes them.
 */
import { authorizeRead, type Caller } from "@vexil/shared/caller";
import { notFound } from "@vexil/shared/errors";
import { link } from "@vexil/shared/http/links";
import type { FlagsContext } from "../context.ts";
import { flagPath } from "./representation.ts";

export interface InstanceDelivery {
  instance: string;
  /** Streams of the instance the change was written to. */
  streams: number;
  /** When the last of them was written to (epoch ms). */
  deliveredAt: number;
}

/** What is known of one change's delivery. */
export interface ChangeDeliveries {
  seq: number;
  version: number;
  committedAt: number;
  instances: InstanceDelivery[];
}

/** The receipts kept for a flag in an environment, newest change first. */
export interface DeliveryReceipts {
  recent(environmentId: string, flagKey: string): ChangeDeliveries[];
}

export interface LagSummary {
  p50: number;
  p99: number;
  max: number;
}

/**
 * The lag percentiles over streams, each stream counted at its instance's lag (an instance writes a
 * change to all its streams in one pass; the pass's end is the receipt's time): nearest rank.
 */
export function lagSummary(instances: ReadonlyArray<{ streams: number; lagMs: number }>): LagSummary | undefined {
  const sorted = instances.filter((i) => i.streams > 0).sort((a, b) => a.lagMs - b.lagMs);
  const total = sorted.reduce((n, i) => n + i.streams, 0);
  if (total === 0) return undefined;
  const at = (q: number) => {
    const rank = Math.max(1, Math.ceil(q * total));
    let seen = 0;
    for (const i of sorted) if ((seen += i.streams) >= rank) return i.lagMs;
    return sorted.at(-1)!.lagMs;
  };
  return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1)!.lagMs };
}

const enc = encodeURIComponent;

/** `GET /api/v2/flags/{projectKey}/{flagKey}/deliveries[?env=a,b]`. */
export async function getFlagDeliveries(ctx: FlagsContext, caller: Caller, projectKey: string, flagKey: string, env?: string | string[]) {
  authorizeRead(caller);
  const found = await ctx.flags.flagInScope(projectKey, flagKey);
  if (!found) throw notFound(`Project "${projectKey}"`);
  if (!found.flag) throw notFound(`Flag "${flagKey}" in project "${projectKey}"`);
  const wanted = (Array.isArray(env) ? env : env === undefined ? [] : [env]).flatMap((e) => e.split(",")).filter(Boolean);
  for (const key of wanted) if (!found.environments.some((e) => e.key === key)) throw notFound(`Environment "${key}" in project "${projectKey}"`);
  const shown = wanted.length === 0 ? found.environments : found.environments.filter((e) => wanted.includes(e.key));
  const items = shown
    .flatMap((e) =>
      (ctx.deliveries?.recent(e.id, found.flag!.key) ?? []).map((change) => {
        const instances = change.instances.map((i) => ({ instance: i.instance, streams: i.streams, deliveredAt: i.deliveredAt, lagMs: Math.max(0, i.deliveredAt - change.committedAt) }));
        const lag = lagSummary(instances);
        return {
          environmentKey: e.key,
          version: change.version,
          committedAt: change.committedAt,
          streams: instances.reduce((n, i) => n + i.streams, 0),
          instances,
          ...(lag ? { lagMs: lag } : {}),
        };
      }),
    )
    .sort((a, b) => b.committedAt - a.committedAt || a.environmentKey.localeCompare(b.environmentKey));
  const self = `${flagPath(projectKey, flagKey)}/deliveries${wanted.length > 0 ? `?env=${enc(wanted.join(","))}` : ""}`;
  return { items, _links: { parent: link(flagPath(projectKey, flagKey)), self: link(self) } };
}
