/**
 * Flag statuses (LaunchDarkly's `new`, `active`, `inactive`, `launched`), decided per environment
 * over a window of the last 7 days, from the flag, its targeting there and what SDKs reported:
 *
 * 1. Not requested within the window → `new` if the flag was created within it, else `inactive`.
 * 2. Requested within it → `launched` if the flag is on, served one variation, and its targeting
 *    in the environment has not changed within the window; otherwise `active`.
 *
 * "Served one variation" is read from evaluations, not from the configuration: every evaluation
 * reported within the window got the same variation of the flag. LaunchDarkly's documentation
 * gives both readings; the evaluation-based one is what a launch means (everyone gets the same
 * thing, whatever rules are still configured), and it is what the usage we keep can tell. An
 * evaluation answered with the application's default value (no variation) counts as a different
 * outcome, so it never makes a flag `launched`.
 *
 * The window is half-open: an instant exactly 7 days before now is outside it. Pure: the clock is
 * passed in.
 */
import { NO_VARIATION } from "@vexil/shared/evaluations-event";
import type { FlagUsage } from "../../storage/flag-usage-store.ts";

export const STATUS_WINDOW_MS = 7 * 24 * 60 * 60 * 1000;

export const STATUS_NAMES = ["new", "active", "inactive", "launched"] as const;
export type FlagStatusName = (typeof STATUS_NAMES)[number];

/** What a status is decided on, for one flag in one environment. */
export interface StatusFacts {
  /** When the flag was created (epoch ms). */
  createdAt: number;
  /** Whether its targeting in the environment is on. */
  on: boolean;
  /** The last change to its targeting in the environment (epoch ms). */
  lastModified: number;
  /** What SDKs reported in the environment; absent when never requested there. */
  usage?: FlagUsage;
}

/** The variations (indexes, `NO_VARIATION` included) some evaluation got after `since`. */
export function variationsServedSince(usage: FlagUsage, since: number): number[] {
  return Object.entries(usage.variations)
    .filter(([, v]) => v.lastRequested > since && v.count > 0)
    .map(([index]) => Number(index));
}

export function flagStatusName(facts: StatusFacts, now: number): FlagStatusName {
  const since = now - STATUS_WINDOW_MS;
  const requested = facts.usage !== undefined && facts.usage.lastRequested > since;
  if (!requested) return facts.createdAt > since ? "new" : "inactive";
  const served = variationsServedSince(facts.usage!, since);
  const oneVariation = served.length === 1 && served[0] !== NO_VARIATION;
  return facts.on && oneVariation && facts.lastModified <= since ? "launched" : "active";
}
