/**
 * A seeded fuzz of the REST admin API against the all-in-one process. Thousands of malformed or
 * hostile requests go to every route with the admin token; each write carries at least one element
 * the API must refuse (a wrong JSON type, an unknown field, a bad patch operation or instruction, an
 * unknown API version, a key that cannot exist, a body that is not JSON or too big or too deep…).
 * Every answer must be below 500, every error a JSON `{code, message, id}`, and the API-visible
 * state must be the same afterwards as before.
 *
 * The requests come from fast-check samples with a fixed seed, so a run is reproducible:
 * `VEXIL_FUZZ_SEED=<seed> bun test test/e2e/fuzz.test.ts` repeats one, and the report names each
 * failing request by its index with everything needed to send it again.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { makeClient, type Client } from "../support/client.ts";
import { freePort } from "../support/ports.ts";
import { startEntry, type Running } from "../support/process.ts";

const SEED = Number(process.env.VEXIL_FUZZ_SEED ?? 20_240_415);
const TOKEN = "fuzz-admin-token-0123456789";
const MEMBER_EMAIL = "fuzz-writer@example.com";
const MEMBER_PASSWORD = "fuzz-writer-password-7f3a9c";
const MAX_BODY = 1024 * 1024;
/** Requests per unit of a route's `runs` weight: 2 gives about 5,000 requests in all. */
const RUNS_PER_WEIGHT = 2;
const SEMANTIC = "application/json; domain-model=launchdarkly.semanticpatch";

// JSON text with exact control over keys (`__proto__`, duplicates), order and raw fragments.

class Raw {
  constructor(readonly text: string) {}
}
class Obj {
  constructor(readonly entries: ReadonlyArray<readonly [string, J]>) {}
}
type J = null | boolean | number | string | Raw | Obj | J[];

const o = (fields: Record<string, J>) => new Obj(Object.entries(fields));
const withField = (x: Obj, key: string, value: J) =>
  new Obj(x.entries.some(([k]) => k === key) ? x.entries.map(([k, v]) => [k, k === key ? value : v] as const) : [...x.entries, [key, value] as const]);
const without = (x: Obj, key: string) => new Obj(x.entries.filter(([k]) => k !== key));
const insertAt = <T>(list: readonly T[], at: number, item: T): T[] => [...list.slice(0, at % (list.length + 1)), item, ...list.slice(at % (list.length + 1))];

function encode(v: J): string {
  if (v instanceof Raw) return v.text;
  if (v instanceof Obj) return `{${v.entries.map(([k, x]) => `${JSON.stringify(k)}:${encode(x)}`).join(",")}}`;
  if (Array.isArray(v)) return `[${v.map(encode).join(",")}]`;
  return JSON.stringify(v) ?? "null";
}

const deepArray = (n: number) => new Raw("[".repeat(n) + "]".repeat(n));
const deepObject = (n: number) => new Raw('{"a":'.repeat(n) + "1" + "}".repeat(n));

// Hostile building blocks.

const SPECIAL_STRINGS = [
  "", " ", "\u0000", "a\u0000b", "\ud800", "x\udc00", "\u202e", "\ufeff", "\u200b", "\u0007\u001b[31m", "\r\n", "\t",
  "💥", "🏳️‍🌈", "ǅ", "ß", "İ", "null", "true", "[]", "{}", "NaN", "-0", "1e999", "__proto__", "constructor", "prototype",
  "toString", "valueOf", "hasOwnProperty", "../../../etc/passwd", "%00", "%s%s%n", "<script>alert(1)</script>",
  "' OR '1'='1", "$(reboot)", "${jndi:ldap://x/a}", "proj/*:env/*", "*", "~0~1", "/", "\\", '"', "a".repeat(141), "x".repeat(4097),
];
const text: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: "grapheme", maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 24 }) },
  { weight: 3, arbitrary: fc.constantFrom(...SPECIAL_STRINGS) },
  { weight: 1, arbitrary: fc.integer({ min: 257, max: 40_000 }).map((n) => "é".repeat(n)) },
);
const hostileKey = fc.oneof(fc.string({ unit: "binary", maxLength: 12 }), fc.constantFrom("__proto__", "constructor", "prototype", "toString", "", "\u0000", "a.b", "$where", "0", "-1", "🔑"));
const DEPTHS = [65, 100, 1_000, 10_000, 10_000, 50_000];
const deep: fc.Arbitrary<J> = fc.tuple(fc.constantFrom(...DEPTHS), fc.boolean()).map(([n, arr]) => (arr ? deepArray(n) : deepObject(n)));
const number = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(2 ** 53 + 1, -0, 1e308, -1, 0, 1.5, 100_001, 99, 1e-300));
const leaf: fc.Arbitrary<J> = fc.oneof(text, number, fc.boolean(), fc.constant(null));
const { value, shallow } = fc.letrec<{ value: J; shallow: J }>((tie) => ({
  value: fc.oneof(
    { maxDepth: 3, depthIdentifier: "json" },
    { weight: 6, arbitrary: leaf },
    { weight: 2, arbitrary: fc.array(tie("value"), { maxLength: 4 }) },
    { weight: 2, arbitrary: fc.array(fc.tuple(hostileKey, tie("value")), { maxLength: 4 }).map((e) => new Obj(e)) },
    { weight: 1, arbitrary: deep },
  ),
  /** Without deep nesting: for sign-in bodies, which reach password checks many times over. */
  shallow: fc.oneof(
    { maxDepth: 3, depthIdentifier: "shallow" },
    { weight: 6, arbitrary: leaf },
    { weight: 2, arbitrary: fc.array(tie("shallow"), { maxLength: 4 }) },
    { weight: 2, arbitrary: fc.array(fc.tuple(hostileKey, tie("shallow")), { maxLength: 4 }).map((e) => new Obj(e)) },
  ),
}));
const notString: fc.Arbitrary<J> = fc.oneof(number, fc.boolean(), fc.constant(null), fc.constant([] as J[]), fc.constant(o({})), fc.array(text, { minLength: 1, maxLength: 3 }), deep);
const notBool: fc.Arbitrary<J> = fc.oneof(fc.constantFrom<J>("true", "false", 0, 1, null, "", "yes"), fc.constant([] as J[]), fc.constant(o({ value: true })));
const notArray: fc.Arbitrary<J> = fc.oneof(text, number, fc.boolean(), fc.constant(null), fc.constant(o({ 0: "a" })));
const notObject: fc.Arbitrary<J> = fc.oneof(text, number, fc.boolean(), fc.constant(null), fc.array(leaf, { maxLength: 3 }));
/** A field name that no schema of the API has. */
const unknownField = fc.tuple(fc.constantFrom("zz", "Name", "KEY", "name ", " name", "nаme", "_id2", "x-"), fc.stringMatching(/^[a-z0-9]{0,8}$/)).map(([a, b]) => a + b);

const freshKey = fc.stringMatching(/^[a-z0-9]{4,16}$/).map((s) => `fz-${s}`);
const okName = fc.oneof(fc.constantFrom("Fuzzed", "ß Ünïcødé 💥", "a"), fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 40 }));
const badKey: fc.Arbitrary<J> = fc.oneof(
  notString,
  fc.constantFrom<J>("", " ", "-lead", ".lead", "_lead", "a b", "a/b", "a\u0000b", "ключ", "💥", "a".repeat(141), "x\ud800", "key\n", "%2F"),
  fc.tuple(freshKey, fc.constantFrom(" ", "/", "?", "#", "é", "\u0000", "*", "~", ":", "+")).map(([k, c]) => k + c),
);
const badName: fc.Arbitrary<J> = fc.oneof(notString, fc.constant(""), fc.constantFrom(257, 1_000, 300_000).map((n) => "n".repeat(n)), fc.constant("a\u0000b"), fc.constant("\udfff"));
const badTags: fc.Arbitrary<J> = fc.oneof(
  notArray,
  fc.constantFrom<J>(["a b"], ["x", "x"], [1], ["t".repeat(65)], [""], [null], ["ok", "é"], ["a/b"], [["nested"]]),
  fc.constant(Array.from({ length: 51 }, (_, i) => `t${i}`)),
);
const badColor = fc.constantFrom<J>("#00ff00", "00ff0", "00ff000", "gggggg", "", 123456, null, "red", "00ff00 ", ["00ff00"]);
const badInt = (min: number, max: number) => fc.constantFrom<J>(min - 1, max + 1, 1.5, "5", null, true, [], 1e300, -1e300);
const policy = (actions: J = ["*"]) => [o({ effect: "allow", resources: ["proj/*"], actions })] as J[];
const badPolicy: fc.Arbitrary<J> = fc.oneof(
  notArray,
  fc.constantFrom<J>(
    [o({ effect: "maybe", resources: ["*"], actions: ["*"] })],
    [o({ effect: "allow", resources: [], actions: ["*"] })],
    [o({ effect: "allow", resources: ["*"], actions: ["a".repeat(129)] })],
    [o({ effect: "allow", resources: ["*"], actions: ["*"], zz: 1 })],
    [o({ effect: "allow", resources: [1], actions: ["*"] })],
    [o({ effect: "ALLOW", resources: ["*"], actions: ["*"] })],
    [null],
    ["allow"],
    [o({ effect: "deny", resources: "proj/*", actions: ["*"] })],
    [o({ effect: "allow", resources: ["r".repeat(1025)], actions: ["*"] })],
  ),
  fc.constant(Array.from({ length: 101 }, () => o({ effect: "allow", resources: ["*"], actions: ["*"] }))),
);

// Requests.

interface Labeled<T> {
  value: T;
  why: string;
}
interface Body {
  data?: string | Uint8Array;
  /** One entry per Content-Type header line; several make a duplicate header. */
  types: string[];
}
interface Shot {
  route: string;
  method: string;
  url: string;
  headers: Array<[string, string]>;
  body?: string | Uint8Array;
  /** What the API must refuse in it, or why it cannot change anything. */
  why: string;
  /** Sent to a route that changes state when it accepts. */
  write: boolean;
}

const JSON_TYPES = ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "application/json;charset=UTF-8", "Application/Json ; foo=bar"];
const ODD_JSON_TYPES = ["application/merge-patch+json", "application/json-patch+json", "application/vnd.vexil+json", "application/problem+json", "application/json; charset=latin1", "application/json;;", SEMANTIC];
const NOT_JSON_TYPES = [
  "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=zz", "application/xml", "text/json", "application/jsonx",
  "application/json5", "json", "application/", "*/*", "application/ json", "application/json, text/plain", "application/octet-stream", "image/png", "",
];
const jsonBody = (v: J, type = "application/json"): Body => ({ data: encode(v), types: [type] });
const noBody: Body = { types: [] };

const BAD_VERSIONS = ["20200101", "2024-04-15", "0", "-1", "99999999", "latest", "beta,beta", "1e7", "0x1", "20240415abc", "v2", "2024041", "202404150", "null", "current", "bêta", "20240415.0", "+20240415"];
const GOOD_VERSIONS = ["20240415", "20191212", "20210729", "20220603", "beta", "BETA", " 20220603 "];
const BAD_OVERRIDES_ON_POST = ["GET", "POST", "HEAD", "OPTIONS", "", "PATCHX", "PATCH, DELETE", "PUT", "TRACE", "X", "DELETE;", "P ATCH", "CONNECT"];
const ANY_OVERRIDES = ["PATCH", "DELETE", "PUT", "GET", "", "patch", "POST"];
const ODD_METHODS = ["PUT", "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "SEARCH", "QUERY", "PURGE", "LINK", "MERGE", "REPORT", "SUBSCRIBE", "M-SEARCH", "ACL"];

/** Header values as fetch can send them: Latin-1 without control characters. */
const headerText = text.map((s) => [...s].map((c) => (c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) <= 0xff && c.charCodeAt(0) !== 0x7f ? c : "?")).join("").slice(0, 2_000));
const noiseHeader: fc.Arbitrary<[string, string]> = fc.oneof(
  headerText.map((v) => ["x-request-id", v] as [string, string]),
  fc.constantFrom<[string, string]>(
    ["accept", "text/html"], ["accept", "application/xml"], ["accept", "*/*;q=0"], ["accept-encoding", "gzip"], ["accept-encoding", "identity;q=0"],
    ["origin", "http://evil.example"], ["origin", "null"], ["cookie", "vexil_session=garbage; other=1"], ["cookie", `vexil_session=${"a".repeat(500)}`],
    ["x-vexil-caller", "eyJhbGciOiJub25lIn0.eyJyb2xlIjoib3duZXIifQ."], ["x-forwarded-for", "::1, 10.0.0.1"], ["if-match", "*"], ["if-none-match", '"x"'],
    ["content-encoding", "gzip"], ["range", "bytes=0-1"], ["x-request-id", "a".repeat(300)], ["x-http-method", "DELETE"], ["x-method-override", "DELETE"],
  ),
  fc.constantFrom(...GOOD_VERSIONS).map((v) => ["ld-api-version", v] as [string, string]),
  headerText.map((v) => ["x-fuzz", v] as [string, string]),
);
const authHeader = fc.constantFrom(TOKEN, `Bearer ${TOKEN}`, `bearer ${TOKEN}`, `BEARER ${TOKEN}`);

/** Text short enough that a URL of a few of them stays well under the server's 16 KiB header limit. */
const urlText = text.map((s) => s.slice(0, 60));

/** A percent-encoded path segment or query value; lone surrogates become their (invalid) UTF-8 bytes. */
const encodeText = (s: string) => [...s].map((c) => (/^[\ud800-\udfff]$/.test(c) ? "%ED%A0%80" : encodeURIComponent(c))).join("");
const RAW_ESCAPES = [
  "%00", "%01", "%1F", "%7F", "%20", "%FF", "%C0%AF", "%ED%A0%80", "%E2%80%AE", "%EF%BB%BF", "%F0%9F%92%A5", "%2F", "%5C", "%3F", "%23", "%25",
  "%zz", "%", "%G1", "%u0041", "%252F", "%2e%2e%2Fadmin", ";", ",", "!", "*", "'", "(", ")", "~", "@", ":", "$", "+", "=", "&",
];
/** A path segment no resource can have: always one character outside key and id alphabets. */
const weirdSegment = (realPrefixes: string[]): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.constantFrom("", ...realPrefixes), fc.constantFrom(...RAW_ESCAPES), fc.stringMatching(/^[g-z]{0,6}$/)).map(([p, e, s]) => encodeURIComponent(p) + e + s) },
    { weight: 3, arbitrary: urlText.filter((s) => /[^A-Za-z0-9._-]/.test(s)).map(encodeText) },
    { weight: 1, arbitrary: fc.integer({ min: 141, max: 4_000 }).map((n) => "k".repeat(n)) },
  );
const hex24 = fc.stringMatching(/^[0-9a-f]{24}$/);

/** Where a path has a slot, the values that exist and the ones that cannot. */
interface SlotValues {
  real: string[];
  missing: fc.Arbitrary<string>;
  /** The real values are whole paths, used as they are. */
  raw?: boolean;
}

interface World {
  alpha: { variations: string[]; rule: string; clause: string };
  /** A scheduled change of alpha in dev, due long after the fuzz. */
  scheduled: string;
  /** A pending approval request of alpha in prod. */
  approval: string;
  segmentRule: string;
  tokenId: string;
  memberId: string;
  roleId: string;
  auditId: string;
  webhookId: string;
  /** FeatureProbe targeting of alpha in dev, as the API shows it. */
  targeting: J;
}

