/**
 * The flags-as-code file: one schema (TypeBox, published as JSON Schema in
 * `docs/flags-as-code.schema.json`) for a YAML or JSON file that declares a project's
 * environments, flags with their targeting per environment, and segments per environment.
 *
 * Keys, not ids: a variation has a `key` in the file (derived on export from its name, else its
 * value, else its position) and everything that serves a variation names it by that key, or by its
 * position (an integer). Rules are ordered lists. Nothing secret is ever part of the file.
 *
 * Parsing is defensive: at most 1 MiB of text, YAML aliases limited (a "billion laughs" file is
 * refused, not expanded), duplicate keys refused, then the schema (unknown fields anywhere are
 * refused) and the references (`checkReferences`), each failure a 400 naming where it is.
 */
import { Type as T, type Static, type TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { parseDocument } from "yaml";
import { invalidRequest } from "@vexil/shared/errors";
import { CLAUSE_OPS } from "../flags/model.ts";
import { Color, Key, Name, Tags } from "../schemas.ts";

export const FILE_VERSION = 1;
/** The largest file accepted, in bytes of text. */
export const MAX_FILE_BYTES = 1024 * 1024;
/** YAML aliases a file may use: enough for sharing a clause list, never for an exponential blow-up. */
export const MAX_ALIASES = 100;

const Ref = T.Union([T.String({ minLength: 1, maxLength: 140 }), T.Integer({ minimum: 0, maximum: 99 })], {
  description: "A variation of the flag: its `key`, or its position from 0",
});
const Weight = T.Integer({ minimum: 0, maximum: 100_000, description: "Thousandths of a percent" });
const ContextKind = T.String({ minLength: 1, maxLength: 64 });
const Attribute = T.String({ minLength: 1, maxLength: 1024 });

const Clause = T.Object(
  {
    contextKind: T.Optional(ContextKind),
    attribute: Attribute,
    op: T.Union(CLAUSE_OPS.map((op) => T.Literal(op))),
    values: T.Array(T.Unknown(), { maxItems: 10_000 }),
    negate: T.Optional(T.Boolean()),
  },
  { additionalProperties: false },
);

const Rollout = T.Object(
  {
    contextKind: T.Optional(ContextKind),
    bucketBy: T.Optional(Attribute),
    variations: T.Record(T.String({ minLength: 1, maxLength: 140 }), Weight, { description: "Weight per variation key; they sum to 100000" }),
  },
  { additionalProperties: false },
);

/** What a rule or the fallthrough serves: exactly one of `variation` or `rollout`. */
const serve = { variation: T.Optional(Ref), rollout: T.Optional(Rollout) };

const Rule = T.Object(
  { description: T.Optional(T.String({ maxLength: 1024 })), clauses: T.Array(Clause, { maxItems: 100 }), ...serve, trackEvents: T.Optional(T.Boolean()) },
  { additionalProperties: false },
);

const Values = T.Array(T.String({ minLength: 1, maxLength: 1024 }), { maxItems: 10_000 });

const FlagEnvironment = T.Object(
  {
    on: T.Boolean(),
    offVariation: T.Optional(Ref),
    fallthrough: T.Object(serve, { additionalProperties: false }),
    targets: T.Optional(T.Array(T.Object({ variation: Ref, values: Values }, { additionalProperties: false }), { maxItems: 100 })),
    contextTargets: T.Optional(T.Array(T.Object({ contextKind: ContextKind, variation: Ref, values: Values }, { additionalProperties: false }), { maxItems: 100 })),
    prerequisites: T.Optional(T.Array(T.Object({ flag: Key, variation: Ref }, { additionalProperties: false }), { maxItems: 50 })),
    rules: T.Optional(T.Array(Rule, { maxItems: 500 })),
    trackEvents: T.Optional(T.Boolean()),
    trackEventsFallthrough: T.Optional(T.Boolean()),
  },
  { additionalProperties: false },
);

const Variation = T.Object(
  { key: T.String({ minLength: 1, maxLength: 140 }), value: T.Unknown(), name: T.Optional(T.String({ maxLength: 256 })), description: T.Optional(T.String({ maxLength: 8192 })) },
  { additionalProperties: false },
);

const FileFlag = T.Object(
  {
    key: Key,
    name: Name,
    description: T.Optional(T.String({ maxLength: 8192 })),
    tags: T.Optional(Tags),
    temporary: T.Optional(T.Boolean()),
    clientSideAvailability: T.Optional(T.Object({ usingEnvironmentId: T.Boolean(), usingMobileKey: T.Boolean() }, { additionalProperties: false })),
    variations: T.Array(Variation, { minItems: 2, maxItems: 100 }),
    defaults: T.Object({ onVariation: Ref, offVariation: Ref }, { additionalProperties: false }),
    environments: T.Optional(T.Record(Key, FlagEnvironment)),
  },
  { additionalProperties: false },
);

const SegmentContexts = T.Array(T.Object({ contextKind: ContextKind, values: Values }, { additionalProperties: false }), { maxItems: 100 });
const FileSegment = T.Object(
  {
    key: Key,
    name: Name,
    description: T.Optional(T.String({ maxLength: 8192 })),
    tags: T.Optional(Tags),
    included: T.Optional(Values),
    excluded: T.Optional(Values),
    includedContexts: T.Optional(SegmentContexts),
    excludedContexts: T.Optional(SegmentContexts),
    rules: T.Optional(
      T.Array(
        T.Object(
          {
            description: T.Optional(T.String({ maxLength: 1024 })),
            clauses: T.Array(Clause, { maxItems: 100 }),
            weight: T.Optional(Weight),
            bucketBy: T.Optional(Attribute),
            rolloutContextKind: T.Optional(ContextKind),
          },
          { additionalProperties: false },
        ),
        { maxItems: 500 },
      ),
    ),
  },
  { additionalProperties: false },
);

const FileEnvironment = T.Object(
  {
    name: Name,
    color: Color,
    tags: T.Optional(Tags),
    critical: T.Optional(T.Boolean()),
    requireComments: T.Optional(T.Boolean()),
    confirmChanges: T.Optional(T.Boolean()),
    defaultTtl: T.Optional(T.Integer({ minimum: 0, maximum: 525_600 })),
    secureMode: T.Optional(T.Boolean()),
    defaultTrackEvents: T.Optional(T.Boolean()),
  },
  { additionalProperties: false },
);

export const FlagsFile = T.Object(
  {
    version: T.Literal(FILE_VERSION),
    environments: T.Record(Key, FileEnvironment, { description: "The environments the file manages; others are left alone" }),
    flags: T.Array(FileFlag, { maxItems: 5000 }),
    segments: T.Optional(T.Record(Key, T.Array(FileSegment, { maxItems: 5000 }), { description: "Segments by environment key" })),
  },
  { additionalProperties: false, title: "Vexil flags-as-code file" },
);

export type FlagsFile = Static<typeof FlagsFile>;
export type FileFlag = Static<typeof FileFlag>;
export type FileFlagEnvironment = Static<typeof FlagEnvironment>;
export type FileRule = Static<typeof Rule>;
export type FileClause = Static<typeof Clause>;
export type FileRollout = Static<typeof Rollout>;
export type FileSegment = Static<typeof FileSegment>;
export type FileEnvironment = Static<typeof FileEnvironment>;
export type VariationRef = Static<typeof Ref>;

/** Where the schema is published in the repository. */
export const SCHEMA_PATH = "docs/flags-as-code.schema.json";

/** The schema as published: plain JSON Schema (draft 2020-12), without TypeBox's own markers. */
export function fileJsonSchema(): object {
  return { $schema: "https://json-schema.org/draft/2020-12/schema", ...(JSON.parse(JSON.stringify(FlagsFile as TSchema)) as object) };
}

/** Text (YAML or JSON: JSON is YAML) into a value, with the limits of the module's comment. */
export function parseFileText(text: string): unknown {
  if (Buffer.byteLength(text, "utf8") > MAX_FILE_BYTES) throw invalidRequest(`file: larger than ${MAX_FILE_BYTES} bytes (1 MiB); split the project or narrow it with env`);
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, strict: true, merge: false, version: "1.2" });
  const problem = doc.errors[0];
  if (problem) {
    const at = problem.linePos?.[0];
    const where = at ? ` at line ${at.line}, column ${at.col}` : "";
    const message = problem.code === "DUPLICATE_KEY" ? "duplicate key" : problem.message.split("\n")[0]!;
    throw invalidRequest(`file: ${message}${where}`);
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (/alias/i.test(message)) throw invalidRequest(`file: too many aliases (more than ${MAX_ALIASES} uses); write the values out`);
    throw invalidRequest(`file: ${message.split("\n")[0]}`);
  }
}

/** A parsed value checked against the schema; the first problems, with their paths, make the 400. */
export function checkFile(value: unknown): FlagsFile {
  if (Value.Check(FlagsFile, value)) return value;
  const problems: string[] = [];
  for (const e of Value.Errors(FlagsFile, value)) {
    if (problems.length >= 5) break;
    const line = `${e.path || "/"}: ${e.message}`;
    if (!problems.includes(line)) problems.push(line);
  }
  // A union's branches each report; an unknown field is the most useful to name first.
  throw invalidRequest(`file: ${problems.join("; ")}`);
}

/** A file sent as text (YAML or JSON) or as an already parsed JSON value. */
export function readFile(input: unknown): FlagsFile {
  return checkFile(typeof input === "string" ? parseFileText(input) : input);
}
