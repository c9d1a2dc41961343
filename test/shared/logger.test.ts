import { describe, expect, test } from "bun:test";
import { createLogger, redact, silentLogger, type LogLevel } from "@vexil/shared/logger";
import { issueCredential } from "@vexil/shared/secrets";

function capture(level: LogLevel, base: Record<string, unknown> = {}) {
  const lines: string[] = [];
  const logger = createLogger(level, base, (line) => lines.push(line));
  return { logger, lines, entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe("redact", () => {
  test.each(["authorization", "Authorization", "cookie", "set-cookie", "token", "password", "secret", "apiKey", "api_key", "mobileKey", "sdkKey", "X-API-Key"])(
    "the value of key %s is replaced",
    (key) => {
      expect(redact({ [key]: "hunter2", other: "kept" })).toEqual({ [key]: "[redacted]", other: "kept" });
    },
  );

  test("a secret-bearing key is replaced whatever its value type", () => {
    expect(redact({ token: { nested: "x" }, password: 12345, secret: ["a"] })).toEqual({
      token: "[redacted]",
      password: "[redacted]",
      secret: "[redacted]",
    });
  });

  test("keys that merely contain a secret word are kept", () => {
    expect(redact({ tokenId: "abc", tokenName: "ci", passwordPolicy: "strong" })).toEqual({ tokenId: "abc", tokenName: "ci", passwordPolicy: "strong" });
  });

  test.each(["api", "sdk", "mob"] as const)("a %s credential inside a longer string is masked", (kind) => {
    const c = issueCredential(kind).value;
    const out = redact(`presented "${c}" on /api/v2/flags`) as string;
    expect(out).toBe(`presented "${kind}-[redacted]" on /api/v2/flags`);
    expect(out).not.toContain(c.slice(4));
  });

  test("several credentials in one string are all masked", () => {
    const a = issueCredential("api").value;
    const b = issueCredential("sdk").value;
    expect(redact(`${a} then ${b}`)).toBe("api-[redacted] then sdk-[redacted]");
  });

  test("credentials are masked in nested objects and arrays", () => {
    const c = issueCredential("sdk").value;
    const out = redact({ request: { headers: { "x-forwarded": c }, list: [c, { deeper: [`key=${c}`] }] }, count: 3, ok: true, none: null });
    expect(out).toEqual({
      request: { headers: { "x-forwarded": "sdk-[redacted]" }, list: ["sdk-[redacted]", { deeper: ["key=sdk-[redacted]"] }] },
      count: 3,
      ok: true,
      none: null,
    });
    expect(JSON.stringify(out)).not.toContain(c);
  });

  test("a string that only resembles a credential is left alone", () => {
    const c = issueCredential("api").value;
    const tooShort = c.slice(0, -1);
    expect(redact(tooShort)).toBe(tooShort);
    expect(redact("key-0123456789ab_0123456789012345678901234567")).toBe("key-0123456789ab_0123456789012345678901234567");
  });

  test("an Error becomes its name and redacted message, without the stack", () => {
    const c = issueCredential("api").value;
    const error = new TypeError(`bad token ${c}`);
    expect(redact(error)).toEqual({ name: "TypeError", message: "bad token api-[redacted]" });
    expect(redact({ error })).toEqual({ error: { name: "TypeError", message: "bad token api-[redacted]" } });
  });

  test("primitives pass through", () => {
    expect(redact(42)).toBe(42);
    expect(redact(null)).toBeNull();
    expect(redact(undefined)).toBeUndefined();
    expect(redact(false)).toBe(false);
    expect(redact("plain")).toBe("plain");
  });

  test("the input is not modified", () => {
    const input = { token: "t", nested: { password: "p" } };
    redact(input);
    expect(input).toEqual({ token: "t", nested: { password: "p" } });
  });
});

describe("createLogger", () => {
  test("writes one JSON line per entry with time, level, msg and fields", () => {
    const { logger, lines, entries } = capture("debug");
    logger.info("started", { port: 8080 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain("\n");
    const [entry] = entries();
    expect(entry).toMatchObject({ level: "info", msg: "started", port: 8080 });
    expect(new Date(entry!.time as string).toISOString()).toBe(entry!.time as string);
  });

  test.each([
    ["debug", ["debug", "info", "warn", "error"]],
    ["info", ["info", "warn", "error"]],
    ["warn", ["warn", "error"]],
    ["error", ["error"]],
    ["silent", []],
  ] as const)("level %s lets through %p", (level, expected) => {
    const { logger, entries } = capture(level);
    logger.debug("d");
    logger.info("i");
    logger.warn("w");
    logger.error("e");
    expect(entries().map((e) => e.level)).toEqual([...expected]);
  });

  test("the default level is info", () => {
    const lines: string[] = [];
    const logger = createLogger(undefined, undefined, (l) => lines.push(l));
    logger.debug("hidden");
    logger.info("shown");
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(["shown"]);
  });

  test("fields are redacted before writing", () => {
    const c = issueCredential("api").value;
    const { logger, lines } = capture("info");
    logger.warn("refused", { authorization: c, detail: `token ${c}`, error: new Error(`with ${c}`) });
    expect(lines[0]).not.toContain(c);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      authorization: "[redacted]",
      detail: "token api-[redacted]",
      error: { name: "Error", message: "with api-[redacted]" },
    });
  });

  test("child() merges its fields into every entry, and entry fields win", () => {
    const { logger, entries } = capture("info", { service: "auth" });
    const child = logger.child({ requestId: "r-1", component: "verify" });
    child.info("one", { component: "override" });
    child.child({ extra: true }).info("two");
    logger.info("three");
    expect(entries()).toMatchObject([
      { msg: "one", service: "auth", requestId: "r-1", component: "override" },
      { msg: "two", service: "auth", requestId: "r-1", component: "verify", extra: true },
      { msg: "three", service: "auth" },
    ]);
    expect(entries()[2]).not.toHaveProperty("requestId");
  });

  test("child() keeps the parent's level and writer", () => {
    const { logger, entries } = capture("warn");
    const child = logger.child({ a: 1 });
    child.info("hidden");
    child.error("shown");
    expect(entries().map((e) => e.msg)).toEqual(["shown"]);
  });

  test("silentLogger writes nothing, not even errors", () => {
    const original = process.stderr.write;
    let writes = 0;
    process.stderr.write = (() => {
      writes++;
      return true;
    }) as typeof process.stderr.write;
    try {
      silentLogger.error("nothing", { a: 1 });
      silentLogger.child({ b: 2 }).error("still nothing");
    } finally {
      process.stderr.write = original;
    }
    expect(writes).toBe(0);
  });

  test("the default writer is stderr", () => {
    const original = process.stderr.write;
    const written: string[] = [];
    process.stderr.write = ((chunk: string) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      createLogger("info").error("to stderr");
    } finally {
      process.stderr.write = original;
    }
    expect(written).toHaveLength(1);
    expect(written[0]).toEndWith("\n");
    expect(JSON.parse(written[0]!)).toMatchObject({ level: "error", msg: "to stderr" });
  });
});

describe("nothing secret escapes through the message, child fields or depth", () => {
  test("a credential in the message is masked", () => {
    const cred = issueCredential("api").value;
    const { logger, lines, entries } = capture("info");
    logger.info(`token ${cred} used`);
    expect(JSON.stringify(lines)).not.toContain(cred);
    expect(entries()[0]!.msg).toBe("token api-[redacted] used");
  });

  test("fields given to child() are redacted", () => {
    const cred = issueCredential("sdk").value;
    const { logger, lines } = capture("info");
    logger.child({ token: "plain-secret", note: cred }).info("x");
    const text = JSON.stringify(lines);
    expect(text).not.toContain("plain-secret");
    expect(text).not.toContain(cred);
  });

  test("values nested too deep are replaced, not written", () => {
    const cred = issueCredential("mob").value;
    const { logger, lines } = capture("info");
    logger.info("deep", { a: { b: { c: { d: { e: { f: { g: { token: "deep-secret", s: cred } } } } } } } });
    const text = JSON.stringify(lines);
    expect(text).not.toContain("deep-secret");
    expect(text).not.toContain(cred);
  });

  test("a credential glued to other text is masked", () => {
    const cred = issueCredential("api").value;
    expect(redact(`x_${cred}`)).toBe("x_api-[redacted]");
    expect(redact(`token%3D${cred}`)).toBe("token%3Dapi-[redacted]");
  });

  test("fields cannot overwrite time, level or msg", () => {
    const { logger, entries } = capture("info");
    logger.info("real", { level: "fatal", msg: "fake", time: "never" });
    expect(entries()[0]!.level).toBe("info");
    expect(entries()[0]!.msg).toBe("real");
    expect(entries()[0]!.time).not.toBe("never");
  });
});

describe("errors of failed queries", () => {
  test("their parameters are never logged", () => {
    const { logger, lines } = capture("info");
    logger.error("unhandled", { error: new Error('Failed query: insert into "members" values ($1, $2)\nparams: a@b.c,$argon2id$v=19$secret-hash') });
    expect(lines.join("\n")).not.toContain("argon2id");
    expect(lines.join("\n")).toContain("Failed query: insert into");
  });
});