interface Route {
  method: string;
  /** With `{slot}` placeholders. */
  path: string;
  /** Query parameters the route reads. */
  params?: string[];
  runs: number;
  /** Writes must carry something the API refuses; reads and harmless calls need not. */
  write: boolean;
  /** For routes that cannot change anything whatever they get: why. */
  harmless?: string;
  /** Sent as it is, without hostile headers, query or method around the body. */
  plain?: boolean;
  body?: { plausible: fc.Arbitrary<Body>; poisoned: fc.Arbitrary<Labeled<Body>> };
  queryPoison?: fc.Arbitrary<Labeled<Array<[string, string]>>>;
}

/** Query values that stress parsers: numbers out of range, filter and spec grammar, odd encodings. */
const queryValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: urlText.map(encodeText) },
  { weight: 2, arbitrary: fc.constantFrom("-1", "0", "1e3", "101", "NaN", "Infinity", "9".repeat(30), "0x10", "1.5", "", " ", "true", "maybe").map(encodeURIComponent) },
  {
    weight: 3,
    arbitrary: fc
      .constantFrom(
        "key", "-name", "--key", "environments", "environments,environments", "query:a,tags:b+c", "query:", ":", ",,,", "tags:", "keys:a|b|", "unknown:1", "state:maybe",
        "type:forever", "sdkAvailability:all", "filterEnv:nope", "query:%", "role:owner|admin", "id:x", "email:a@b", "proj/*:env/*;tag", "proj/${x}", "proj/[",
        "proj/*:env/*:flag/*:extra:more", "*".repeat(300), "proj/{critical:true}", "dev,prod,nope", "dev,,", "0", "1",
      )
      .map(encodeURIComponent),
  },
  { weight: 1, arbitrary: fc.constantFrom("%FF", "%zz", "%", "%ED%A0%80", "%C0%AF", "%00", "a%2", "%E2%80", "+%2B+", "a=b=c", "%26x%3D1") },
);
const queryPairs = (params: string[]): fc.Arbitrary<Array<[string, string]>> =>
  fc.array(
    fc.tuple(
      fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...(params.length > 0 ? params : ["limit"])) },
        { weight: 1, arbitrary: fc.constantFrom("__proto__", "constructor", "toString", "a[b]", "limit[]", "", "%00", "%FF", "expand[0]", "filter[query]") },
        { weight: 1, arbitrary: urlText.map(encodeText) },
      ),
      queryValue,
    ),
    { maxLength: 3 },
  );

type Source = "body" | "path" | "query" | "version" | "override" | "method" | "media" | "size" | "none";

/** Every request a route gets, one per sample. */
function shotsFor(route: Route, slots: Record<string, SlotValues>): fc.Arbitrary<Shot> {
  const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  const sources: Array<fc.WeightedArbitrary<Source>> = [];
  const add = (source: Source, weight: number) => sources.push({ weight, arbitrary: fc.constant(source) });
  if (route.write) {
    if (route.body) add("body", 12);
    if (names.length > 0) add("path", 3);
    if (route.queryPoison) add("query", 3);
    add("version", 1);
    add("override", 1);
    add("method", 1);
    add("media", 1);
    add("size", 1);
  } else {
    add("none", 10);
    add("version", 1);
    add("override", 1);
    add("method", 1);
  }
  const segment = (name: string) => {
    const s = slots[name]!;
    return fc.record({ real: fc.constantFrom(...s.real).map((v) => (s.raw ? v : encodeURIComponent(v))), bad: fc.oneof(s.missing.map(encodeURIComponent), weirdSegment(s.real)) });
  };
  return fc
    .record({
      source: fc.oneof(...sources),
      segments: fc.tuple(...names.map(segment)),
      noisySegment: fc.nat(99),
      poisonedSlot: fc.nat(Math.max(0, names.length - 1)),
      query: queryPairs(route.params ?? []),
      queryNoise: fc.nat(99),
      queryPoison: route.queryPoison ?? fc.constant({ value: [] as Array<[string, string]>, why: "" }),
      auth: authHeader,
      noise: fc.array(noiseHeader, { maxLength: 3 }),
      version: fc.constantFrom(...BAD_VERSIONS),
      duplicateVersion: fc.boolean(),
      override: fc.constantFrom(...(route.method === "POST" ? BAD_OVERRIDES_ON_POST : ANY_OVERRIDES)),
      oddMethod: fc.constantFrom(...ODD_METHODS),
      readMethod: fc.oneof({ weight: 8, arbitrary: fc.constant(route.method) }, { weight: 1, arbitrary: fc.constantFrom("HEAD", "OPTIONS") }),
      plausible: route.body?.plausible ?? fc.oneof({ weight: 6, arbitrary: fc.constant(noBody) }, { weight: 2, arbitrary: value.map((v) => jsonBody(v)) }, { weight: 1, arbitrary: fc.constant({ data: "", types: ["application/x-www-form-urlencoded"] }) }),
      poisoned: route.body?.poisoned ?? fc.constant({ value: noBody, why: "" }),
      media: mediaPoison,
      size: sizePoison,
    })
    .map((r): Shot => {
      const why: string[] = [];
      if (route.plain) {
        const types = Array.from(r.plausible.types as readonly string[], (t): [string, string] => ["content-type", t]);
        return { route: `${route.method} ${route.path}`, method: route.method, url: route.path, headers: [["authorization", TOKEN], ...types], body: r.plausible.data, why: route.harmless ?? "", write: route.write };
      }
      let method = route.write ? route.method : r.readMethod;
      const segments = r.segments.map((s, i) => {
        const poisoned = r.source === "path" && i === r.poisonedSlot;
        if (poisoned) why.push(`path {${names[i]}} names nothing`);
        return poisoned || (r.noisySegment < 10 && i === r.noisySegment % names.length) ? s.bad : s.real;
      });
      let i = 0;
      const path = route.path.replace(/\{\w+\}/g, () => segments[i++]!);
      let query = r.queryNoise < (route.write ? 25 : 90) ? r.query : [];
      if (r.source === "query") {
        query = [...query.filter(([k]) => !r.queryPoison.value.some(([p]) => p === k)), ...r.queryPoison.value];
        why.push(r.queryPoison.why);
      }
      const headers: Array<[string, string]> = [["authorization", r.auth], ...r.noise];
      let body = r.plausible;
      if (r.source === "body") {
        body = r.poisoned.value;
        why.push(r.poisoned.why);
      } else if (r.source === "media") {
        body = r.media.value;
        why.push(r.media.why);
      } else if (r.source === "size") {
        body = r.size.value;
        why.push(r.size.why);
      } else if (r.source === "version") {
        headers.push(["ld-api-version", r.duplicateVersion ? "20240415" : r.version]);
        if (r.duplicateVersion) headers.push(["ld-api-version", "beta"]);
        why.push(r.duplicateVersion ? "two LD-API-Version headers" : `unknown LD-API-Version ${JSON.stringify(r.version)}`);
      } else if (r.source === "override") {
        headers.push(["x-http-method-override", r.override]);
        why.push(`X-HTTP-Method-Override ${JSON.stringify(r.override)} on ${method}`);
      } else if (r.source === "method") {
        method = r.oddMethod;
        why.push(`no route answers ${method}`);
      }
      if (method === "GET" || method === "HEAD" || method === "OPTIONS") body = noBody;
      for (const type of body.types) headers.push(["content-type", type]);
      if (route.harmless) why.push(route.harmless);
      let search = query.length > 0 ? `?${query.map(([k, v]) => `${k}=${v}`).join("&")}` : "";
      // The request line and headers stay under the HTTP server's own limit (431 before the API sees them).
      if (path.length + search.length + headers.reduce((n, [k, v]) => n + k.length + v.length + 4, 0) > 12_000) {
        search = r.source === "query" ? `?${r.queryPoison.value.map(([k, v]) => `${k}=${v}`).join("&")}` : "";
      }
      return { route: `${route.method} ${route.path}`, method, url: path + search, headers, body: body.data, why: why.join("; ") || "read", write: route.write };
    });
}

const mediaPoison: fc.Arbitrary<Labeled<Body>> = fc.oneof(
  fc.tuple(value, fc.constantFrom(...NOT_JSON_TYPES)).map(([v, t]) => ({ value: { data: encode(v) || "x", types: [t] }, why: `a body sent as ${JSON.stringify(t)}` })),
  fc.constant<Labeled<Body>>({ value: { data: "key=a&name=b", types: ["application/x-www-form-urlencoded"] }, why: "a form body" }),
  fc.constant<Labeled<Body>>({ value: { data: "<flag><key>a</key></flag>", types: ["application/xml"] }, why: "an XML body" }),
  fc.constant<Labeled<Body>>({ value: { data: new Uint8Array([0xff, 0xfe, 0x00, 0x7b]), types: [] }, why: "a binary body without a content type" }),
  value.map((v) => ({ value: { data: encode(v) || "x", types: ["application/json", "application/json"] }, why: "two Content-Type headers" })),
);
const sizePoison: fc.Arbitrary<Labeled<Body>> = fc
  .tuple(fc.oneof({ weight: 14, arbitrary: fc.integer({ min: 1, max: 40_000 }) }, { weight: 1, arbitrary: fc.integer({ min: MAX_BODY, max: 2 * MAX_BODY }) }), fc.boolean())
  .map(([extra, str]) => ({
    value: { data: str ? `{"name":"${"x".repeat(MAX_BODY - 10 + extra)}"}` : `[${"0,".repeat((MAX_BODY + extra) / 2)}0]`, types: ["application/json"] },
    why: `a body of ${MAX_BODY + extra} bytes, over 1 MiB`,
  }));

// Bodies of objects: a plausible one, and ones with a definite fault.

interface Field {
  ok: fc.Arbitrary<J>;
  bad: fc.Arbitrary<J>;
}
interface ObjectRule {
  fields: Record<string, Field>;
  required: string[];
  /** Extra faults that only make sense for this body. */
  extra?: fc.Arbitrary<Labeled<J>>;
}

function plausibleObject(rule: ObjectRule): fc.Arbitrary<Obj> {
  const optional = Object.keys(rule.fields).filter((f) => !rule.required.includes(f));
  return fc
    .tuple(
      fc.tuple(...rule.required.map((f) => rule.fields[f]!.ok)),
      fc.subarray(optional).chain((names) => fc.tuple(...names.map((f) => rule.fields[f]!.ok)).map((vals) => names.map((f, i) => [f, vals[i]!] as const))),
    )
    .map(([req, opt]) => new Obj([...rule.required.map((f, i) => [f, req[i]!] as const), ...opt]));
}

