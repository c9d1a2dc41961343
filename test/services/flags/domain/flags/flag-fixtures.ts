/** Flags, lookups and contexts for the flag domain tests. */
import { expect } from "bun:test";
import { VexilError } from "@vexil/shared/errors";
import type { Flag, FlagEnvironment, Variation } from "@vexil/flags/domain/flags/model";
import type { SemanticContext } from "@vexil/flags/domain/flags/semantic-patch";
import type { FlagLookup } from "@vexil/flags/domain/flags/validate";

export { seededRandom } from "../../../../support/random.ts";

export const NOW = 1_700_000_000_000;
export const ENVIRONMENTS = ["production", "test"];

export function environment(over: Partial<FlagEnvironment> = {}): FlagEnvironment {
  return {
    on: false,
    archived: false,
    salt: "5a17",
    sel: "5e1",
    lastModified: NOW - 1000,
    version: 1,
    targets: [],
    contextTargets: [],
    rules: [],
    fallthrough: { variation: 0 },
    offVariation: 1,
    prerequisites: [],
    trackEvents: false,
    trackEventsFallthrough: false,
    _debugEventsUntilDate: null,
    ...over,
  };
}

function flagWith(key: string, kind: Flag["kind"], variations: Variation[], over: Partial<Flag>): Flag {
  return {
    key,
    name: key,
    description: "",
    kind,
    variations,
    temporary: true,
    tags: [],
    clientSideAvailability: { usingEnvironmentId: false, usingMobileKey: true },
    archived: false,
    deprecated: false,
    defaults: { onVariation: 0, offVariation: 1 },
    customProperties: {},
    creationDate: NOW - 5000,
    _version: 1,
    environments: Object.fromEntries(ENVIRONMENTS.map((e) => [e, environment()])),
    ...over,
  };
}

/** Variations `on` (true) and `off` (false). */
export function booleanFlag(key = "flag-a", over: Partial<Flag> = {}): Flag {
  return flagWith(key, "boolean", [{ _id: "on", value: true, name: "On" }, { _id: "off", value: false }], over);
}

/** Variations `red`, `green`, `blue` with the same values. */
export function colourFlag(key = "colours", over: Partial<Flag> = {}): Flag {
  const variations = ["red", "green", "blue"].map((c) => ({ _id: c, value: c }));
  return flagWith(key, "multivariate", variations, over);
}

export function lookupOf(...flags: Flag[]): FlagLookup {
  const byKey = new Map(flags.map((f) => [f.key, f]));
  return { get: (key) => byKey.get(key) };
}

/** A context for `production`, whose new ids are `id-1`, `id-2`, … */
export function semanticContext(over: Partial<SemanticContext> = {}): SemanticContext {
  let next = 0;
  return { environmentKey: "production", environments: ENVIRONMENTS, now: NOW, lookup: lookupOf(), newId: () => `id-${++next}`, ...over };
}

/** The VexilError `work` throws; fails the test if it throws anything else or nothing. */
export function thrownBy(work: () => unknown): VexilError {
  let error: unknown;
  try {
    work();
  } catch (e) {
    error = e;
  }
  if (!(error instanceof VexilError)) throw new Error(`expected a VexilError, got ${error === undefined ? "success" : String(error)}`);
  expect(error.code).toBe("invalid_request");
  expect(error.status).toBe(400);
  return error;
}

