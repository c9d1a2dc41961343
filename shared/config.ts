/**
 * Configuration from the environment, read once at start. Every problem is collected
 * and reported together; `main.ts` prints the message and exits 1.
 */
import proxyaddr from "proxy-addr";
import type { LogLevel } from "./logger.ts";
import { CREDENTIAL_SHAPE, parseCredential } from "./secrets.ts";

export interface Config {
  port: number;
  host: string;
  /** Absent: embedded PGlite in `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  /** Absent (all-in-one only): the in-process bus. */
  natsUrl: string | undefined;
  adminToken: string | undefined;
  logLevel: LogLevel;
  serviceTimeoutMs: number;
  shutdownTimeoutMs: number;
  /** Signs caller assertions between gateway and services; absent (all-in-one only): random per process. */
  internalKey: string | undefined;
  /** Session cookie signing keys, the first signs; absent: one derived from the internal key. */
  sessionKeys: Array<{ kid: string; secret: string }>;
  /** The browser origin allowed to use session cookies. */
  publicOrigin: string;
  /** Origins allowed to call the REST API from browsers; empty: any origin. */
  corsOrigins: string[];
  /** REST calls per caller per 10 s, all routes together and per route; 0: unlimited. */
  rateLimitGlobal: number;
  rateLimitRoute: number;
  /** Failed authentications per address per minute before further wrong credentials get 429. */
  authFailureLimit: number;
  /** Proxies (IP addresses or CIDR ranges) whose `X-Forwarded-For` names the caller's address; empty: none. */
  trustedProxies: string[];
  /** Where the Unleash-style toggle routes that name no project or environment act. */
  unleashProject: string;
  unleashEnvironment: string;
  /** Open SDK streams one streaming instance holds before it answers 503. */
  streamLimit: number;
  /** How often idle SDK streams get a comment line. */
  streamHeartbeatMs: number;
  /** How often a streaming instance sends the evaluation counts of SDK reports to the flags service (flag statuses). */
  evaluationsFlushMs: number;
}