/** An object body with one definite fault; the rest of it is plausible. */
function faultyObject(rule: ObjectRule): fc.Arbitrary<Labeled<J>> {
  const names = Object.keys(rule.fields);
  const faults: Array<fc.Arbitrary<Labeled<J>>> = [
    fc.tuple(plausibleObject(rule), fc.constantFrom(...names).chain((f) => rule.fields[f]!.bad.map((b) => [f, b] as const))).map(([base, [f, b]]) => ({ value: withField(base, f, b), why: `${f} is invalid` })),
    fc.tuple(plausibleObject(rule), unknownField, value, fc.nat()).map(([base, f, v, at]) => ({ value: new Obj(insertAt(base.entries, at, [f, v] as const)), why: `unknown field ${JSON.stringify(f)}` })),
    fc.tuple(plausibleObject(rule), fc.constantFrom(...names).chain((f) => rule.fields[f]!.bad.map((b) => [f, b] as const))).map(([base, [f, b]]) => ({
      value: new Obj([...base.entries, [f, b] as const]),
      why: `${f} given twice, invalid the second time`,
    })),
    fc.tuple(plausibleObject(rule), fc.constantFrom("a\u0000b", "\ud800", "x\udfff", "\u0000")).map(([base, s]) => ({ value: new Obj([...base.entries, [s, s] as const]), why: "a NUL or lone surrogate in a key" })),
    fc.tuple(plausibleObject(rule), deep).map(([base, d]) => ({ value: withField(base, names[0]!, d), why: `${names[0]} nested too deep` })),
    fc.oneof(notObject, deep).map((v) => ({ value: v, why: "the body is not an object" })),
    plausibleObject(rule).map((base) => {
      const t = encode(base);
      return { value: new Raw(t.slice(0, Math.max(1, Math.floor(t.length / 2)))), why: "truncated JSON" };
    }),
    fc.tuple(plausibleObject(rule), fc.constantFrom(",", "}", " x", "//c", "/*", "'", "NaN", "\u0000")).map(([base, tail]) => ({ value: new Raw(encode(base) + tail), why: "garbage after the JSON" })),
    plausibleObject(rule).map((base) => {
      const t = encode(base);
      return { value: new Raw(t.includes('"') ? t.replace(/"/g, "'") : "{'key':'a'}"), why: "single-quoted JSON" };
    }),
  ];
  if (rule.required.length > 0) {
    faults.push(fc.tuple(plausibleObject(rule), fc.constantFrom(...rule.required)).map(([base, f]) => ({ value: without(base, f), why: `required ${f} missing` })));
  }
  if (rule.extra) faults.push(rule.extra);
  return fc.tuple(fc.oneof(...faults), fc.array(fc.tuple(hostileKey, value), { maxLength: 2 }), fc.nat()).map(([f, noise, at]) => {
    // Hostile keys around the fault, never replacing it.
    if (!(f.value instanceof Obj) || noise.length === 0) return f;
    return { value: new Obj(noise.reduce((entries, entry, i) => insertAt(entries, at + i, entry as readonly [string, J]), [...f.value.entries])), why: f.why };
  });
}

const asBody = (a: fc.Arbitrary<J>): fc.Arbitrary<Body> => fc.tuple(a, fc.constantFrom(...JSON_TYPES, ...JSON_TYPES, ...ODD_JSON_TYPES)).map(([v, t]) => jsonBody(v, t));
const asPoisoned = (a: fc.Arbitrary<Labeled<J>>): fc.Arbitrary<Labeled<Body>> =>
  fc.tuple(a, fc.constantFrom(...JSON_TYPES, ...JSON_TYPES, ...ODD_JSON_TYPES)).map(([l, t]) => ({ value: jsonBody(l.value, t), why: l.why }));
const objectBody = (rule: ObjectRule) => ({ plausible: asBody(plausibleObject(rule)), poisoned: asPoisoned(faultyObject(rule)) });

const csa = { ok: fc.record({ usingEnvironmentId: fc.boolean(), usingMobileKey: fc.boolean() }).map((r) => o(r)), bad: fc.oneof(notObject, fc.constantFrom<J>(o({ usingEnvironmentId: "yes", usingMobileKey: false }), o({ usingEnvironmentId: true, zz: 1 }), o({ usingMobileKey: 1 }))) };
const bool = { ok: fc.boolean() as fc.Arbitrary<J>, bad: notBool };
const tags = { ok: fc.constantFrom<J>(["a"], ["b:c", "d.e"], []), bad: badTags };
const name = { ok: okName as fc.Arbitrary<J>, bad: badName };

const ENVIRONMENT: ObjectRule = {
  fields: {
    key: { ok: freshKey, bad: fc.oneof(badKey, fc.constantFrom<J>("dev", "prod")) },
    name,
    color: { ok: fc.constantFrom<J>("00ff00", "ABCDEF"), bad: badColor },
    defaultTtl: { ok: fc.integer({ min: 0, max: 525_600 }), bad: badInt(0, 525_600) },
    secureMode: bool,
    defaultTrackEvents: bool,
    confirmChanges: bool,
    requireComments: bool,
    critical: bool,
    tags,
  },
  required: ["key", "name", "color"],
};
const PROJECT: ObjectRule = {
  fields: {
    key: { ok: freshKey, bad: fc.oneof(badKey, fc.constantFrom<J>("fuzz", "default")) },
    name,
    includeInSnippetByDefault: bool,
    defaultClientSideAvailability: csa,
    tags,
    environments: {
      ok: fc.array(plausibleObject({ ...ENVIRONMENT, required: ["key", "name", "color"] }), { maxLength: 2 }).map((envs) => envs.map((e, i) => withField(e, "key", `e${i}`))),
      // In a new project "dev" and "prod" are free keys, so only faults of their own count here.
      bad: fc.oneof(
        notArray,
        faultyObject({ ...ENVIRONMENT, fields: { ...ENVIRONMENT.fields, key: { ok: freshKey, bad: badKey } } }).map((f) => [f.value]),
        fc.constant(Array.from({ length: 51 }, (_, i) => o({ key: `e${i}`, name: "E", color: "000000" }))),
      ),
    },
  },
  required: ["key", "name"],
};
const SEGMENT: ObjectRule = {
  fields: {
    key: { ok: freshKey, bad: fc.oneof(badKey, fc.constant<J>("beta-users")) },
    name,
    description: { ok: text.filter((s) => s.length <= 8192 && !/\u0000|[\ud800-\udfff]/.test(s)), bad: fc.oneof(notString, fc.constant("d".repeat(8193))) },
    tags,
    unbounded: { ok: fc.constant(false), bad: notBool },
    unboundedContextKind: { ok: fc.constant("user"), bad: fc.oneof(notString, fc.constant("k".repeat(65))) },
  },
  required: ["key", "name"],
};
const ROLE: ObjectRule = {
  fields: {
    key: { ok: freshKey, bad: fc.oneof(badKey, fc.constant<J>("fuzz-role")) },
    name,
    description: { ok: fc.constant("d"), bad: fc.oneof(notString, fc.constant("d".repeat(1025))) },
    policy: { ok: fc.constant(policy()), bad: badPolicy },
    basePermissions: { ok: fc.constantFrom<J>("reader", "no_access"), bad: fc.constantFrom<J>("admin", "writer", "owner", 1, "", null) },
  },
  required: ["key", "name", "policy"],
};
/** A public address: a webhook may be made for it (and is never called: the fuzz's webhook is off, and no creation succeeds). */
const PUBLIC_URL = "http://93.184.215.14/fuzz-hook";
const badUrl: fc.Arbitrary<J> = fc.oneof(
  notString,
  fc.constantFrom<J>("", "hook", "ftp://93.184.215.14/", "http://127.0.0.1/", "http://10.0.0.1/", "http://169.254.169.254/latest", "http://[::1]/", "http://u:p@93.184.215.14/", "javascript:alert(1)"),
  fc.constant(`http://93.184.215.14/${"p".repeat(3000)}`),
);
const WEBHOOK: ObjectRule = {
  fields: {
    url: { ok: fc.constant<J>(PUBLIC_URL), bad: badUrl },
    sign: bool,
    on: bool,
    name: { ok: okName as fc.Arbitrary<J>, bad: fc.oneof(notString, fc.constant("n".repeat(257))) },
    secret: { ok: fc.constant<J>("frobozz"), bad: fc.oneof(notString, fc.constantFrom<J>("", "s".repeat(257))) },
    statements: { ok: fc.constant(policy()), bad: badPolicy },
    tags,
  },
  required: ["url", "sign", "on"],
};
const email = fc.stringMatching(/^[a-z0-9]{3,12}$/).map((s) => `fz-${s}@example.com`);
const MEMBER: ObjectRule = {
  fields: {
    email: { ok: email, bad: fc.oneof(notString, fc.constantFrom<J>("noat", "a b@c.d", "", "@", `${"x".repeat(321)}@x`, MEMBER_EMAIL, "owner@vexil.local")) },
    password: { ok: fc.constant("long-enough-password"), bad: fc.oneof(notString, fc.constantFrom<J>("short", "p".repeat(257))) },
    firstName: { ok: okName, bad: fc.oneof(notString.filter((v) => v !== null), fc.constant("f".repeat(257))) },
    lastName: { ok: okName, bad: fc.oneof(notString.filter((v) => v !== null), fc.constant("l".repeat(257))) },
    role: { ok: fc.constantFrom<J>("reader", "writer", "no_access"), bad: fc.constantFrom<J>("owner", "superuser", "", 1, null, "Reader") },
    customRoles: { ok: fc.constantFrom<J>([], ["fuzz-role"]), bad: fc.oneof(notArray, fc.constantFrom<J>(["bad role"], ["fuzz-role", "fuzz-role"], ["no-such-role-zz"], [1], Array.from({ length: 21 }, (_, i) => `r${i}`))) },
  },
  required: ["email"],
};

// The world the fuzz aims at, and the routes.

function routes(w: World): Route[] {
  const TOKEN_RULE: ObjectRule = {
    fields: {
      name: { ok: okName, bad: fc.oneof(notString, fc.constant("n".repeat(257))) },
      description: { ok: fc.constant("d"), bad: fc.oneof(notString, fc.constant("d".repeat(1025))) },
      role: { ok: fc.constantFrom<J>("reader", "writer"), bad: fc.constantFrom<J>("owner", "no_access", "Admin", "", 1, null) },
      customRoleIds: { ok: fc.constant<J>([]), bad: fc.oneof(notArray, fc.constantFrom<J>(["no-such-role-zz"], ["fuzz-role", "fuzz-role"], [""], [1], Array.from({ length: 21 }, (_, i) => `r${i}`))) },
      serviceToken: bool,
      defaultApiVersion: { ok: fc.constant(20240415), bad: fc.constantFrom<J>(12345, 1.5, "20240415", 20240416, null, -1) },
      memberId: { ok: fc.constant(w.memberId), bad: fc.oneof(fc.constantFrom<J>("nothex", "A".repeat(24), "0".repeat(24), "", 1), hex24) },
      expiresAt: { ok: fc.constantFrom<J>(null, 4_102_444_800_000), bad: fc.constantFrom<J>(-1, 1, 1.5, "soon", true) },
      inlineRole: { ok: fc.constant(policy(["viewProject"])), bad: badPolicy },
    },
    required: [],
    extra: fc.constant({ value: o({ role: "reader", inlineRole: policy() }), why: "role and inlineRole together" }),
  };
  const FLAG: ObjectRule = {
    fields: {
      key: { ok: freshKey, bad: fc.oneof(badKey, fc.constantFrom<J>("alpha", "beta")) },
      name,
      description: { ok: fc.constant("d"), bad: fc.oneof(notString, fc.constant("d".repeat(8193))) },
      includeInSnippet: bool,
      clientSideAvailability: { ok: fc.constant(o({ usingEnvironmentId: true })), bad: fc.oneof(notObject, fc.constantFrom<J>(o({ usingEnvironmentId: "yes" }), o({ zz: true }))) },
      variations: {
        ok: fc.oneof(fc.constant<J>([o({ value: "a" }), o({ value: "b" })]), fc.tuple(leaf, leaf).filter(([a, b]) => encode(a) !== encode(b)).map(([a, b]) => [o({ value: a, name: "A" }), o({ value: b })])),
        bad: fc.oneof(notArray, fc.constantFrom<J>([], [o({ value: 1 })], [o({ _id: "x", value: 1 }), o({ _id: "x", value: 2 })], [o({ _id: 5, value: 1 }), o({ value: 2 })], [o({ value: 1, zz: 1 }), o({ value: 2 })], [o({ value: 1, name: 5 }), o({ value: 2 })], [null, null]), fc.constant(Array.from({ length: 101 }, (_, i) => o({ value: i })))),
      },
      temporary: bool,
      tags,
      customProperties: {
        ok: fc.constant(o({ p1: o({ name: "P", value: ["a"] }) })),
        bad: fc.oneof(notObject, fc.constantFrom<J>(o({ p1: o({ name: "P", value: "a" }) }), o({ p1: o({ value: ["a"] }) }), o({ ["k".repeat(129)]: o({ name: "P", value: [] }) }), o({ p1: null }))),
      },
      defaults: { ok: fc.constant(o({ onVariation: 0, offVariation: 1 })), bad: fc.oneof(notObject, fc.constantFrom<J>(o({ onVariation: -1, offVariation: 0 }), o({ onVariation: 1.5, offVariation: 0 }), o({ onVariation: 99, offVariation: 0 }), o({ onVariation: 0 }))) },
      maintainerId: { ok: fc.constant(w.memberId), bad: fc.oneof(fc.constant("m".repeat(65)), fc.constantFrom<J>(1, null, true)) },
      initialPrerequisites: {
        ok: fc.constant<J>([]),
        bad: fc.oneof(notArray, fc.constantFrom<J>([o({ key: "no-such-flag", variationId: "x" })], [o({ key: "alpha", variationId: "nope" })], [o({ key: "alpha" })], [o({ key: "a b", variationId: "x" })], [null])),
      },
    },
    required: ["key", "name"],
  };
  const COPY: ObjectRule = {
    fields: {
      source: { ok: fc.constant(o({ key: "dev" })), bad: fc.oneof(notObject, fc.constantFrom<J>(o({ key: "nope" }), o({ key: "dev", zz: 1 }), o({ key: "dev", currentVersion: 987_654_321 }), o({ key: "dev", currentVersion: 1.5 }), o({ key: "a b" }), o({}))) },
      target: { ok: fc.constant(o({ key: "prod" })), bad: fc.oneof(notObject, fc.constantFrom<J>(o({ key: "dev" }), o({ key: "nope" }), o({ key: "prod", currentVersion: 987_654_321 }), o({ key: "prod", currentVersion: "1" }), o({ key: ["prod"] }))) },
      comment: { ok: fc.constant("copy"), bad: fc.oneof(notString, fc.constant("c".repeat(4097))) },
      includedActions: { ok: fc.constantFrom<J>(["updateOn"], ["updateRules", "updateTargets"]), bad: fc.oneof(notArray, fc.constantFrom<J>(["updateEverything"], [1], Array.from({ length: 11 }, () => "updateOn"))) },
    },
    required: ["source", "target"],
    extra: fc.constant({ value: o({ source: o({ key: "dev" }), target: o({ key: "prod" }), includedActions: ["updateOn"], excludedActions: ["updateRules"] }), why: "includedActions and excludedActions together" }),
  };
  const MEMBERS = {
    plausible: asBody(fc.array(plausibleObject(MEMBER), { minLength: 1, maxLength: 3 })),
    poisoned: asPoisoned(
      fc.oneof(
        fc.tuple(fc.array(plausibleObject(MEMBER), { maxLength: 4 }), faultyObject(MEMBER), fc.nat()).map(([ok, bad, at]) => ({ value: insertAt(ok, at, bad.value), why: `one member in the batch: ${bad.why}` })),
        fc.constant({ value: [] as J[], why: "no members" }),
        fc.constant({ value: Array.from({ length: 51 }, (_, i) => o({ email: `fz-many-${i}@example.com` })), why: "51 members" }),
        email.map((e) => ({ value: [o({ email: e }), o({ email: e.toUpperCase() })], why: "the same email twice" })),
        fc.tuple(fc.array(plausibleObject(MEMBER), { maxLength: 3 }), fc.nat()).map(([ok, at]) => ({ value: insertAt(ok, at, o({ email: MEMBER_EMAIL })), why: "an email already in the account" })),
        fc.oneof(notArray, deep, plausibleObject(MEMBER)).map((v) => ({ value: v, why: "the body is not an array" })),
      ),
    ),
  };
  // Signing in is public and may be slow by design, so its bodies stay shallow and nesting gets
  // one request of its own (below), which keeps a slow parser from stretching the run.
  const wrongPassword = fc.oneof(text, fc.constant(MEMBER_PASSWORD.toUpperCase()), fc.constant(`${MEMBER_PASSWORD} `)).filter((p) => p !== MEMBER_PASSWORD);
  const emails = fc.oneof(fc.constantFrom<J>(MEMBER_EMAIL, "owner@vexil.local", MEMBER_EMAIL.toUpperCase()), text);
  const SESSION = {
    plausible: asBody(
      fc.oneof(
        fc.record({ email: emails, password: wrongPassword }).map((r) => o(r)),
        fc.record({ email: fc.oneof(emails, shallow), password: fc.oneof(wrongPassword, shallow) }).map((r) => o(r)),
        fc.tuple(emails, wrongPassword, unknownField, shallow, fc.nat()).map(([email, password, f, v, at]) => new Obj(insertAt([["email", email] as const, ["password", password] as const], at, [f, v] as const))),
        emails.map((email) => o({ email })),
        shallow,
      ),
    ),
    poisoned: fc.constant({ value: noBody, why: "" }),
  };
  const DEEP_SESSION = { plausible: fc.constantFrom(jsonBody(deepObject(50_000)), jsonBody(deepArray(50_000))), poisoned: SESSION.poisoned };
  const TARGETING = fpTargeting(w);
  const [flagPatch, segmentPatch] = [patchBodies(flagPatchRules(w), true, "flag"), patchBodies(segmentPatchRules(w), true, "segment")];
  const expiry = fc.constantFrom("abc", "-1", "1.5", "1e3", "0x10", " 1", "1234567890123456", "１", "%00", "%FF", "NaN", "1,2").map((v) => ({ value: [["expiry", encodeURIComponent(v)]] as Array<[string, string]>, why: `expiry=${v}` }));
  const P = "/api/v2/projects/{project}";
  const E = `${P}/environments/{env}`;
  const SCHEDULES = `${P}/flags/{flag}/environments/{env}/scheduled-changes`;
  const { scheduledPost, scheduledPatch, flagExpiring, segmentExpiring, userExpiring } = changesInTime(w);
  const APPROVALS = `${P}/flags/{flag}/environments/{env}/approval-requests`;
  const approvals = approvalBodies(w);
  const ignoreConflicts = fc.constantFrom("maybe", "1", "yes", "TRUE", "true,false", "%00").map((v) => ({ value: [["ignoreConflicts", encodeURIComponent(v)]] as Array<[string, string]>, why: `ignoreConflicts=${v}` }));
  const read = (path: string, params: string[] = [], runs = 30): Route => ({ method: "GET", path, params, runs, write: false });
  return [
    read("/api/v2"),
    read("/api/v2/versions"),
    read("/api/v2/caller-identity"),
    read("/api/v2/projects", ["limit", "offset", "filter", "sort", "expand"]),
    read(P, ["expand"]),
    read(`${P}/environments`, ["limit", "offset", "filter", "sort"]),
    read(E),
    read(`${E}/sdk-connections`),
    read("/api/v2/flags/{project}", ["env", "tag", "limit", "offset", "archived", "summary", "filter", "sort", "expand"], 45),
    read("/api/v2/flags/{project}/{flag}", ["env", "summary"]),
    read("/api/v2/flag-statuses/{project}/{env}"),
    read("/api/v2/flag-statuses/{project}/{env}/{flag}"),
    read("/api/v2/flag-status/{project}/{flag}", ["env"]),
    read("/api/v2/segments/{project}/{env}", ["limit", "offset", "sort", "filter"]),
    read("/api/v2/segments/{project}/{env}/{segment}"),
    read("/api/v2/auditlog", ["before", "after", "q", "spec", "limit"], 45),
    read("/api/v2/auditlog/{audit}"),
    read("/api/v2/tokens", ["showAll", "limit", "offset"]),
    read("/api/v2/tokens/{token}"),
    read("/api/v2/members", ["limit", "offset", "filter", "sort", "expand"]),
    read("/api/v2/members/{member}"),
    read("/api/v2/roles", ["limit", "offset"]),
    read("/api/v2/roles/{role}"),
    read("/api/projects/{project}/environments/{env}/toggles/{flag}/targeting"),
    { method: "GET", path: "/{nowhere}", runs: 30, write: false, params: ["x"] },
    { method: "PATCH", path: "/{nowhere}", runs: 20, write: false, harmless: "no such route" },
    { method: "DELETE", path: "/{nowhere}", runs: 20, write: false, harmless: "no such route" },
    { method: "POST", path: "/api/v2/projects", runs: 70, write: true, body: objectBody(PROJECT) },
    { method: "PATCH", path: P, runs: 70, write: true, body: patchBodies(PROJECT_PATCH, false, "project") },
    { method: "DELETE", path: P, runs: 30, write: true },
    { method: "POST", path: `${P}/environments`, runs: 60, write: true, body: objectBody(ENVIRONMENT) },
    { method: "PATCH", path: E, runs: 70, write: true, body: patchBodies(ENVIRONMENT_PATCH, false, "environment") },
    { method: "DELETE", path: E, runs: 30, write: true },
    { method: "POST", path: `${E}/apiKey`, params: ["expiry"], runs: 40, write: true, queryPoison: expiry },
    { method: "POST", path: `${E}/mobileKey`, runs: 40, write: true },
    {
      method: "POST",
      path: "/api/v2/flags/{project}",
      params: ["clone"],
      runs: 100,
      write: true,
      body: objectBody(FLAG),
      queryPoison: fc.oneof(freshKey, weirdSegment(["alpha"])).map((k) => ({ value: [["clone", encodeURIComponent(k)]] as Array<[string, string]>, why: `clone=${k.slice(0, 40)} names no flag` })),
    },
    { method: "PATCH", path: "/api/v2/flags/{project}/{flag}", runs: 260, write: true, body: flagPatch },
    { method: "DELETE", path: "/api/v2/flags/{project}/{flag}", runs: 30, write: true },
    { method: "POST", path: "/api/v2/flags/{project}/{flag}/copy", runs: 60, write: true, body: objectBody(COPY) },
    { method: "POST", path: "/api/v2/segments/{project}/{segmentHome}", runs: 60, write: true, body: objectBody(SEGMENT) },
    { method: "PATCH", path: "/api/v2/segments/{project}/{segEnv}/{segment}", runs: 120, write: true, body: segmentPatch },
    { method: "DELETE", path: "/api/v2/segments/{project}/{segEnv}/{segment}", runs: 30, write: true },
    { method: "POST", path: "/api/v2/tokens", runs: 60, write: true, body: objectBody(TOKEN_RULE) },
    { method: "PATCH", path: "/api/v2/tokens/{token}", runs: 70, write: true, body: patchBodies(TOKEN_PATCH, false, "token") },
    { method: "DELETE", path: "/api/v2/tokens/{token}", runs: 30, write: true },
    { method: "POST", path: "/api/v2/tokens/{token}/reset", params: ["expiry"], runs: 40, write: true, queryPoison: expiry },
    { method: "POST", path: "/api/v2/members", runs: 60, write: true, body: MEMBERS },
    { method: "PATCH", path: "/api/v2/members/{member}", runs: 70, write: true, body: patchBodies(MEMBER_PATCH, false, "member") },
    { method: "DELETE", path: "/api/v2/members/{member}", runs: 30, write: true },
    { method: "POST", path: "/api/v2/roles", runs: 60, write: true, body: objectBody(ROLE) },
    { method: "PATCH", path: "/api/v2/roles/{role}", runs: 70, write: true, body: patchBodies(ROLE_PATCH, false, "role") },
    { method: "DELETE", path: "/api/v2/roles/{role}", runs: 30, write: true },
    { method: "POST", path: "/api/v2/sessions", runs: 50, write: false, harmless: "never the right password", body: SESSION },
    { method: "POST", path: "/api/v2/sessions", runs: 0.5, write: false, harmless: "a body nested 50,000 levels deep", body: DEEP_SESSION, plain: true },
    { method: "DELETE", path: "/api/v2/sessions", runs: 20, write: false, harmless: "signing out without a session" },
    { method: "POST", path: "/api/admin/features/{legacy}/toggle/{state}", runs: 40, write: true },
    { method: "POST", path: "/api/admin/projects/{project}/features/{flag}/environments/{env}/{state}", runs: 40, write: true },
    { method: "PATCH", path: "/api/projects/{project}/environments/{env}/toggles/{flag}/targeting", runs: 120, write: true, body: TARGETING },
    // Added last, so the routes before them keep their samples (each route's seed is its place).
    read(SCHEDULES),
    read(`${SCHEDULES}/{scheduled}`),
    read("/api/v2/flags/{project}/{flag}/expiring-targets/{env}"),
    read("/api/v2/flags/{project}/{flag}/expiring-user-targets/{env}"),
    read("/api/v2/segments/{project}/{segment}/expiring-targets/{segEnv}"),
    read("/api/v2/segments/{project}/{segment}/expiring-user-targets/{segEnv}"),
    read("/api/v2/users/{project}/{user}/expiring-user-targets/{env}"),
    { method: "POST", path: SCHEDULES, params: ["ignoreConflicts"], runs: 80, write: true, body: scheduledPost, queryPoison: ignoreConflicts },
    { method: "PATCH", path: `${SCHEDULES}/{scheduled}`, params: ["ignoreConflicts"], runs: 60, write: true, body: scheduledPatch, queryPoison: ignoreConflicts },
    { method: "DELETE", path: `${SCHEDULES}/{scheduled}`, runs: 30, write: true },
    { method: "PATCH", path: "/api/v2/flags/{project}/{flag}/expiring-targets/{env}", runs: 60, write: true, body: flagExpiring },
    { method: "PATCH", path: "/api/v2/segments/{project}/{segment}/expiring-targets/{segEnv}", runs: 40, write: true, body: segmentExpiring },
    { method: "PATCH", path: "/api/v2/users/{project}/{user}/expiring-user-targets/{env}", runs: 40, write: true, body: userExpiring },
    read(APPROVALS),
    read(`${APPROVALS}/{approval}`),
    read("/api/v2/approval-requests", ["filter", "expand", "limit", "offset"], 45),
    read("/api/v2/approval-requests/{approval}", ["expand"]),
    { method: "POST", path: APPROVALS, runs: 80, write: true, body: approvals.request },
    { method: "POST", path: `${P}/flags/{flag}/environments/{env}/approval-requests-flag-copy`, runs: 40, write: true, body: approvals.copy },
    { method: "POST", path: "/api/v2/approval-requests", runs: 60, write: true, body: approvals.generic },
    { method: "POST", path: `${APPROVALS}/{approval}/reviews`, runs: 50, write: true, body: approvals.review },
    { method: "POST", path: "/api/v2/approval-requests/{approval}/reviews", runs: 30, write: true, body: approvals.review },
    { method: "POST", path: `${APPROVALS}/{approval}/apply`, runs: 40, write: true, body: approvals.apply },
    { method: "POST", path: "/api/v2/approval-requests/{approval}/apply", runs: 30, write: true, body: approvals.apply },
    { method: "DELETE", path: `${APPROVALS}/{approval}`, runs: 30, write: true },
    { method: "DELETE", path: "/api/v2/approval-requests/{approval}", runs: 30, write: true },
    read("/api/v2/webhooks"),
    read("/api/v2/webhooks/{webhook}"),
    read("/api/v2/webhooks/{webhook}/deliveries", ["limit", "offset"]),
    { method: "POST", path: "/api/v2/webhooks", runs: 60, write: true, body: objectBody(WEBHOOK) },
    { method: "PATCH", path: "/api/v2/webhooks/{webhook}", runs: 70, write: true, body: patchBodies(WEBHOOK_PATCH, false, "webhook") },
    { method: "DELETE", path: "/api/v2/webhooks/{webhook}", runs: 30, write: true },
  ];
}

function slotsOf(w: World): Record<string, SlotValues> {
  const missingKey = fc.stringMatching(/^[a-z0-9]{6,12}$/).map((s) => `fz-missing-${s}`);
  return {
    project: { real: ["fuzz"], missing: missingKey },
    env: { real: ["dev", "prod"], missing: missingKey },
    /** Where beta-users lives: elsewhere it names nothing. */
    segEnv: { real: ["dev"], missing: fc.oneof(missingKey, fc.constant("prod")) },
    /** Where a new segment keyed beta-users conflicts. */
    segmentHome: { real: ["dev"], missing: missingKey },
    flag: { real: ["alpha", "beta"], missing: missingKey },
    legacy: { real: ["legacy"], missing: fc.oneof(missingKey, fc.constantFrom("alpha", "beta")) },
    segment: { real: ["beta-users"], missing: missingKey },
    scheduled: { real: [w.scheduled], missing: hex24 },
    approval: { real: [w.approval], missing: hex24 },
    /** Users with removal dates, or targeted, on alpha. */
    user: { real: ["u1", "u2"], missing: missingKey },
    token: { real: [w.tokenId], missing: hex24 },
    member: { real: [w.memberId], missing: hex24 },
    role: { real: ["fuzz-role", w.roleId], missing: missingKey },
    webhook: { real: [w.webhookId], missing: hex24 },
    audit: { real: [w.auditId], missing: hex24 },
    state: { real: ["on", "off"], missing: fc.constantFrom("ON", "enable", "1", "true", "toggle", "onn", "of") },
    nowhere: {
      real: ["api/v2/projects/fuzz/nope", "api/v3/projects", "api/v2/flags", "api/admin/other", "api/v2/projects/fuzz/environments/dev/nope", "api/v2/versions/x", "api/v2/flags/fuzz/alpha/copy/x", "sdk", "api"],
      missing: missingKey,
      raw: true,
    },
  };
}

// Scheduled changes and expiring targets.

/** Long after any run of the fuzz (2100): nothing scheduled by the seed comes due during it. */
const FAR_FUTURE = 4_102_444_800_000;

/**
 * A body for routes that take only a semantic patch: plausible instructions, or a definite fault —
 * a bad instruction among good ones (`bad`), the instructions without the semantic-patch content
 * type, or no instructions. `failing`: instructions that fail every time, for routes where each
 * instruction stands alone (they answer 200 and change nothing).
 */
function semanticOnly(ok: fc.Arbitrary<J>, bad: fc.Arbitrary<Labeled<J>>, failing?: fc.Arbitrary<J>): { plausible: fc.Arbitrary<Body>; poisoned: fc.Arbitrary<Labeled<Body>> } {
  const list = (i: J[], comment?: J) => o({ ...(comment === undefined ? {} : { comment }), instructions: i });
  return {
    plausible: fc.array(ok, { minLength: 1, maxLength: 3 }).map((i) => jsonBody(list(i), SEMANTIC)),
    poisoned: fc.oneof(
      { weight: 6, arbitrary: fc.tuple(fc.array(ok, { maxLength: 3 }), bad, fc.nat()).map(([good, b, at]) => ({ value: jsonBody(list(insertAt(good, at, b.value)), SEMANTIC), why: b.why })) },
      { weight: 2, arbitrary: fc.tuple(fc.array(ok, { minLength: 1, maxLength: 2 }), fc.constantFrom(...JSON_TYPES, "application/merge-patch+json")).map(([i, t]) => ({ value: jsonBody(list(i), t), why: "without the semantic-patch content type" })) },
      { weight: 1, arbitrary: fc.oneof(notArray, fc.constant<J>([]), deep).map((i) => ({ value: jsonBody(o({ instructions: i }), SEMANTIC), why: "instructions is not a non-empty array" })) },
      { weight: 1, arbitrary: fc.oneof(notObject, fc.array(ok, { maxLength: 2 })).map((v) => ({ value: jsonBody(v, SEMANTIC), why: "a semantic patch that is not an object" })) },
      { weight: 1, arbitrary: ok.map((i) => ({ value: jsonBody(o({ instructions: Array.from({ length: 1_001 }, () => i) }), SEMANTIC), why: "over 1000 instructions" })) },
      ...(failing ? [{ weight: 2, arbitrary: fc.array(failing, { minLength: 1, maxLength: 3 }).map((i) => ({ value: jsonBody(list(i), SEMANTIC), why: "every instruction fails" })) }] : []),
    ),
  };
}

/** Instructions that are not objects of a kind the route knows: the whole request is refused. */
const unknownInstruction = (kinds: string[]) =>
  fc.oneof(
    fc.constantFrom<J>(...kinds, "__proto__", "constructor", "", 1, null, ["x"]).map((kind) => ({ value: o({ kind, value: FAR_FUTURE }), why: `kind ${JSON.stringify(kind)}` })),
    fc.constantFrom<J>(null, 1, "addExpiringTarget", []).map((i) => ({ value: i, why: "an instruction that is not an object" })),
    fc.constant({ value: new Raw('{"kind":"turnFlagOn","__proto__":{"x":1}}'), why: "a __proto__ key" }),
  );

function changesInTime(w: World) {
  const [a0, a1] = w.alpha.variations as [string, string];
  const SCHEDULED: ObjectRule = {
    fields: {
      executionDate: { ok: fc.constant<J>(FAR_FUTURE + 1), bad: fc.constantFrom<J>(1, 0, -1, 1.5, "2100-01-01", null, 1e20, true) },
      instructions: {
        ok: fc.constantFrom<J>([o({ kind: "turnFlagOn" })], [o({ kind: "updateOffVariation", variationId: a1 })], [o({ kind: "addTargets", variationId: a0, values: ["u-7"] })]),
        bad: fc.oneof(
          notArray,
          fc.constantFrom<J>([], [null], [o({ kind: "zzUnknown" })], [o({ kind: "addTargets", variationId: "nope", values: ["x"] })], [o({ kind: "removeRule" })], [o({ kind: "turnFlagOn" }), o({ kind: "updateRuleDescription", ruleId: "nope", description: "d" })]),
          fc.constant<J>(Array.from({ length: 101 }, () => o({ kind: "turnFlagOn" }))),
        ),
      },
      comment: { ok: fc.constant<J>("c"), bad: fc.oneof(notString, fc.constant<J>("c".repeat(4097))) },
    },
    required: ["executionDate", "instructions"],
  };
  const scheduledPatch = semanticOnly(
    fc.constantFrom<J>(o({ kind: "updateScheduledChangesExecutionDate", value: FAR_FUTURE + 2 }), o({ kind: "replaceScheduledChangesInstructions", value: [o({ kind: "turnFlagOff" })] })),
    fc.oneof(
      unknownInstruction(["turnFlagOn", "deleteScheduledChanges", "UpdateScheduledChangesExecutionDate"]),
      // Faults of the instruction itself: a past date or instructions the flag refuses are checked
      // on the result, which a later instruction in the same patch may still put right.
      fc.constantFrom<J>(
        o({ kind: "updateScheduledChangesExecutionDate", value: "soon" }),
        o({ kind: "updateScheduledChangesExecutionDate", value: 1.5 }),
        o({ kind: "updateScheduledChangesExecutionDate" }),
        o({ kind: "replaceScheduledChangesInstructions", value: [] }),
        o({ kind: "replaceScheduledChangesInstructions", value: [null] }),
        o({ kind: "replaceScheduledChangesInstructions", value: "turnFlagOn" }),
      ).map((i) => ({ value: i, why: `bad parameters: ${encode(i).slice(0, 80)}` })),
    ),
  );
  const flagExpiring = semanticOnly(
    fc.constantFrom<J>(
      o({ kind: "updateExpiringTarget", variationId: a0, contextKey: "u1", contextKind: "user", value: FAR_FUTURE + 3 }),
      o({ kind: "addExpiringTarget", variationId: a0, contextKey: "u2", contextKind: "user", value: FAR_FUTURE }),
      o({ kind: "removeExpiringTarget", variationId: a0, contextKey: "u1", contextKind: "user" }),
    ),
    unknownInstruction(["turnFlagOn", "addExpireUserTargetDate", "AddExpiringTarget"]),
    fc.constantFrom<J>(
      o({ kind: "addExpiringTarget", variationId: "nope", contextKey: "u2", value: FAR_FUTURE }),
      o({ kind: "addExpiringTarget", variationId: a0, contextKey: "not-targeted", value: FAR_FUTURE }),
      o({ kind: "updateExpiringTarget", variationId: a0, contextKey: "u1", value: 1 }),
      o({ kind: "updateExpiringTarget", variationId: a0, contextKey: "u1", value: FAR_FUTURE, version: 99 }),
      o({ kind: "removeExpiringTarget", variationId: a0, contextKey: "nobody" }),
      o({ kind: "addExpiringTarget", contextKey: 1, value: "x" }),
    ),
  );
  const segmentExpiring = semanticOnly(
    fc.constantFrom<J>(o({ kind: "addExpiringTarget", targetType: "included", contextKey: "in-1", contextKind: "user", value: FAR_FUTURE }), o({ kind: "addExpiringTarget", targetType: "excluded", contextKey: "ex-1", contextKind: "user", value: FAR_FUTURE })),
    unknownInstruction(["addIncludedUsers", "addExpireUserTargetDate"]),
    fc.constantFrom<J>(
      o({ kind: "addExpiringTarget", targetType: "sideways", contextKey: "in-1", value: FAR_FUTURE }),
      o({ kind: "addExpiringTarget", targetType: "excluded", contextKey: "in-1", value: FAR_FUTURE }),
      o({ kind: "removeExpiringTarget", targetType: "included", contextKey: "nobody" }),
    ),
  );
  const userExpiring = semanticOnly(
    fc.constantFrom<J>(o({ kind: "addExpireUserTargetDate", flagKey: "alpha", variationId: a0, value: FAR_FUTURE }), o({ kind: "removeExpireUserTargetDate", flagKey: "alpha", variationId: a0 })),
    unknownInstruction(["addExpiringTarget", "turnFlagOn"]),
    fc.constantFrom<J>(o({ kind: "addExpireUserTargetDate", flagKey: "fz-missing-flag", variationId: a0, value: FAR_FUTURE }), o({ kind: "addExpireUserTargetDate", variationId: a0, value: FAR_FUTURE }), o({ kind: "addExpireUserTargetDate", flagKey: "alpha", variationId: "nope", value: FAR_FUTURE })),
  );
  return { scheduledPost: objectBody(SCHEDULED), scheduledPatch, flagExpiring, segmentExpiring, userExpiring };
}

// Approval requests.

function approvalBodies(w: World) {
  const [a0] = w.alpha.variations as [string, string];
  const common: ObjectRule["fields"] = {
    description: { ok: fc.constant<J>("d"), bad: fc.oneof(notString, fc.constantFrom<J>("", " ", "d".repeat(5001))) },
    comment: { ok: fc.constant<J>("c"), bad: fc.oneof(notString, fc.constant<J>("c".repeat(4097))) },
    notifyMemberIds: { ok: fc.constant<J>(["m-1"]), bad: fc.oneof(notArray, fc.constantFrom<J>([1], [null], Array.from({ length: 51 }, (_, i) => `m-${i}`))) },
  };
  const instructions = {
    ok: fc.constantFrom<J>([o({ kind: "turnFlagOn" })], [o({ kind: "addTargets", variationId: a0, values: ["u-9"] })]),
    bad: fc.oneof(notArray, fc.constantFrom<J>([], [null], [o({ kind: "zzUnknown" })], [o({ kind: "deleteFlag" })], [o({ kind: "addTargets", variationId: "nope", values: ["x"] })], Array.from({ length: 101 }, () => o({ kind: "turnFlagOn" })))),
  };
  const executionDate = { ok: fc.constant<J>(FAR_FUTURE), bad: fc.constantFrom<J>(1, -1, 1.5, "2100-01-01", null, true) };
  const REQUEST: ObjectRule = {
    fields: { ...common, instructions, executionDate },
    required: ["description", "instructions"],
    extra: fc.constant({ value: o({ description: "d", instructions: [o({ kind: "turnFlagOn" })], operatingOnId: "x" }), why: "operatingOnId names no scheduled change of the flag" }),
  };
  const GENERIC: ObjectRule = {
    fields: {
      ...common,
      instructions,
      resourceId: { ok: fc.constant<J>("proj/fuzz:env/prod:flag/alpha"), bad: fc.oneof(notString, fc.constantFrom<J>("proj/fuzz", "proj/fuzz:env/prod:segment/beta-users", "proj/fuzz:env/nope:flag/alpha", "proj/fuzz:env/prod:flag/nope", "")) },
    },
    required: ["resourceId", "description", "instructions"],
  };
  const COPY: ObjectRule = {
    fields: {
      ...common,
      source: { ok: fc.constant<J>(o({ key: "dev" })), bad: fc.oneof(notObject, fc.constantFrom<J>(o({ key: "nope" }), o({ key: "dev", version: "1" }), o({ key: "dev", version: 987_654 }), o({}), o({ key: "dev", zz: 1 }))) },
      includedActions: { ok: fc.constant<J>(["updateOn"]), bad: fc.oneof(notArray, fc.constantFrom<J>(["updateEverything"], [1])) },
    },
    required: ["description", "source"],
    extra: fc.constant({ value: o({ description: "d", source: o({ key: "dev" }), includedActions: ["updateOn"], excludedActions: ["updateRules"] }), why: "includedActions and excludedActions together" }),
  };
  const REVIEW: ObjectRule = {
    fields: { kind: { ok: fc.constant<J>("comment"), bad: fc.oneof(notString, fc.constantFrom<J>("applaud", "Approve", "")) }, comment: common.comment! },
    required: ["kind"],
  };
  const APPLY: ObjectRule = { fields: { comment: common.comment! }, required: [] };
  return { request: objectBody(REQUEST), generic: objectBody(GENERIC), copy: objectBody(COPY), review: objectBody(REVIEW), apply: objectBody(APPLY) };
}

// PATCH bodies: JSON Patch, merge patch and semantic patch, each with a definite fault.

interface PatchRules {
  /** Editable fields by JSON pointer, with values that would pass and values that cannot. */
  fields: Array<{ path: string; ok: fc.Arbitrary<J>; bad: fc.Arbitrary<J> }>;
  /** Read-only fields by pointer, with a value they surely do not have. */
  readOnly: Array<[string, J]>;
  /** Arrays to aim bad indexes at. */
  arrays: string[];
  /** A field whose removal leaves the document invalid. */
  required: string;
  semantic?: { ok: fc.Arbitrary<J>; bad: fc.Arbitrary<Labeled<J>>; envKeys: { ok: string[]; bad: fc.Arbitrary<J> } };
}

const pointer = (path: string) => path.split("/").slice(1);
/** The top-level field a JSON Patch operation works on. */
const topOf = (op: J): string | undefined => {
  const path = op instanceof Obj ? op.entries.find(([k]) => k === "path")?.[1] : undefined;
  return typeof path === "string" ? path.split("/")[1] : undefined;
};
/** A merge-patch object that sets one pointer. */
const mergeAt = (path: string, v: J): Obj => pointer(path).reduceRight<J>((acc, key) => o({ [key]: acc }), v) as Obj;

function patchBodies(rules: PatchRules, semanticAllowed: boolean, kind: string): { plausible: fc.Arbitrary<Body>; poisoned: fc.Arbitrary<Labeled<Body>> } {
  const field = fc.constantFrom(...rules.fields);
  const okOp: fc.Arbitrary<J> = fc.oneof(
    field.chain((f) => f.ok.map((v) => o({ op: "replace", path: f.path, value: v }))),
    fc.constantFrom(...rules.arrays).chain((a) => leaf.map((v) => o({ op: "add", path: `${a}/-`, value: v }))),
  );
  // RFC 6901: "0" or digits without a leading zero, and at most the array's length.
  const badIndex = fc.constantFrom("999999", "-1", " 0", "0x1", "1.0", "", "abc", "01", "4294967296", "9".repeat(40));
  const badOp: fc.Arbitrary<Labeled<J>> = fc.oneof(
    fc.tuple(fc.constantFrom<J>("frobnicate", "ADD", "Replace", "", "_get", "get", "delete", "update", 1, null, ["add"]), field).map(([op, f]) => ({ value: o({ op, path: f.path, value: "x" }), why: `op ${JSON.stringify(op)}` })),
    // fast-json-patch's internal read operation, which RFC 6902 does not have (thrice as likely).
    ...Array.from({ length: 3 }, () => field.map((f) => ({ value: o({ op: "_get", path: f.path }), why: 'op "_get"' }))),
    field.map((f) => ({ value: o({ path: f.path, value: "x" }), why: "an operation without op" })),
    fc.constantFrom<J>(123, null, "name", "name/", ["/name"], "#/name").map((p) => ({ value: o({ op: "replace", path: p, value: "x" }), why: `path ${JSON.stringify(p)}` })),
    unknownField.map((f) => ({ value: o({ op: "replace", path: `/${f}`, value: 1 }), why: "replace of a field that does not exist" })),
    fc.tuple(unknownField, value).map(([f, v]) => ({ value: o({ op: "add", path: `/${f}`, value: v }), why: `add of unknown field ${f}` })),
    unknownField.map((f) => ({ value: o({ op: "remove", path: `/${f}/x` }), why: "remove of a path that does not exist" })),
    fc.tuple(field, fc.constantFrom("add", "replace", "test")).map(([f, op]) => ({ value: o({ op, path: f.path }), why: `${op} without value` })),
    field.chain((f) => f.bad.map((v) => ({ value: o({ op: "replace", path: f.path, value: v }), why: `${f.path} set to an invalid value` }))),
    fc.tuple(field, fc.constantFrom<J>(12345, o({ never: true }), "definitely-not-the-value")).map(([f, v]) => ({ value: o({ op: "test", path: f.path, value: v }), why: "a test that does not hold" })),
    fc.tuple(unknownField, field).map(([from, f]) => ({ value: o({ op: "move", from: `/${from}`, path: f.path }), why: "move from nowhere" })),
    fc.tuple(unknownField, field).map(([from, f]) => ({ value: o({ op: "copy", from: `/${from}`, path: f.path }), why: "copy from nowhere" })),
    field.map((f) => ({ value: o({ op: "move", path: f.path }), why: "move without from" })),
    // Array indexes are where JSON Pointer parsers cut corners (thrice as likely).
    ...Array.from({ length: 3 }, () =>
      fc.tuple(fc.constantFrom(...rules.arrays), badIndex, fc.constantFrom("add", "remove", "replace")).map(([a, i, op]) => ({ value: o({ op, path: `${a}/${i}`, value: "x" }), why: `${op} at bad index ${a}/${i}` })),
    ),
    fc.constantFrom("/~2", "/na~me", "/~", "/__proto__/polluted", "/constructor/prototype/polluted", "/__proto__", "/a~1b/c").map((p) => ({ value: o({ op: "add", path: p, value: "x" }), why: `path ${p}` })),
    fc.constantFrom(...rules.readOnly).map(([p, v]) => ({ value: o({ op: "replace", path: p, value: v }), why: `${p} is read-only` })),
    fc.constant({ value: o({ op: "remove", path: rules.required }), why: `removes ${rules.required}` }),
    fc.oneof(notObject, fc.constant<J>(o({})), deep).map((v) => ({ value: o({ op: "replace", path: "", value: v }), why: "replaces the whole document" })),
    deep.map((d) => ({ value: o({ op: "add", path: "/zzdeep", value: d }), why: "a value nested too deep" })),
    fc.oneof(notObject, deep).map((v) => ({ value: v, why: "an operation that is not an object" })),
  );
  const jsonPatch: fc.Arbitrary<Labeled<J>> = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.array(okOp, { maxLength: 4 }), badOp, fc.nat(), fc.oneof(fc.constant(undefined), text)).map(([ok, bad, at, comment]) => {
      // A later operation on the same field could overwrite the fault, so none touches it.
      const field = topOf(bad.value);
      const ops = insertAt(field === undefined ? ok : ok.filter((op) => topOf(op) !== field), at, bad.value);
      return { value: comment === undefined ? ops : o({ comment, patch: ops }), why: `JSON Patch: ${bad.why}` };
    }) },
    { weight: 1, arbitrary: fc.tuple(fc.array(okOp, { minLength: 1, maxLength: 3 }), fc.oneof(notString, fc.constant("c".repeat(4097)))).map(([ops, comment]) => ({ value: o({ comment, patch: ops }), why: "comment is not a short string" })) },
    { weight: 1, arbitrary: fc.constant({ value: Array.from({ length: 1001 }, () => o({ op: "add", path: `${rules.arrays[0]}/-`, value: "t" })), why: "1001 operations" }) },
    { weight: 1, arbitrary: fc.oneof(notArray, deep).map((p) => ({ value: o({ patch: p }), why: "patch is not an array" })) },
  );
  const okMerge = fc.array(field.chain((f) => f.ok.map((v) => [f.path, v] as const)), { maxLength: 3 });
  const mergeFault: fc.Arbitrary<Labeled<Array<readonly [string, J]>>> = fc.oneof(
    // Null would only delete a member that is not there, which merge patch allows.
    fc.tuple(unknownField, value.filter((v) => v !== null)).map(([f, v]) => ({ value: [[f, v] as const], why: `unknown field ${JSON.stringify(f)}` })),
    field.chain((f) => f.bad.map((v) => ({ value: [[pointer(f.path)[0]!, mergeAt(f.path, v).entries[0]![1]] as const], why: `${f.path} set to an invalid value` }))),
    fc.constantFrom(...rules.readOnly).map(([p, v]) => ({ value: [[pointer(p)[0]!, mergeAt(p, v).entries[0]![1]] as const], why: `${p} is read-only` })),
    fc.constant<Labeled<Array<readonly [string, J]>>>({ value: [[pointer(rules.required)[0]!, null] as const], why: `removes ${rules.required}` }),
    deep.map((d) => ({ value: [["zzdeep", d] as const], why: "a value nested too deep" })),
  );
  const merge: fc.Arbitrary<Labeled<J>> = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(okMerge, mergeFault, fc.array(fc.tuple(fc.constantFrom("__proto__", "constructor", "prototype", "toString", "valueOf"), value), { maxLength: 2 }), fc.nat(), fc.nat(), fc.constantFrom("plain", "wrapped")).map(([ok, fault, hostile, at, at2, shape]) => {
      // Fields the fault sets are left out of the rest, so a later duplicate cannot hide it.
      const rest = ok.map(([p, v]) => [pointer(p)[0]!, mergeAt(p, v).entries[0]![1]] as const).filter(([k]) => k !== fault.value[0]![0]);
      const entries = hostile.reduce((acc, h, i) => insertAt(acc, at2 + i, h as readonly [string, J]), insertAt(rest, at, fault.value[0]!));
      const body = new Obj(entries);
      return { value: shape === "plain" ? body : o({ comment: "fuzz", merge: body }), why: `merge patch: ${fault.why}` };
    }) },
    { weight: 1, arbitrary: fc.oneof(notObject, deep).map((m) => ({ value: o({ merge: m }), why: "merge is not an object" })) },
    { weight: 1, arbitrary: fc.tuple(okMerge, fc.oneof(notString, fc.constant("c".repeat(4097)))).map(([ok, comment]) => ({ value: o({ comment, merge: new Obj(ok.map(([p, v]) => [pointer(p)[0]!, mergeAt(p, v).entries[0]![1]] as const)) }), why: "comment is not a short string" })) },
    { weight: 1, arbitrary: fc.oneof(text, number, fc.boolean(), fc.constant(null)).map((v) => ({ value: v, why: "a patch that is neither an array nor an object" })) },
  );
  const semantic = rules.semantic;
  const semanticBody: fc.Arbitrary<Labeled<J>> = semantic
    ? fc.oneof(
        { weight: 6, arbitrary: fc.tuple(fc.array(semantic.ok, { maxLength: 4 }), semantic.bad, fc.nat(), fc.constantFrom(...semantic.envKeys.ok), fc.option(text)).map(([ok, bad, at, env, comment]) => ({
          value: o({ environmentKey: env, ...(comment === null ? {} : { comment }), instructions: insertAt(ok, at, bad.value) }),
          why: `semantic patch: ${bad.why}`,
        })) },
        { weight: 1, arbitrary: fc.tuple(fc.array(semantic.ok, { minLength: 1, maxLength: 3 }), semantic.envKeys.bad).map(([ok, env]) => ({ value: o({ environmentKey: env, instructions: [...ok, o({ kind: "turnFlagOn" }), o({ kind: "updateName", value: "" })] }), why: `environmentKey ${JSON.stringify(env).slice(0, 40)}` })) },
        { weight: 1, arbitrary: fc.oneof(notArray, fc.constant<J>([]), deep).map((i) => ({ value: o({ environmentKey: semantic.envKeys.ok[0]!, instructions: i }), why: "instructions is not a non-empty array" })) },
        { weight: 1, arbitrary: fc.oneof(fc.array(semantic.ok, { maxLength: 2 }), notObject).map((v) => ({ value: v, why: "a semantic patch that is not an object" })) },
        { weight: 1, arbitrary: fc.tuple(fc.array(semantic.ok, { minLength: 1, maxLength: 2 }), fc.oneof(notString, fc.constant("c".repeat(4097)))).map(([ok, comment]) => ({ value: o({ environmentKey: semantic.envKeys.ok[0]!, comment, instructions: [...ok, o({ kind: "zzUnknown" })] }), why: "comment is not a short string" })) },
      )
    : fc.tuple(fc.oneof(jsonPatch, merge)).map(([l]) => ({ value: l.value, why: `a semantic patch on a ${kind}` }));
  const plausible: fc.Arbitrary<Body> = fc.oneof(
    fc.array(okOp, { minLength: 1, maxLength: 3 }).map((ops) => jsonBody(ops)),
    okMerge.map((ok) => jsonBody(new Obj(ok.map(([p, v]) => [pointer(p)[0]!, mergeAt(p, v).entries[0]![1]] as const)), "application/merge-patch+json")),
    ...(semantic ? [fc.tuple(fc.array(semantic.ok, { minLength: 1, maxLength: 3 }), fc.constantFrom(...semantic.envKeys.ok)).map(([ins, env]) => jsonBody(o({ environmentKey: env, instructions: ins }), SEMANTIC))] : []),
  );
  const poisoned: fc.Arbitrary<Labeled<Body>> = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(jsonPatch, fc.constantFrom(...JSON_TYPES, "application/json-patch+json")).map(([l, t]) => ({ value: jsonBody(l.value, t), why: l.why })) },
    { weight: 4, arbitrary: fc.tuple(merge, fc.constantFrom(...JSON_TYPES, "application/merge-patch+json")).map(([l, t]) => ({ value: jsonBody(l.value, t), why: l.why })) },
    { weight: semanticAllowed ? 6 : 1, arbitrary: fc.tuple(semanticBody, fc.constantFrom(SEMANTIC, 'application/json;domain-model="launchdarkly.semanticpatch"', "application/json; DOMAIN-MODEL = launchdarkly.semanticpatch")).map(([l, t]) => ({ value: jsonBody(l.value, t), why: l.why })) },
    { weight: 1, arbitrary: fc.constantFrom("[", "{", '{"name":', "[{]", "nul", "tru", "{'a':1}", "[1,]", '{"a":1,}', "\u0000", "{}{}", '"unterminated').map((t) => ({ value: { data: t, types: ["application/json"] }, why: "not JSON" })) },
    { weight: 1, arbitrary: semantic ? fc.array(semantic.ok, { minLength: 1, maxLength: 2 }).map((ins) => ({ value: jsonBody(o({ environmentKey: semantic.envKeys.ok[0]!, instructions: ins })), why: "instructions without the semantic-patch content type" })) : fc.constant({ value: jsonBody(o({ instructions: [o({ kind: "updateName", value: "x" })] })), why: "instructions on a resource without semantic patches" }) },
  );
  return { plausible, poisoned };
}

