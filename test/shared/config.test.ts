import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "@vexil/shared/config";

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

  test("a service running alone needs NATS_URL and DATABASE_URL", () => {
    const error = problemsOf({}, { nats: true, database: true });
    expect(error.problems).toHaveLength(2);
    expect(error.problems.some((p) => p.startsWith("NATS_URL is required"))).toBe(true);
    expect(error.problems.some((p) => p.startsWith("DATABASE_URL is required"))).toBe(true);
  });

  test("each need is checked on its own", () => {
    expect(problemsOf({}, { nats: true, database: false }).problems).toEqual([
      "NATS_URL is required when a service runs on its own (services talk over NATS)",
    ]);
    expect(problemsOf({}, { nats: false, database: true }).problems).toEqual([
      "DATABASE_URL is required when a service runs on its own (instances share one Postgres)",
    ]);
    const config = loadConfig({ NATS_URL: "nats://n:4222", DATABASE_URL: "postgres://db/vexil" }, { nats: true, database: true });
    expect(config).toMatchObject({ natsUrl: "nats://n:4222", databaseUrl: "postgres://db/vexil" });
  });

  test("a blank required value is reported as missing", () => {
    const error = problemsOf({ NATS_URL: "  ", DATABASE_URL: "" }, { nats: true, database: true });
    expect(error.problems).toHaveLength(2);
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
      },
      { nats: true, database: true },
    );
    expect(error.problems).toHaveLength(7);
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