export interface ConfigNeeds {
  /** A service started alone must reach the others over NATS. */
  nats: boolean;
  /** A service with tables started alone shares a Postgres server with its peers. */
  database: boolean;
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

const LOG_LEVELS: LogLevel[] = ["debug", "info", "warn", "error", "silent"];

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env, needs: ConfigNeeds = { nats: false, database: false }): Config {
  const problems: string[] = [];
  const value = (name: string) => {
    const v = env[name];
    return v === undefined || v.trim() === "" ? undefined : v.trim();
  };
  const integer = (name: string, fallback: number, min: number, max: number) => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return n;
  };

  const port = integer("PORT", 8080, 0, 65535);
  const serviceTimeoutMs = integer("VEXIL_SERVICE_TIMEOUT_MS", 5000, 100, 120_000);
  const shutdownTimeoutMs = integer("VEXIL_SHUTDOWN_TIMEOUT_MS", 10_000, 0, 60_000);

  const databaseUrl = value("DATABASE_URL");
  if (databaseUrl !== undefined && !isUrl(databaseUrl, ["postgres:", "postgresql:"])) {
    problems.push(`DATABASE_URL must be a postgres:// or postgresql:// URL (got "${maskUrl(databaseUrl)}")`);
  }
  if (databaseUrl === undefined && needs.database) {
    problems.push("DATABASE_URL is required when a service runs on its own (instances share one Postgres)");
  }

  const natsUrl = value("NATS_URL");
  if (natsUrl !== undefined && !natsUrl.split(",").every((u) => isUrl(u.trim(), ["nats:", "tls:", "ws:", "wss:"]))) {
    problems.push(`NATS_URL must be one or more comma-separated nats:// URLs (got "${maskUrl(natsUrl)}")`);
  }
  if (natsUrl === undefined && needs.nats) {
    problems.push("NATS_URL is required when a service runs on its own (services talk over NATS)");
  }

  const adminToken = value("VEXIL_ADMIN_TOKEN");
  if (adminToken !== undefined && (adminToken.length < 16 || /\s/.test(adminToken) || adminToken.length > 256)) {
    problems.push("VEXIL_ADMIN_TOKEN must be 16 to 256 characters without spaces");
  } else if (adminToken !== undefined && CREDENTIAL_SHAPE.test(adminToken) && !parseCredential(adminToken)) {
    problems.push("VEXIL_ADMIN_TOKEN has the shape of a generated credential but a wrong checksum; use a generated token as it was issued, or any other string");
  }

  const internalKey = value("VEXIL_INTERNAL_KEY");
  if (internalKey !== undefined && internalKey.length < 32) problems.push("VEXIL_INTERNAL_KEY must be at least 32 characters");
  if (internalKey === undefined && needs.nats) {
    problems.push("VEXIL_INTERNAL_KEY is required when a service runs on its own (the same value for every service; at least 32 characters)");
  }

  const sessionKeys: Array<{ kid: string; secret: string }> = [];
  const rawSessionKeys = value("VEXIL_SESSION_KEYS");
  if (rawSessionKeys !== undefined) {
    for (const entry of rawSessionKeys.split(",")) {
      const colon = entry.indexOf(":");
      const kid = entry.slice(0, colon).trim();
      const secret = entry.slice(colon + 1).trim();
      if (colon < 1 || !/^[A-Za-z0-9._-]{1,64}$/.test(kid) || secret.length < 32) {
        problems.push("VEXIL_SESSION_KEYS must be comma-separated kid:secret pairs, each secret at least 32 characters");
        break;
      }
      sessionKeys.push({ kid, secret });
    }
  }

  const publicOrigin = value("VEXIL_PUBLIC_ORIGIN") ?? `http://localhost:${port}`;
  if (!isUrl(publicOrigin, ["http:", "https:"]) || new URL(publicOrigin).origin !== publicOrigin.replace(/\/$/, "")) {
    problems.push(`VEXIL_PUBLIC_ORIGIN must be an origin such as https://flags.example.com (got "${publicOrigin}")`);
  }
  const corsOrigins = (value("VEXIL_CORS_ORIGINS") ?? "")
    .split(",")
    .map((o) => o.trim().replace(/\/$/, ""))
    .filter((o) => o !== "");
  for (const o of corsOrigins) {
    if (!isUrl(o, ["http:", "https:"]) || new URL(o).origin !== o) problems.push(`VEXIL_CORS_ORIGINS must be comma-separated origins such as https://tools.example.com (got "${o}")`);
  }
  const authFailureLimit = integer("VEXIL_AUTH_FAILURE_LIMIT", 30, 1, 1_000_000);
  const trustedProxies = (value("VEXIL_TRUSTED_PROXIES") ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
  try {
    if (trustedProxies.length > 0) proxyaddr.compile(trustedProxies);
  } catch (e) {
    problems.push(`VEXIL_TRUSTED_PROXIES must be comma-separated IP addresses or CIDR ranges such as 10.0.0.0/8 (${e instanceof Error ? e.message : String(e)})`);
  }
  const rateLimitGlobal = integer("VEXIL_RATE_LIMIT_GLOBAL", 100_000, 0, 100_000_000);
  const rateLimitRoute = integer("VEXIL_RATE_LIMIT_ROUTE", 50_000, 0, 100_000_000);
  const streamLimit = integer("VEXIL_STREAM_LIMIT", 15_000, 0, 1_000_000);
  // SDKs drop a stream that is silent for 5 minutes.
  const streamHeartbeatMs = integer("VEXIL_STREAM_HEARTBEAT_MS", 60_000, 100, 180_000);
  const evaluationsFlushMs = integer("VEXIL_EVALUATIONS_FLUSH_MS", 30_000, 100, 600_000);
  const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,139}$/;
  const unleashProject = value("VEXIL_UNLEASH_PROJECT") ?? "default";
  const unleashEnvironment = value("VEXIL_UNLEASH_ENVIRONMENT") ?? "production";
  if (!KEY.test(unleashProject)) problems.push(`VEXIL_UNLEASH_PROJECT must be a project key (got "${unleashProject}")`);
  if (!KEY.test(unleashEnvironment)) problems.push(`VEXIL_UNLEASH_ENVIRONMENT must be an environment key (got "${unleashEnvironment}")`);

  const logLevel = (value("LOG_LEVEL") ?? "info").toLowerCase() as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")} (got "${value("LOG_LEVEL")}")`);

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port,
    host: value("HOST") ?? "0.0.0.0",
    databaseUrl,
    dataDir: value("VEXIL_DATA_DIR") ?? "./.vexil",
    natsUrl,
    adminToken,
    logLevel,
    serviceTimeoutMs,
    shutdownTimeoutMs,
    internalKey,
    sessionKeys,
    publicOrigin: publicOrigin.replace(/\/$/, ""),
    authFailureLimit,
    trustedProxies,
    unleashProject,
    unleashEnvironment,
    streamLimit,
    streamHeartbeatMs,
    evaluationsFlushMs,
    corsOrigins,
    rateLimitGlobal,
    rateLimitRoute,
  };
}

function isUrl(raw: string, protocols: string[]): boolean {
  try {
    const url = new URL(raw);
    return protocols.includes(url.protocol) && url.hostname !== "";
  } catch {
    return false;
  }
}

/** Never echo credentials from a connection string: everything between "//" and the last "@" of each URL goes. */
function maskUrl(raw: string): string {
  return raw
    .split(",")
    .map((part) => part.replace(/\/\/([^/]*)@/, (_m, userinfo: string) => `//${userinfo.includes(":") ? `${userinfo.split(":")[0]}:***` : "***"}@`))
    .join(",");
}