const PROJECT_PATCH: PatchRules = {
  fields: [
    { path: "/name", ok: okName, bad: badName },
    { path: "/tags", ok: tags.ok, bad: badTags },
    { path: "/includeInSnippetByDefault", ok: bool.ok, bad: notBool },
    { path: "/defaultClientSideAvailability", ok: csa.ok, bad: csa.bad },
    { path: "/defaultClientSideAvailability/usingMobileKey", ok: bool.ok, bad: notBool },
  ],
  readOnly: [["/key", "other-key"], ["/_id", "0".repeat(24)]],
  arrays: ["/tags"],
  required: "/name",
};
const ENVIRONMENT_PATCH: PatchRules = {
  fields: [
    { path: "/name", ok: okName, bad: badName },
    { path: "/color", ok: fc.constant("123456"), bad: badColor },
    { path: "/defaultTtl", ok: fc.integer({ min: 0, max: 525_600 }), bad: badInt(0, 525_600) },
    { path: "/secureMode", ok: bool.ok, bad: notBool },
    { path: "/requireComments", ok: bool.ok, bad: notBool },
    { path: "/critical", ok: bool.ok, bad: notBool },
    { path: "/tags", ok: tags.ok, bad: badTags },
  ],
  readOnly: [["/key", "other"], ["/_id", "0".repeat(24)], ["/apiKey", "sdk-x"], ["/mobileKey", "mob-x"]],
  arrays: ["/tags"],
  required: "/color",
};
const TOKEN_PATCH: PatchRules = {
  fields: [
    { path: "/name", ok: okName, bad: fc.oneof(notString, fc.constant("n".repeat(257))) },
    { path: "/description", ok: fc.constant("d"), bad: fc.oneof(notString, fc.constant("d".repeat(1025))) },
    { path: "/role", ok: fc.constantFrom<J>("reader", "writer"), bad: fc.constantFrom<J>("owner", "superuser", 1, "") },
    { path: "/customRoleIds", ok: fc.constant<J>([]), bad: fc.oneof(notArray, fc.constantFrom<J>(["no-such-role-zz"], [1], ["a", "a"])) },
    { path: "/defaultApiVersion", ok: fc.constant(20240415), bad: fc.constantFrom<J>(12345, "20240415", 1.5, null) },
    { path: "/expiresAt", ok: fc.constant(4_102_444_800_000), bad: fc.constantFrom<J>(-1, 1, "soon", 1.5) },
    { path: "/inlineRole", ok: fc.constant<J>(null), bad: badPolicy.filter((v) => v !== null) },
  ],
  readOnly: [["/_id", "0".repeat(24)], ["/memberId", "0".repeat(24)], ["/serviceToken", true], ["/token", "abcd"], ["/creationDate", 1], ["/lastUsed", 5]],
  arrays: ["/customRoleIds"],
  required: "/name",
};
const MEMBER_PATCH: PatchRules = {
  fields: [
    { path: "/firstName", ok: okName, bad: fc.oneof(notString.filter((v) => v !== null), fc.constant("f".repeat(257))) },
    { path: "/lastName", ok: okName, bad: fc.oneof(notString.filter((v) => v !== null), fc.constant("l".repeat(257))) },
    { path: "/role", ok: fc.constantFrom<J>("reader", "writer"), bad: fc.constantFrom<J>("superuser", 1, "", null) },
    { path: "/customRoles", ok: fc.constantFrom<J>([], ["fuzz-role"]), bad: fc.oneof(notArray, fc.constantFrom<J>(["bad role"], ["fuzz-role", "fuzz-role"], ["no-such-role-zz"])) },
    { path: "/password", ok: fc.constant("another-long-password"), bad: fc.oneof(notString, fc.constant("short")) },
  ],
  readOnly: [["/_id", "0".repeat(24)], ["/email", "other@example.com"], ["/_lastSeen", 5], ["/creationDate", 1], ["/_verified", "no"], ["/mfa", "enabled"]],
  arrays: ["/customRoles"],
  required: "/role",
};
const ROLE_PATCH: PatchRules = {
  fields: [
    { path: "/name", ok: okName, bad: badName },
    { path: "/description", ok: fc.constant("d"), bad: fc.oneof(notString, fc.constant("d".repeat(1025))) },
    { path: "/policy", ok: fc.constant(policy(["viewProject"])), bad: badPolicy },
    { path: "/basePermissions", ok: fc.constantFrom<J>("reader", "no_access"), bad: fc.constantFrom<J>("admin", 1, null) },
  ],
  readOnly: [["/key", "other-role"], ["/_id", "0".repeat(24)]],
  arrays: ["/policy"],
  required: "/policy",
};
const WEBHOOK_PATCH: PatchRules = {
  fields: [
    { path: "/name", ok: okName, bad: fc.oneof(notString, fc.constant("n".repeat(257))) },
    { path: "/url", ok: fc.constant<J>(PUBLIC_URL), bad: badUrl },
    { path: "/secret", ok: fc.constant<J>("frobozz-2"), bad: fc.oneof(notString, fc.constantFrom<J>("", "s".repeat(257))) },
    { path: "/on", ok: fc.constant<J>(false), bad: notBool },
    { path: "/statements", ok: fc.constant(policy(["viewProject"])), bad: badPolicy },
    { path: "/tags", ok: tags.ok, bad: badTags },
  ],
  readOnly: [["/_id", "0".repeat(24)], ["/_signed", true], ["/_links", o({})]],
  arrays: ["/tags"],
  required: "/url",
};
const segmentPatchRules = (w: World): PatchRules => ({
  fields: [
    { path: "/name", ok: okName, bad: badName },
    { path: "/description", ok: fc.constant("d"), bad: fc.oneof(notString, fc.constant("d".repeat(8193))) },
    { path: "/tags", ok: tags.ok, bad: badTags },
    { path: "/included", ok: fc.constant<J>(["in-1", "in-2"]), bad: fc.oneof(notArray, fc.constantFrom<J>([1], [null], [["x"]])) },
    { path: "/excluded", ok: fc.constant<J>(["ex-1"]), bad: fc.oneof(notArray, fc.constantFrom<J>([1], [o({})])) },
    { path: "/rules", ok: fc.constant<J>([]), bad: fc.oneof(notArray, fc.constantFrom<J>([o({ clauses: "x" })], [null], [o({ clauses: [o({ attribute: "a", op: "nope", values: [] })] })])) },
  ],
  readOnly: [["/key", "other"], ["/version", 999], ["/salt", "00"], ["/creationDate", 1], ["/unbounded", true], ["/deleted", true]],
  arrays: ["/included", "/excluded", "/rules", "/tags"],
  required: "/name",
  semantic: {
    ok: fc.oneof(
      fc.array(text, { maxLength: 3 }).map((values) => o({ kind: "addIncludedUsers", values })),
      fc.array(text, { maxLength: 3 }).map((values) => o({ kind: "removeExcludedUsers", values })),
      fc.array(text, { maxLength: 2 }).map((values) => o({ kind: "addExcludedTargets", contextKind: "org", values })),
      fc.constant(o({ kind: "addRule", clauses: [o({ attribute: "country", op: "in", values: ["fr"] })], weight: 50_000 })),
      okName.map((v) => o({ kind: "updateName", value: v })),
      fc.constant(o({ kind: "addTags", values: ["s1"] })),
      fc.constantFrom<J>(
        o({ kind: "removeRule", ruleId: w.segmentRule }),
        o({ kind: "reorderRules", ruleIds: [w.segmentRule] }),
        o({ kind: "updateRuleDescription", ruleId: w.segmentRule, description: "d" }),
        o({ kind: "addClauses", ruleId: w.segmentRule, clauses: [o({ attribute: "plan", op: "in", values: ["team"] })] }),
        o({ kind: "updateRuleRolloutAndContextKind", ruleId: w.segmentRule, weight: 25_000, contextKind: "org" }),
      ),
    ),
    bad: fc.oneof(
      fc.constantFrom<J>("zzUnknown", "turnFlagOn", "AddIncludedUsers", "__proto__", "constructor", "toString", "", "addBigSegmentIncludedTargets", "processBigSegmentImport", 1, null, ["addRule"]).map((kind) => ({ value: o({ kind, values: ["u"] }), why: `kind ${JSON.stringify(kind)}` })),
      fc.constantFrom<J>(null, 1, "addIncludedUsers", []).map((i) => ({ value: i, why: "an instruction that is not an object" })),
      fc.constantFrom<J>(
        o({ kind: "addIncludedUsers", values: "u" }),
        o({ kind: "addIncludedUsers", values: [1] }),
        o({ kind: "addIncludedTargets", contextKind: "", values: ["u"] }),
        o({ kind: "addIncludedTargets", contextKind: 1, values: ["u"] }),
        o({ kind: "addIncludedUsers", values: ["ex-1"] }),
        o({ kind: "addRule", clauses: "x" }),
        o({ kind: "addRule", clauses: [], weight: 100_001 }),
        o({ kind: "addRule", clauses: [], weight: 1.5 }),
        o({ kind: "addRule", clauses: [o({ attribute: "a", op: "regex", values: [] })] }),
        o({ kind: "addRule", clauses: [], beforeRuleId: "nope" }),
        o({ kind: "reorderRules", ruleIds: ["nope"] }),
        o({ kind: "updateRuleDescription", ruleId: "nope", description: "x" }),
        o({ kind: "updateName", value: "" }),
        o({ kind: "updateName", value: 1 }),
        o({ kind: "removeRule", ruleId: 1 }),
        o({ kind: "addTags", values: "t" }),
      ).map((i) => ({ value: i, why: `bad parameters: ${encode(i).slice(0, 80)}` })),
    ),
    envKeys: { ok: ["dev"], bad: fc.constantFrom<J>("prod", "nope", "", 1, null, "DEV") },
  },
});

