import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "@vexil/shared/config";

const INTERNAL_KEY = "k".repeat(32);

/** The ConfigError thrown for `env`, or a failure if none is thrown. */
function problemsOf(env: Record<string, string | undefined>, needs?: { nats: boolean; database: boolean }): ConfigError {
  try {
    loadConfig(env, needs);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe("loadConfig defaults", () => {
  test("an empty environment gives the documented defaults", () => {
    expect(loadConfig({})).toEqual({
      port: 8080,
      host: "0.0.0.0",
      databaseUrl: undefined,
      dataDir: "./.vexil",
      natsUrl: undefined,
      adminToken: undefined,
      logLevel: "info",
      serviceTimeoutMs: 5000,
      shutdownTimeoutMs: 10_000,
      internalKey: undefined,
      sessionKeys: [],
      publicOrigin: "http://localhost:8080",
      authFailureLimit: 30,
      trustedProxies: [],
      unleashProject: "default",
      unleashEnvironment: "production",
      streamLimit: 15_000,
      streamHeartbeatMs: 60_000,
      evaluationsFlushMs: 30_000,
      corsOrigins: [],
      rateLimitGlobal: 100_000,
      rateLimitRoute: 50_000,
    });
  });

  test("blank values count as absent", () => {
    expect(loadConfig({ PORT: "   ", DATABASE_URL: "", LOG_LEVEL: " ", HOST: "" })).toMatchObject({
      port: 8080,
      databaseUrl: undefined,
      logLevel: "info",
      host: "0.0.0.0",
    });
  });

  test("valid values are read and trimmed", () => {
    const config = loadConfig({
      PORT: " 3000 ",
      HOST: "127.0.0.1",
      DATABASE_URL: "postgres://vexil:pw@db.example:5432/vexil",
      VEXIL_DATA_DIR: "/var/lib/vexil",
      NATS_URL: "nats://n1:4222, tls://n2:4222",
      VEXIL_ADMIN_TOKEN: "  0123456789abcdef  ",
      LOG_LEVEL: "DEBUG",
      VEXIL_SERVICE_TIMEOUT_MS: "250",
      VEXIL_SHUTDOWN_TIMEOUT_MS: "0",
      VEXIL_INTERNAL_KEY: ` ${INTERNAL_KEY} `,
      VEXIL_SESSION_KEYS: ` new:${"n".repeat(32)}, old : ${"o".repeat(32)} `,
      VEXIL_PUBLIC_ORIGIN: " https://flags.example.com/ ",
      VEXIL_AUTH_FAILURE_LIMIT: " 5 ",
      VEXIL_TRUSTED_PROXIES: " 10.0.0.0/8, 127.0.0.1 ,::1 ",
      VEXIL_UNLEASH_PROJECT: "shop",
      VEXIL_UNLEASH_ENVIRONMENT: "staging",
      VEXIL_STREAM_LIMIT: "100",
      VEXIL_STREAM_HEARTBEAT_MS: "1000",
      VEXIL_EVALUATIONS_FLUSH_MS: "250",
      VEXIL_CORS_ORIGINS: " https://a.example, https://b.example/ ",
      VEXIL_RATE_LIMIT_GLOBAL: "50",
      VEXIL_RATE_LIMIT_ROUTE: "0",
    });
    expect(config).toEqual({
      port: 3000,
      host: "127.0.0.1",
      databaseUrl: "postgres://vexil:pw@db.example:5432/vexil",
      dataDir: "/var/lib/vexil",
      natsUrl: "nats://n1:4222, tls://n2:4222",
      adminToken: "0123456789abcdef",
      logLevel: "debug",
      serviceTimeoutMs: 250,
      shutdownTimeoutMs: 0,
      internalKey: INTERNAL_KEY,
      sessionKeys: [
        { kid: "new", secret: "n".repeat(32) },
        { kid: "old", secret: "o".repeat(32) },
      ],
      publicOrigin: "https://flags.example.com",
      authFailureLimit: 5,
      trustedProxies: ["10.0.0.0/8", "127.0.0.1", "::1"],
      unleashProject: "shop",
      unleashEnvironment: "staging",
      streamLimit: 100,
      streamHeartbeatMs: 1000,
      evaluationsFlushMs: 250,
      corsOrigins: ["https://a.example", "https://b.example"],
      rateLimitGlobal: 50,
      rateLimitRoute: 0,
    });
  });

  test("postgresql:// is accepted as well as postgres://", () => {
    expect(loadConfig({ DATABASE_URL: "postgresql://localhost/vexil" }).databaseUrl).toBe("postgresql://localhost/vexil");
  });

  test.each(["debug", "info", "warn", "error", "silent"])("LOG_LEVEL=%s is accepted", (level) => {
    expect(loadConfig({ LOG_LEVEL: level }).logLevel).toBe(level as never);
  });
});

describe("loadConfig problems", () => {
  test("every invalid value is reported together in one ConfigError", () => {
    const error = problemsOf({ PORT: "abc", DATABASE_URL: "nope", LOG_LEVEL: "loud" });
    expect(error.problems).toHaveLength(3);
    expect(error.problems.some((p) => p.startsWith("PORT ") && p.includes('"abc"'))).toBe(true);
    expect(error.problems.some((p) => p.startsWith("DATABASE_URL ") && p.includes('"nope"'))).toBe(true);
    expect(error.problems.some((p) => p.startsWith("LOG_LEVEL ") && p.includes('"loud"'))).toBe(true);
    expect(error.name).toBe("ConfigError");
    for (const p of error.problems) expect(error.message).toContain(`  - ${p}`);
  });

  test.each([
    ["PORT", "-1"],
    ["PORT", "65536"],
    ["PORT", "80.5"],
    ["PORT", "1e3"],
    ["PORT", "0x50"],
    ["VEXIL_SERVICE_TIMEOUT_MS", "99"],
    ["VEXIL_SERVICE_TIMEOUT_MS", "120001"],
    ["VEXIL_SHUTDOWN_TIMEOUT_MS", "60001"],
    ["VEXIL_SHUTDOWN_TIMEOUT_MS", "soon"],
    ["VEXIL_EVALUATIONS_FLUSH_MS", "99"],
    ["VEXIL_EVALUATIONS_FLUSH_MS", "600001"],
  ])("%s=%s is out of range", (name, raw) => {
    const error = problemsOf({ [name]: raw });
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toStartWith(`${name} must be a whole number`);
    expect(error.problems[0]).toContain(`"${raw}"`);
  });

  test.each([
    ["PORT", "0", 0],
    ["PORT", "65535", 65535],
    ["VEXIL_SERVICE_TIMEOUT_MS", "100", 100],
    ["VEXIL_SERVICE_TIMEOUT_MS", "120000", 120_000],
    ["VEXIL_SHUTDOWN_TIMEOUT_MS", "60000", 60_000],
  ])("%s=%s is at the edge of its range and accepted", (name, raw, expected) => {
    const config = loadConfig({ [name]: raw });
    const key = { PORT: "port", VEXIL_SERVICE_TIMEOUT_MS: "serviceTimeoutMs", VEXIL_SHUTDOWN_TIMEOUT_MS: "shutdownTimeoutMs" }[name] as keyof typeof config;
    expect(config[key]).toBe(expected);
  });

  test.each(["mysql://localhost/vexil", "http://localhost/vexil", "postgres://", "not a url"])("DATABASE_URL=%s is refused", (url) => {
    const error = problemsOf({ DATABASE_URL: url });
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toStartWith("DATABASE_URL must be a postgres:// or postgresql:// URL");
  });

  test.each(["http://localhost:4222", "nats://a:4222,http://b:4222", "nats://"])("NATS_URL=%s is refused", (url) => {
    const error = problemsOf({ NATS_URL: url });
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toStartWith("NATS_URL must be one or more comma-separated nats:// URLs");
  });

  test.each(["nats://localhost:4222", "tls://a:4222,nats://b:4222", "ws://a:8080", "wss://a:443"])("NATS_URL=%s is accepted", (url) => {
    expect(loadConfig({ NATS_URL: url }).natsUrl).toBe(url);
  });

  test("a service running alone needs NATS_URL, VEXIL_INTERNAL_KEY and DATABASE_URL", () => {
    const error = problemsOf({}, { nats: true, database: true });
    expect(error.problems).toHaveLength(3);
    expect(error.problems.some((p) => p.startsWith("NATS_URL is required"))).toBe(true);
    expect(error.problems.some((p) => p.startsWith("VEXIL_INTERNAL_KEY is required"))).toBe(true);
    expect(error.problems.some((p) => p.startsWith("DATABASE_URL is required"))).toBe(true);
  });

  test("each need is checked on its own", () => {
    expect(problemsOf({}, { nats: true, database: false }).problems).toEqual([
      "NATS_URL is required when a service runs on its own (services talk over NATS)",
      "VEXIL_INTERNAL_KEY is required when a service runs on its own (the same value for every service; at least 32 characters)",
    ]);
    expect(problemsOf({}, { nats: false, database: true }).problems).toEqual([
      "DATABASE_URL is required when a service runs on its own (instances share one Postgres)",
    ]);
    const config = loadConfig({ NATS_URL: "nats://n:4222", DATABASE_URL: "postgres://db/vexil", VEXIL_INTERNAL_KEY: INTERNAL_KEY }, { nats: true, database: true });
    expect(config).toMatchObject({ natsUrl: "nats://n:4222", databaseUrl: "postgres://db/vexil", internalKey: INTERNAL_KEY });
  });

  test("a blank required value is reported as missing", () => {
    const error = problemsOf({ NATS_URL: "  ", DATABASE_URL: "", VEXIL_INTERNAL_KEY: " " }, { nats: true, database: true });
    expect(error.problems).toHaveLength(3);
  });

  test("the password of a refused DATABASE_URL is never echoed", () => {
    const error = problemsOf({ DATABASE_URL: "mysql://vexil:hunter2-very-secret@db.example:3306/vexil" });
    expect(error.message).not.toContain("hunter2-very-secret");
    expect(error.problems.join("\n")).not.toContain("hunter2-very-secret");
    expect(error.message).toContain("mysql://vexil:***@db.example:3306/vexil");
  });

  test("the password of a refused NATS_URL is never echoed", () => {
    const error = problemsOf({ NATS_URL: "http://bus:s3cret-pass@n:4222" });
    expect(error.message).not.toContain("s3cret-pass");
  });

  test("VEXIL_ADMIN_TOKEN must be 16 to 256 characters without spaces", () => {
    const rule = "VEXIL_ADMIN_TOKEN must be 16 to 256 characters without spaces";
    expect(problemsOf({ VEXIL_ADMIN_TOKEN: "a".repeat(15) }).problems).toEqual([rule]);
    expect(problemsOf({ VEXIL_ADMIN_TOKEN: "a".repeat(257) }).problems).toEqual([rule]);
    expect(problemsOf({ VEXIL_ADMIN_TOKEN: "has a space in the middle" }).problems).toEqual([rule]);
    expect(problemsOf({ VEXIL_ADMIN_TOKEN: "tab\tinside-the-token" }).problems).toEqual([rule]);
    expect(loadConfig({ VEXIL_ADMIN_TOKEN: "a".repeat(16) }).adminToken).toBe("a".repeat(16));
    expect(loadConfig({ VEXIL_ADMIN_TOKEN: "b".repeat(256) }).adminToken).toBe("b".repeat(256));
  });

  test("a refused VEXIL_ADMIN_TOKEN is not echoed", () => {
    const error = problemsOf({ VEXIL_ADMIN_TOKEN: "short-secret" });
    expect(error.message).not.toContain("short-secret");
  });

  test("problems from every setting add up", () => {
    const error = problemsOf(
      {
        PORT: "99999",
        VEXIL_SERVICE_TIMEOUT_MS: "1",
        VEXIL_SHUTDOWN_TIMEOUT_MS: "x",
        DATABASE_URL: "nope",
        NATS_URL: "nope",
        VEXIL_ADMIN_TOKEN: "short",
        LOG_LEVEL: "trace",
        VEXIL_INTERNAL_KEY: "short",
        VEXIL_SESSION_KEYS: "nokey",
        VEXIL_PUBLIC_ORIGIN: "ftp://x",
        VEXIL_AUTH_FAILURE_LIMIT: "0",
      },
      { nats: true, database: true },
    );
    expect(error.problems).toHaveLength(11);
  });
});

describe("internal key, session keys, public origin and failure limit", () => {
  test("VEXIL_INTERNAL_KEY must be at least 32 characters, and is not echoed", () => {
    const error = problemsOf({ VEXIL_INTERNAL_KEY: "s3cret-but-too-short" });
    expect(error.problems).toEqual(["VEXIL_INTERNAL_KEY must be at least 32 characters"]);
    expect(error.message).not.toContain("s3cret-but-too-short");
    expect(loadConfig({ VEXIL_INTERNAL_KEY: INTERNAL_KEY }).internalKey).toBe(INTERNAL_KEY);
  });

  test("VEXIL_INTERNAL_KEY is optional in one process (the all-in-one makes its own)", () => {
    expect(loadConfig({ DATABASE_URL: "postgres://db/vexil" }, { nats: false, database: true }).internalKey).toBeUndefined();
  });

  test("VEXIL_SESSION_KEYS: kid:secret pairs in order; a secret may hold colons", () => {
    const secret = `with:colons:${"x".repeat(32)}`;
    expect(loadConfig({ VEXIL_SESSION_KEYS: `2024-06.a:${secret}` }).sessionKeys).toEqual([{ kid: "2024-06.a", secret }]);
  });

  test.each([
    ["no colon", "k1"],
    ["an empty kid", `:${"s".repeat(32)}`],
    ["a short secret", `k1:${"s".repeat(31)}`],
    ["a kid with spaces", `my kid:${"s".repeat(32)}`],
    ["a long kid", `${"k".repeat(65)}:${"s".repeat(32)}`],
    ["one good and one bad pair", `k1:${"s".repeat(32)},k2:short-secret-value`],
    ["a trailing comma", `k1:${"s".repeat(32)},`],
  ])("VEXIL_SESSION_KEYS with %s is one problem that echoes no secret", (_, raw) => {
    const error = problemsOf({ VEXIL_SESSION_KEYS: raw });
    expect(error.problems).toEqual(["VEXIL_SESSION_KEYS must be comma-separated kid:secret pairs, each secret at least 32 characters"]);
    expect(error.message).not.toContain("short-secret-value");
    expect(error.message).not.toContain("s".repeat(31));
  });

  test("VEXIL_PUBLIC_ORIGIN defaults to localhost on PORT and loses a trailing slash", () => {
    expect(loadConfig({ PORT: "3000" }).publicOrigin).toBe("http://localhost:3000");
    expect(loadConfig({ VEXIL_PUBLIC_ORIGIN: "https://flags.example.com/" }).publicOrigin).toBe("https://flags.example.com");
    expect(loadConfig({ VEXIL_PUBLIC_ORIGIN: "http://10.0.0.1:8080" }).publicOrigin).toBe("http://10.0.0.1:8080");
  });

  test.each(["https://flags.example.com/app", "https://flags.example.com?x=1", "ftp://flags.example.com", "flags.example.com", "https://"])(
    "VEXIL_PUBLIC_ORIGIN=%s is not an origin",
    (raw) => {
      const error = problemsOf({ VEXIL_PUBLIC_ORIGIN: raw });
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toStartWith("VEXIL_PUBLIC_ORIGIN must be an origin");
    },
  );

  test.each([
    ["1", 1],
    ["1000000", 1_000_000],
  ])("VEXIL_AUTH_FAILURE_LIMIT=%s is accepted", (raw, expected) => {
    expect(loadConfig({ VEXIL_AUTH_FAILURE_LIMIT: raw }).authFailureLimit).toBe(expected);
  });

  test.each(["10.0.0.0/33", "proxy.internal", "10.0.0.1, 300.1.1.1", "fd00::/200"])("VEXIL_TRUSTED_PROXIES=%s is refused", (raw) => {
    const error = problemsOf({ VEXIL_TRUSTED_PROXIES: raw });
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toStartWith("VEXIL_TRUSTED_PROXIES must be comma-separated IP addresses or CIDR ranges");
  });

  test.each(["0", "1000001", "ten", "-1"])("VEXIL_AUTH_FAILURE_LIMIT=%s is out of range", (raw) => {
    expect(problemsOf({ VEXIL_AUTH_FAILURE_LIMIT: raw }).problems[0]).toStartWith("VEXIL_AUTH_FAILURE_LIMIT must be a whole number from 1 to 1000000");
  });
});

describe("connection strings never echo their credentials", () => {
  const message = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return "";
    } catch (e) {
      return (e as ConfigError).message;
    }
  };
  test("empty user, @ in the password, several URLs", () => {
    expect(message({ DATABASE_URL: "mysql://:pw-secret@host/db" })).not.toContain("pw-secret");
    const at = message({ DATABASE_URL: "mysql://user:p@ss@host/db" });
    expect(at).not.toContain("p@ss");
    expect(at).not.toContain("ss@host");
    const many = message({ NATS_URL: "nats://a:pw1@h1,foo://b:pw2@h2" });
    expect(many).not.toContain("pw1");
    expect(many).not.toContain("pw2");
  });

  test("an admin token shaped like a generated one must carry a valid checksum", () => {
    const bad = `api-${"A".repeat(12)}_${"B".repeat(28)}`;
    expect(message({ VEXIL_ADMIN_TOKEN: bad })).toContain("checksum");
  });
});