function flagPatchRules(w: World): PatchRules {
  const [v0, v1] = w.alpha.variations as [string, string];
  const clause = o({ attribute: "email", op: "endsWith", values: ["@example.com"] });
  return {
    fields: [
      { path: "/name", ok: okName, bad: badName },
      { path: "/description", ok: fc.constant("d"), bad: fc.oneof(notString, fc.constant("d".repeat(8193))) },
      { path: "/temporary", ok: bool.ok, bad: notBool },
      { path: "/tags", ok: tags.ok, bad: badTags },
      { path: "/archived", ok: fc.constant(false), bad: notBool },
      { path: "/clientSideAvailability", ok: csa.ok, bad: csa.bad },
      { path: "/defaults", ok: fc.constant(o({ onVariation: 0, offVariation: 1 })), bad: fc.constantFrom<J>(o({ onVariation: 99, offVariation: 0 }), o({ onVariation: -1, offVariation: 0 }), "x", null) },
      { path: "/environments/dev/on", ok: bool.ok, bad: notBool },
      { path: "/environments/prod/offVariation", ok: fc.constantFrom<J>(0, 1), bad: fc.constantFrom<J>(99, -1, "0", 1.5, o({})) },
      { path: "/environments/dev/fallthrough", ok: fc.constant(o({ variation: 1 })), bad: fc.oneof(notObject, fc.constantFrom<J>(o({ variation: 99 }), o({ rollout: o({ variations: [o({ variation: 0, weight: 1 })] }) }), o({}))) },
      { path: "/environments/dev/rules", ok: fc.constant<J>([]), bad: fc.oneof(notArray, fc.constantFrom<J>([o({})], [null], [o({ clauses: [o({ op: "nope" })], variation: 0 })], [o({ _id: "r", clauses: [], variation: 7 })])) },
      { path: "/environments/dev/targets", ok: fc.constant<J>([]), bad: fc.oneof(notArray, fc.constantFrom<J>([o({ values: "u", variation: 0 })], [o({ values: ["u"], variation: 9 })])) },
      { path: "/environments/dev/prerequisites", ok: fc.constant<J>([]), bad: fc.oneof(notArray, fc.constantFrom<J>([o({ key: "no-such-flag", variation: 0 })], [o({ key: "alpha", variation: 0 })], [o({ key: 1 })])) },
      { path: "/variations", ok: fc.constant<J>([o({ _id: v0, value: true }), o({ _id: v1, value: false })]), bad: fc.oneof(notArray, fc.constantFrom<J>([], [o({ value: true })], [o({ value: 1 }), o({ value: 1 })])) },
    ],
    readOnly: [["/key", "other-flag"], ["/kind", "zz-kind"], ["/creationDate", 1], ["/_version", 999_999], ["/environments/dev/salt", "00"], ["/environments/prod/version", 999_999], ["/environments/dev/lastModified", 1]],
    arrays: ["/tags", "/variations", "/environments/dev/rules", "/environments/dev/targets", "/environments/prod/prerequisites"],
    required: "/name",
    semantic: {
      ok: fc.oneof(
        fc.constantFrom<J>(
          o({ kind: "turnFlagOn" }),
          o({ kind: "turnFlagOff" }),
          o({ kind: "addTargets", variationId: v0, values: ["u-9"] }),
          o({ kind: "removeTargets", variationId: v0, values: ["u1"] }),
          o({ kind: "addRule", clauses: [clause], variationId: v1 }),
          o({ kind: "addRule", clauses: [clause], rolloutWeights: o({ [v0]: 50_000, [v1]: 50_000 }) }),
          o({ kind: "removeRule", ruleId: w.alpha.rule }),
          o({ kind: "reorderRules", ruleIds: [w.alpha.rule] }),
          o({ kind: "updateRuleVariationOrRollout", ruleId: w.alpha.rule, variationId: v1 }),
          o({ kind: "addClauses", ruleId: w.alpha.rule, clauses: [clause] }),
          o({ kind: "removeClauses", ruleId: w.alpha.rule, clauseIds: [w.alpha.clause] }),
          o({ kind: "updateFallthroughVariationOrRollout", variationId: v1 }),
          o({ kind: "updateOffVariation", variationId: v0 }),
          o({ kind: "updateTrackEvents", trackEvents: true }),
          o({ kind: "makeFlagPermanent" }),
          o({ kind: "deprecateFlag" }),
          o({ kind: "deleteFlag" }),
          o({ kind: "addCustomProperties", key: "p", name: "P", values: ["a"] }),
          o({ kind: "turnOnClientSideAvailability", value: "usingEnvironmentId" }),
          o({ kind: "clearTargets", variationId: v1 }),
          o({ kind: "replaceRules", rules: [] }),
        ),
        okName.map((v) => o({ kind: "updateName", value: v })),
        fc.array(text, { maxLength: 3 }).map((values) => o({ kind: "addTargets", variationId: v1, values })),
        fc.array(value, { maxLength: 3 }).map((values) => o({ kind: "addValuesToClause", ruleId: w.alpha.rule, clauseId: w.alpha.clause, values })),
        value.map((v) => o({ kind: "addVariation", value: v })),
        fc.array(text, { maxLength: 3 }).map((values) => o({ kind: "addTags", values })),
        text.map((d) => o({ kind: "updateRuleDescription", ruleId: w.alpha.rule, description: d })),
      ),
      bad: fc.oneof(
        fc.constantFrom<J>("zzUnknown", "TurnFlagOn", "turnFlagOn ", "__proto__", "constructor", "toString", "valueOf", "hasOwnProperty", "", "addBigSegmentIncludedTargets", "turnflagon", 1, null, true, ["turnFlagOn"], o({})).map((kind) => ({ value: o({ kind }), why: `kind ${JSON.stringify(kind)}` })),
        fc.constant({ value: o({ values: ["u"] }), why: "an instruction without kind" }),
        fc.oneof(fc.constantFrom<J>(null, 1, "turnFlagOn", []), deep).map((i) => ({ value: i, why: "an instruction that is not an object" })),
        fc.constantFrom<J>(
          o({ kind: "addTargets", variationId: v0, values: "u1" }),
          o({ kind: "addTargets", variationId: 0, values: ["u1"] }),
          o({ kind: "updateName", value: 1 }),
          o({ kind: "updateName", value: "" }),
          o({ kind: "addRule", clauses: "x", variationId: v0 }),
          o({ kind: "addRule", clauses: [], variationId: v0, rolloutWeights: o({ [v0]: 100_000 }) }),
          o({ kind: "addRule", clauses: [o({ attribute: "a", op: "regex", values: [] })], variationId: v0 }),
          o({ kind: "addRule", clauses: [o({ attribute: "a", op: "in", values: "x" })], variationId: v0 }),
          o({ kind: "addRule", clauses: [o({ op: "in", values: [] })], variationId: v0 }),
          o({ kind: "addRule", clauses: [], variationId: v0, beforeRuleId: "nope" }),
          o({ kind: "updateFallthroughVariationOrRollout", rolloutWeights: o({ [v0]: 60_000, [v1]: 60_000 }) }),
          o({ kind: "updateFallthroughVariationOrRollout", rolloutWeights: o({ [v0]: -1, [v1]: 100_001 }) }),
          o({ kind: "updateFallthroughVariationOrRollout", rolloutWeights: o({ [v0]: 1.5, [v1]: 99_998.5 }) }),
          o({ kind: "updateFallthroughVariationOrRollout", rolloutWeights: o({ nope: 100_000 }) }),
          o({ kind: "updateFallthroughVariationOrRollout" }),
          o({ kind: "updateOffVariation", variationId: "nope" }),
          o({ kind: "removeRule", ruleId: 1 }),
          o({ kind: "removeRule", ruleId: "" }),
          o({ kind: "reorderRules", ruleIds: ["nope"] }),
          o({ kind: "reorderRules", ruleIds: [w.alpha.rule, w.alpha.rule] }),
          o({ kind: "updateRuleDescription", ruleId: "nope", description: "x" }),
          o({ kind: "updateClause", ruleId: w.alpha.rule, clauseId: "nope", clause }),
          o({ kind: "addClauses", ruleId: w.alpha.rule, clauses: [o({ attribute: 1, op: "in", values: [] })] }),
          o({ kind: "removeClauses", ruleId: w.alpha.rule, clauseIds: ["nope"] }),
          o({ kind: "addPrerequisite", key: "no-such-flag", variationId: "x" }),
          o({ kind: "addPrerequisite", key: "beta", variationId: "nope" }),
          o({ kind: "updateTrackEvents", trackEvents: "yes" }),
          o({ kind: "addCustomProperties", key: "__proto__", name: "x", values: ["a"] }),
          o({ kind: "addCustomProperties", key: "p", name: "x", values: "a" }),
          o({ kind: "turnOnClientSideAvailability", value: "usingEverything" }),
          o({ kind: "updateDefaultVariation" }),
          o({ kind: "updateDefaultVariation", onVariationValue: "no-such-value" }),
          o({ kind: "removeVariation", variationId: v0 }),
          o({ kind: "addVariation" }),
          o({ kind: "replaceTargets", targets: "x" }),
          o({ kind: "replaceUserTargets", targets: [] }),
          o({ kind: "clearTargets", variationId: "nope" }),
          o({ kind: "updateRuleVariationOrRollout", ruleId: w.alpha.rule, variationId: v0, rolloutWeights: o({ [v0]: 100_000 }) }),
          o({ kind: "updateVariation", variationId: v0, value: false }),
          o({ kind: "replacePrerequisites", prerequisites: [o({ key: "beta", variationId: "x" }), o({ key: "beta", variationId: "x" })] }),
          o({ kind: "updateMaintainerMember", value: "" }),
        ).map((i) => ({ value: i, why: `bad parameters: ${encode(i).slice(0, 100)}` })),
      ),
      envKeys: { ok: ["dev", "prod"], bad: fc.constantFrom<J>("nope", "", 1, null, "DEV", ["dev"], o({})) },
    },
  };
}

/** FeatureProbe targeting bodies: the current targeting with a definite fault, hostile noise around it. */
function fpTargeting(w: World): { plausible: fc.Arbitrary<Body>; poisoned: fc.Arbitrary<Labeled<Body>> } {
  const current = w.targeting as Obj;
  const content = current.entries.find(([k]) => k === "content")![1] as Obj;
  const part = (name: string) => content.entries.find(([k]) => k === name)![1];
  const condition = fc.oneof(
    fc.constant<J>(o({ type: "string", subject: "email", predicate: "ends with", objects: ["@example.com"] })),
    fc.constant<J>(o({ type: "number", subject: "age", predicate: ">", objects: ["18"] })),
    fc.constant<J>(o({ type: "semver", subject: "version", predicate: ">=", objects: ["1.0.0"] })),
    fc.tuple(fc.oneof(text, fc.constant<J>(o({ toString: 1 })), fc.constant<J>(o({}))), fc.array(text, { maxLength: 2 })).map(([subject, objects]) => o({ type: "string", subject, predicate: "is one of", objects })),
  );
  const rule = fc.tuple(fc.oneof(text, fc.constant<J>(o({ toString: 1 })), fc.constant<J>(o({ valueOf: null })), fc.constant<J>([1])), fc.array(condition, { maxLength: 3 }), fc.constantFrom<J>(o({ select: 0 }), o({ select: 1 }), o({ split: [5_000, 5_000] }))).map(([name, conditions, serve]) => o({ name, serve, conditions }));
  const build = (p: { disabled?: J; rules?: J; variations?: J; disabledServe?: J; defaultServe?: J; content?: J; extra?: Array<readonly [string, J]> }): J => {
    // A fault may be null, so presence decides, not `??`.
    const pick = (k: "rules" | "disabledServe" | "defaultServe" | "variations"): J => (k in p ? p[k]! : part(k));
    const c = o({ rules: pick("rules"), disabledServe: pick("disabledServe"), defaultServe: pick("defaultServe"), variations: pick("variations") });
    return new Obj([["disabled", "disabled" in p ? p.disabled! : true], ["content", "content" in p ? p.content! : c], ...(p.extra ?? [])]);
  };
  const fault: fc.Arbitrary<Labeled<(rules: J[]) => J>> = fc.oneof(
    notBool.map((d) => ({ value: (rules: J[]) => build({ disabled: d, rules }), why: `disabled ${encode(d).slice(0, 30)}` })),
    fc.oneof(notObject, fc.constant<J>(null)).map((c) => ({ value: () => build({ content: c }), why: "content is not an object" })),
    fc.oneof(notArray, fc.constantFrom<J>([], [o({ value: "true" })], [o({ value: "true" }), o({ value: "nope" })], [null, null], [o({ value: 1 }), o({ value: 0 })])).map((v) => ({ value: (rules: J[]) => build({ variations: v, rules }), why: `variations ${encode(v).slice(0, 40)}` })),
    notArray.map((r) => ({ value: () => build({ rules: r }), why: "rules is not an array" })),
    fc.constantFrom<J>(o({}), o({ select: 99 }), o({ select: -1 }), o({ select: 1.5 }), o({ split: [10_000] }), o({ split: [-1, 10_001] }), o({ split: [0.5, 9_999.5] }), o({ split: [3_000, 3_000] }), null, "0").map((s) => ({ value: (rules: J[]) => build({ defaultServe: s, rules }), why: `defaultServe ${encode(s)}` })),
    fc.constantFrom<J>(o({ split: [5_000, 5_000] }), o({ select: 2 }), o({}), null).map((s) => ({ value: (rules: J[]) => build({ disabledServe: s, rules }), why: `disabledServe ${encode(s)}` })),
    fc
      .tuple(
        fc.oneof(
          fc.constantFrom<J>("constructor", "__proto__", "toString", "valueOf", "hasOwnProperty", "", "String", "regex", 1, null).map((type) => ({ c: o({ type, subject: "a", predicate: "is one of", objects: ["x"] }), why: `condition type ${JSON.stringify(type)}` })),
          fc.constantFrom<J>("is", "equals", "", 1, "constructor", "IS ONE OF").map((predicate) => ({ c: o({ type: "string", subject: "a", predicate, objects: ["x"] }), why: `predicate ${JSON.stringify(predicate)}` })),
          fc.constantFrom<J>("x", [1], [null], null, [["x"]]).map((objects) => ({ c: o({ type: "string", subject: "a", predicate: "is one of", objects }), why: `objects ${encode(objects)}` })),
          fc.constantFrom<J>(null, 1, "condition", []).map((c) => ({ c, why: `a condition that is not an object: ${encode(c)}` })),
        ),
        fc.nat(),
      )
      .map(([{ c, why }, at]) => ({ value: (rules: J[]) => build({ rules: insertAt(rules, at, o({ name: "r", serve: o({ select: 0 }), conditions: [c] })) }), why })),
    fc.constantFrom<J>(o({ serve: o({ select: 0 }), conditions: "x" }), o({ serve: o({ select: 0 }) }), null, 1).map((r) => ({ value: (rules: J[]) => build({ rules: [...rules, r] }), why: `rule ${encode(r)}` })),
  );
  const poisoned = fc.tuple(fault, fc.array(rule, { maxLength: 3 }), fc.array(fc.tuple(hostileKey, value), { maxLength: 2 }), fc.oneof(fc.constant(undefined), text, fc.constant<J>(o({ toString: 1 })))).map(([f, rules, extra, comment]) => {
    const body = f.value(rules);
    const withExtras = body instanceof Obj ? new Obj([...body.entries, ...extra, ...(comment === undefined ? [] : [["comment", comment] as const])]) : body;
    return { value: jsonBody(withExtras), why: `FeatureProbe targeting: ${f.why}` };
  });
  return { plausible: fc.array(rule, { maxLength: 2 }).map((rules) => jsonBody(build({ rules }))), poisoned };
}

// The server, its seed data, and what the API shows of its state.

let vexil: Running;
let admin: Client;
let dataDir: string;

async function ok(method: string, path: string, body?: unknown, headers?: Record<string, string>) {
  const res = await admin.call(method, path, { body, headers });
  if (res.status >= 300) throw new Error(`seeding ${method} ${path}: ${res.status} ${res.text}`);
  return res.body;
}

async function seed(): Promise<World> {
  const semantic = { "content-type": SEMANTIC };
  await ok("POST", "/api/v2/projects", { key: "fuzz", name: "Fuzz", environments: [{ key: "dev", name: "Dev", color: "00ff00" }, { key: "prod", name: "Prod", color: "ff0000" }] });
  const alpha = await ok("POST", "/api/v2/flags/fuzz", { key: "alpha", name: "Alpha", tags: ["t1"] });
  const beta = await ok("POST", "/api/v2/flags/fuzz", { key: "beta", name: "Beta", variations: [{ value: "red" }, { value: "green" }, { value: "blue" }] });
  await ok("POST", "/api/v2/flags/default", { key: "legacy", name: "Legacy" });
  const [a0, a1] = alpha.variations.map((v: { _id: string }) => v._id);
  const [b0, b1, b2] = beta.variations.map((v: { _id: string }) => v._id);
  const clause = { attribute: "email", op: "endsWith", values: ["@example.com"] };
  for (const env of ["dev", "prod"]) {
    await ok("PATCH", "/api/v2/flags/fuzz/alpha", { environmentKey: env, instructions: [{ kind: "turnFlagOn" }, { kind: "addTargets", variationId: a0, values: ["u1", "u2"] }, { kind: "addRule", clauses: [clause], variationId: a0 }] }, semantic);
  }
  await ok("PATCH", "/api/v2/flags/fuzz/beta", {
    environmentKey: "dev",
    instructions: [
      { kind: "addPrerequisite", key: "alpha", variationId: a0 },
      { kind: "addRule", clauses: [{ attribute: "country", op: "in", values: ["fr", "de"] }], rolloutWeights: { [b0]: 50_000, [b1]: 30_000, [b2]: 20_000 } },
      { kind: "addTargets", variationId: b2, values: ["vip"] },
    ],
  }, semantic);
  const scheduled = await ok("POST", "/api/v2/projects/fuzz/flags/alpha/environments/dev/scheduled-changes", { executionDate: FAR_FUTURE, instructions: [{ kind: "turnFlagOff" }] });
  const approval = await ok("POST", "/api/v2/projects/fuzz/flags/alpha/environments/prod/approval-requests", { description: "Turn alpha off", instructions: [{ kind: "turnFlagOff" }] });
  await ok("PATCH", "/api/v2/flags/fuzz/alpha/expiring-targets/dev", { instructions: [{ kind: "addExpiringTarget", variationId: a0, contextKey: "u1", contextKind: "user", value: FAR_FUTURE }] }, semantic);
  await ok("POST", "/api/v2/segments/fuzz/dev", { key: "beta-users", name: "Beta users" });
  const segment = await ok("PATCH", "/api/v2/segments/fuzz/dev/beta-users", {
    environmentKey: "dev",
    instructions: [{ kind: "addIncludedUsers", values: ["in-1"] }, { kind: "addExcludedUsers", values: ["ex-1"] }, { kind: "addRule", clauses: [{ attribute: "plan", op: "in", values: ["pro"] }] }],
  }, semantic);
  const role = await ok("POST", "/api/v2/roles", { key: "fuzz-role", name: "Fuzz role", policy: [{ effect: "allow", resources: ["proj/fuzz:env/*:flag/*"], actions: ["*"] }] });
  const members = await ok("POST", "/api/v2/members", [{ email: MEMBER_EMAIL, password: MEMBER_PASSWORD, role: "writer", customRoles: ["fuzz-role"] }]);
  const token = await ok("POST", "/api/v2/tokens", { name: "fuzz reader", role: "reader" });
  const webhook = await ok("POST", "/api/v2/webhooks", { name: "fuzz hook", url: PUBLIC_URL, sign: true, secret: "frobozz", on: false, tags: ["a"] });
  const alphaNow = await ok("GET", "/api/v2/flags/fuzz/alpha");
  const audit = await ok("GET", "/api/v2/auditlog?limit=1");
  const targeting = await ok("GET", "/api/projects/fuzz/environments/dev/toggles/alpha/targeting");
  const devRule = alphaNow.environments.dev.rules[0];
  return {
    alpha: { variations: [a0, a1], rule: devRule._id, clause: devRule.clauses[0]._id },
    scheduled: scheduled._id,
    approval: approval._id,
    segmentRule: segment.rules[0]._id,
    tokenId: token._id,
    memberId: members.items[0]._id,
    roleId: role._id,
    webhookId: webhook._id,
    auditId: audit.items[0]._id,
    targeting: toJ(targeting),
  };
}

/** A parsed JSON value as the fuzz's own JSON model. */
function toJ(v: unknown): J {
  if (Array.isArray(v)) return v.map(toJ);
  if (v !== null && typeof v === "object") return new Obj(Object.entries(v).map(([k, x]) => [k, toJ(x)] as const));
  return v as J;
}

/** Fields that move without any write: when a token or member was last seen. */
const VOLATILE = new Set(["lastUsed", "_lastSeen"]);
const stable = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(stable) : v !== null && typeof v === "object" ? Object.fromEntries(Object.entries(v).filter(([k]) => !VOLATILE.has(k)).map(([k, x]) => [k, stable(x)])) : v;

async function snapshot(): Promise<Record<string, unknown>> {
  const get = async (path: string) => {
    const res = await admin.call("GET", path);
    if (res.status !== 200) throw new Error(`snapshot ${path}: ${res.status} ${res.text}`);
    return res.body;
  };
  const all = async (path: string) => {
    const page = await get(path);
    if (page.totalCount !== undefined && page.totalCount > page.items.length) throw new Error(`snapshot ${path}: more than one page`);
    return page.items;
  };
  const projects = await all("/api/v2/projects?expand=environments&limit=100");
  const flags: Record<string, unknown> = {};
  const segments: Record<string, unknown> = {};
  for (const p of projects as Array<{ key: string; environments: { items: Array<{ key: string }> } }>) {
    flags[p.key] = await all(`/api/v2/flags/${p.key}?summary=0&limit=100`);
    for (const e of p.environments.items) segments[`${p.key}/${e.key}`] = await all(`/api/v2/segments/${p.key}/${e.key}?limit=100`);
  }
  let audit = 0;
  let newest: string[] = [];
  for (let next: string | undefined = "/api/v2/auditlog?limit=20"; next; ) {
    const page: { items: Array<{ _id: string }>; _links: { next?: { href: string } } } = await get(next);
    if (audit === 0) newest = page.items.map((i) => i._id);
    audit += page.items.length;
    next = page._links.next?.href;
  }
  return stable({
    projects,
    flags,
    segments,
    tokens: await all("/api/v2/tokens?showAll=true&limit=100"),
    members: await all("/api/v2/members?limit=100"),
    roles: await all("/api/v2/roles?limit=100"),
    webhooks: await all("/api/v2/webhooks"),
    auditLog: { count: audit, newest },
  }) as Record<string, unknown>;
}

/** Where two snapshots differ, as JSON paths with both values (a few). */
function differences(a: unknown, b: unknown, path = "$", out: string[] = []): string[] {
  if (out.length >= 6 || Bun.deepEquals(a, b, true)) return out;
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object" && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`, out);
    return out;
  }
  out.push(`${path}: ${short(JSON.stringify(a), 120)} → ${short(JSON.stringify(b), 120)}`);
  return out;
}

// Sending, checking, reporting.

interface Failure {
  index: number;
  shot: Shot;
  status: number | string;
  response: string;
  problem: string;
}

const short = (s: string | undefined, n = 240) => (s === undefined ? "" : s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);
const bodyText = (b: string | Uint8Array | undefined) => (b === undefined ? undefined : typeof b === "string" ? b : `<${b.byteLength} bytes: ${[...b.slice(0, 16)].map((x) => x.toString(16).padStart(2, "0")).join(" ")}>`);

async function send(shot: Shot): Promise<{ status: number; text: string; type: string | null } | { error: string }> {
  const headers = new Headers();
  for (const [k, v] of shot.headers) headers.append(k, v);
  try {
    const res = await fetch(vexil.url + shot.url, { method: shot.method, headers, body: shot.body, signal: AbortSignal.timeout(30_000) });
    return { status: res.status, text: await res.text(), type: res.headers.get("content-type") };
  } catch (e) {
    return { error: String(e) };
  }
}

/** What is wrong with an answer, if anything. */
function problemWith(shot: Shot, answer: { status: number; text: string; type: string | null }): string | undefined {
  if (answer.status >= 500) return `${answer.status} answer`;
  if (answer.status < 400 || shot.method === "HEAD") return undefined;
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return `error ${answer.status} without a JSON body`;
  }
  const e = body as Record<string, unknown>;
  if (!e || typeof e !== "object" || typeof e.code !== "string" || typeof e.message !== "string" || typeof e.id !== "string" || !e.code || !e.id) {
    return `error ${answer.status} whose body is not {code, message, id}`;
  }
  if (!answer.type?.includes("json")) return `error ${answer.status} with content type ${answer.type}`;
  return undefined;
}

function describeFailure(f: Failure): string {
  const headers = f.shot.headers.filter(([k]) => k !== "authorization").map(([k, v]) => `${k}: ${short(v, 80)}`).join(" | ");
  return [
    `  #${f.index} ${f.shot.method} ${short(f.shot.url, 200)}`,
    `    route: ${f.shot.route}; why refused: ${short(f.shot.why, 160)}`,
    headers ? `    headers: ${headers}` : "",
    f.shot.body !== undefined ? `    body: ${short(bodyText(f.shot.body), 400)}` : "",
    `    → ${f.status} ${short(f.response, 400)}`,
  ].filter(Boolean).join("\n");
}

function report(failures: Failure[], sent: number, ms: number, statuses: Map<number, number>): string {
  const byProblem = new Map<string, Failure[]>();
  for (const f of failures) byProblem.set(f.problem, [...(byProblem.get(f.problem) ?? []), f]);
  const counts = [...statuses].sort(([a], [b]) => a - b).map(([status, n]) => `${status}×${n}`).join(" ");
  const lines = [
    `fuzz seed ${SEED}: ${sent} requests in ${(ms / 1000).toFixed(1)} s, ${failures.length} failures of ${byProblem.size} kinds (VEXIL_FUZZ_SEED=${SEED} to repeat, VEXIL_FUZZ_ONLY=<index,…> to resend some)`,
    `statuses: ${counts}`,
  ];
  for (const [problem, list] of byProblem) {
    const byRoute = new Map<string, Failure[]>();
    for (const f of list) byRoute.set(f.shot.route, [...(byRoute.get(f.shot.route) ?? []), f]);
    lines.push(`\n${problem}: ${list.length} on ${[...byRoute].map(([route, l]) => `${route} ×${l.length}`).join(", ")}`);
    // The first two of each route, at most eight in all.
    for (const f of [...byRoute.values()].flatMap((l) => l.slice(0, 2)).slice(0, 8)) lines.push(describeFailure(f));
  }
  return lines.join("\n");
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "vexil-fuzz-"));
  vexil = await startEntry("services/all-in-one/main.ts", freePort(), {
    VEXIL_ADMIN_TOKEN: TOKEN,
    VEXIL_DATA_DIR: dataDir,
    VEXIL_AUTH_FAILURE_LIMIT: "1000000",
    LOG_LEVEL: "error",
    DATABASE_URL: undefined,
    NATS_URL: undefined,
  });
  admin = makeClient([vexil.url], TOKEN);
}, 60_000);

afterAll(async () => {
  await vexil?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 30_000);

test("thousands of malformed and hostile requests: no 5xx, JSON errors, no change of state", async () => {
  const world = await seed();
  const slots = slotsOf(world);
  const list = routes(world);
  const perRoute = list.map((route, i) => fc.sample(shotsFor(route, slots), { seed: SEED + i, numRuns: Math.max(1, Math.round(route.runs * RUNS_PER_WEIGHT)) }));
  // Round robin over the routes, so no route's requests all come in one stretch.
  const shots: Shot[] = [];
  for (let i = 0; shots.length < perRoute.reduce((n, s) => n + s.length, 0); i++) for (const s of perRoute) if (i < s.length) shots.push(s[i]!);
  const only = process.env.VEXIL_FUZZ_ONLY?.split(",").map(Number);

  const before = await snapshot();
  let baseline = before;
  const failures: Failure[] = [];
  /** Writes answered with success that changed nothing: not failures, but worth a look. */
  const accepted: Failure[] = [];
  const started = performance.now();
  let sent = 0;
  let lastCheck = 0;
  const statuses = new Map<number, number>();
  for (const [index, shot] of shots.entries()) {
    if (only && !only.includes(index)) continue;
    const answer = await send(shot);
    sent++;
    // Repeating chosen requests shows them whole.
    if (only) console.log(`#${index}`, JSON.stringify({ ...shot, body: bodyText(shot.body) }), "\n→", JSON.stringify(answer));
    if ("error" in answer) {
      // Give a dying process a moment to be seen as dead.
      await Bun.sleep(200);
      if (vexil.proc.exitCode !== null || vexil.proc.signalCode !== null) {
        const tail = (await vexil.stderr()).trim().split("\n").slice(-5).map((l) => short(l, 300)).join("\n      ");
        failures.push({ index, shot, status: "no answer", response: `${answer.error}\n    the server exited (code ${vexil.proc.exitCode}, signal ${vexil.proc.signalCode}); its last lines:\n      ${tail}`, problem: "the server process died" });
        break;
      }
      failures.push({ index, shot, status: "no answer", response: answer.error, problem: "no answer" });
      continue;
    }
    statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    const problem = problemWith(shot, answer);
    if (problem) failures.push({ index, shot, status: answer.status, response: answer.text, problem });
    // A write that succeeded, or a while without a look: has the state moved?
    const succeededWrite = answer.status < 400 && !["GET", "HEAD", "OPTIONS"].includes(shot.method);
    if (succeededWrite || index - lastCheck >= 250 || index === shots.length - 1) {
      lastCheck = index;
      const now = await snapshot();
      const diff = differences(baseline, now);
      if (diff.length === 0 && succeededWrite && shot.write) accepted.push({ index, shot, status: answer.status, response: answer.text, problem: "accepted without a change" });
      if (diff.length > 0) {
        const culprit = succeededWrite ? "state changed" : "state changed (by one of the requests since the last check)";
        failures.push({ index, shot, status: answer.status, response: `${short(answer.text, 200)}\n    state: ${diff.join("\n           ")}`, problem: culprit });
        baseline = now;
      }
    }
  }
  const ms = performance.now() - started;
  const alive = vexil.proc.exitCode === null && vexil.proc.signalCode === null;
  const drift = alive ? differences(before, await snapshot()) : [];
  const notes = accepted.length > 0 ? `\n\n${accepted.length} refusable writes were answered with success and changed nothing:\n${accepted.slice(0, 8).map(describeFailure).join("\n")}` : "";
  const summary = report(failures, sent, ms, statuses) + (drift.length > 0 ? `\n\nstate before vs after:\n  ${drift.join("\n  ")}` : "") + notes;
  console.log(summary);
  if (failures.length > 0 || drift.length > 0) throw new Error(summary);
  expect(sent).toBeGreaterThanOrEqual(only ? 1 : 2_000);
}, 120_000);
