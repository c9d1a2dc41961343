/**
 * One connector for both storage engines: postgres.js for a Postgres server (DATABASE_URL),
 * PGlite (Postgres in WASM, on disk) for the embedded default. Callers get a drizzle database.
 */
import { resolve } from "node:path";
import { sql, type Query, type SQL } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from "drizzle-orm/pg-core";
import type { ExtractTablesWithRelations } from "drizzle-orm";
import { pgliteListener, postgresListener, type Listen } from "./notifications.ts";
import { boundedQuery, guardedPglite, guardedTransaction, postgresGuard, settledOnAwait } from "./deadline-guard.ts";
import { watchPool, type PoolState } from "../metrics.ts";

export type Db = PgDatabase<PgQueryResultHKT, Record<string, never>>;
export type Tx = PgTransaction<PgQueryResultHKT, Record<string, never>, ExtractTablesWithRelations<Record<string, never>>>;
/** Either the database or an open transaction: storage functions accept both. */
export type Executor = Db | Tx;

export interface Database {
  readonly db: Db;
  readonly kind: "postgres" | "pglite";
  ping(timeoutMs?: number): Promise<void>;
  /** LISTEN on a channel (`notifications.ts`); Postgres listens on a connection of its own. */
  listen: Listen;
  /**
   * Replaces the connection pool with a new one (the old one ends once its work is done, or in a
   * few seconds): after a driver failure that left a pooled connection unusable (`driver-failures.ts`).
   */
  renewPool(): void;
  close(): Promise<void>;
}

export interface ConnectOptions {
  url: string | undefined;
  dataDir: string;
  /** Pool size for postgres.js. */
  max?: number;
}

export async function openDatabase(options: ConnectOptions): Promise<Database> {
  return options.url ? openPostgres(options.url, options.max ?? 10) : openPglite(options.dataDir);
}

/**
 * Seconds before a connection that failed tries again. postgres.js's own delay grows with every
 * failed attempt of the whole pool (3^n / 100 s, up to 20 s), and an outage of a few seconds under
 * load fails dozens: its connections then waited up to 20 s after the server was back, and the
 * statements queued on them ran out their deadlines (reads answered 504 for over 10 s after writes
 * went through again). Here no connection waits more than half a second to try again.
 */
export const reconnectDelay = (attempts: number) => Math.min(0.05 * 2 ** attempts, 0.5);

/** What every postgres.js client of Vexil's is opened with: no notices, a short connect, quick retries. */
const CONNECTION = { onnotice: () => {}, connect_timeout: 5, backoff: reconnectDelay };

/**
 * The pool's settings. JIT compilation off: it pays for long analytical queries, and costs a short
 * statement whose row estimate is high (a recursive walk of prerequisites) a hundred milliseconds or more.
 */
export const poolOptions = (max: number) => ({ ...CONNECTION, max, idle_timeout: 30, max_lifetime: 30 * 60, prepare: true, connection: { jit: "off" } });

async function openPostgres(url: string, max: number): Promise<Database> {
  const { default: postgres } = await import("postgres");
  const { drizzle } = await import("drizzle-orm/postgres-js");
  const { url: address, socket } = socketOf(url);
  const open = () => postgres(address, { ...socket, ...poolOptions(max) });
  let client = open();
  // What the pool is asked for, for its metrics (postgres.js does not tell its own).
  const pool: PoolState = { size: max, inFlight: 0 };
  // drizzle holds one client for good: it gets a view of whichever pool is current.
  const db = drizzle(preparing(client, () => client, pool)) as unknown as Db;
  const unwatch = watchPool(() => pool);
  let renewing = false;
  // Opened on the first `listen`; it idles between notifications, so neither timeout applies.
  // `onnotify` is the option postgres.js builds its own `listen` on; its types leave it out.
  const listener = postgresListener(({ onnotify, onclose }) =>
    postgres(address, { ...socket, ...CONNECTION, max: 1, onclose, idle_timeout: 0, max_lifetime: 0, fetch_types: false, ...{ onnotify } }),
  );
  return {
    db,
    kind: "postgres",
    ping: (timeoutMs = 1_000) => withTimeout(db.execute(sql`select 1`), timeoutMs, "database"),
    listen: listener.listen,
    renewPool() {
      // Several connections may fail in one burst: one new pool for all of them.
      if (renewing) return;
      renewing = true;
      setTimeout(() => {
        renewing = false;
        const old = client;
        client = open();
        // drizzle set its own parsers and serializers on the first pool (JSON and dates pass through as text).
        Object.assign(client.options.parsers, old.options.parsers);
        Object.assign(client.options.serializers, old.options.serializers);
        old.end({ timeout: 5 }).catch(() => {});
      }, 0);
    },
    close: async () => {
      unwatch();
      await Promise.all([listener.close(), client.end({ timeout: 5 })]);
    },
  };
}

/**
 * drizzle asks postgres.js not to prepare its statements (it prepares only queries built with a
 * name), and postgres.js then sends each parameterised query twice — once to learn its parameter
 * types, once to run it — and Postgres parses and plans it every time. Preparing every statement
 * halves the round trips and lets Postgres reuse the parse; each connection keeps the statements
 * it prepared until it is recycled (`max_lifetime`).
 *
 * Here too every statement and transaction comes under the deadline of the request it serves
 * (`deadline-guard.ts`): none starts past it, none is waited for past it, and a transaction ends
 * with the check in the database before it commits.
 *
 * On the pool itself (`pool` given), statements and transactions are counted while they run or
 * wait for a connection; those inside a transaction use its connection and are not.
 */
function preparing<T extends object>(client: T, current: () => T = () => client, pool?: PoolState): T {
  const forceful = { prepare: true };
  return new Proxy(client, {
    get(_, property) {
      const target = current();
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== "function") return value;
      if (property === "unsafe") {
        return (query: string, params?: unknown[], options?: object) => {
          const bounded = boundedQuery(value.call(target, query, params, { ...options, ...forceful }));
          return pool ? countedQuery(bounded, pool) : bounded;
        };
      }
      // A transaction (or savepoint) hands its callback a client of its own: prepare there too.
      if (property === "begin") {
        return (...args: unknown[]) => {
          const callback = args.at(-1) as (tx: object) => Promise<unknown>;
          const transaction = guardedTransaction(
            (body) => value.apply(target, [...args.slice(0, -1), body]) as Promise<unknown>,
            (tx: object) => callback(preparing(tx)),
            (tx, deadline) => postgresGuard(tx as Parameters<typeof postgresGuard>[0], deadline),
          );
          if (!pool) return transaction;
          pool.inFlight++;
          return transaction.finally(() => void pool.inFlight--);
        };
      }
      if (property === "savepoint") {
        return (...args: unknown[]) => {
          const callback = args.at(-1) as (tx: object) => unknown;
          return value.apply(target, [...args.slice(0, -1), (tx: object) => callback(preparing(tx))]);
        };
      }
      return value.bind(target);
    },
  });
}

/** A postgres.js query counted in `pool` from when it is first awaited (when it runs) until it settles; its own methods keep working. */
function countedQuery<Q extends PromiseLike<unknown>>(query: Q, pool: PoolState): Q {
  return settledOnAwait(query, () => {
    pool.inFlight++;
    return Promise.resolve(query).finally(() => void pool.inFlight--);
  });
}

async function openPglite(dataDir: string): Promise<Database> {
  const { openPgliteDir } = await import("./pglite.ts");
  const { drizzle } = await import("drizzle-orm/pglite");
  const client = await openPgliteDir(resolve(dataDir, "pg"));
  const db = drizzle(guardedPglite(client)) as unknown as Db;
  return {
    db,
    kind: "pglite",
    ping: (timeoutMs = 1_000) => withTimeout(db.execute(sql`select 1`), timeoutMs, "database"),
    listen: pgliteListener(client),
    renewPool: () => {},
    close: () => client.close(),
  };
}

async function withTimeout(work: Promise<unknown>, ms: number, what: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      work,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

interface Compiling {
  dialect: { sqlToQuery(statement: SQL): Query };
  session: { prepareQuery(query: Query, fields: undefined, name: undefined, arrayMode: boolean): { execute(values: Record<string, unknown>): Promise<unknown> } };
}

/**
 * A statement built and compiled to SQL text once, its values given by name (`sql.placeholder`)
 * at each run, on the database or in a transaction: for the hottest writes, where building the
 * statement anew each time costs more than running it.
 */
export function compiledStatement(statement: SQL): (executor: Executor, values: Record<string, unknown>) => Promise<unknown> {
  let query: Query | undefined;
  return (executor, values) => {
    const { dialect, session } = executor as unknown as Compiling;
    query ??= dialect.sqlToQuery(statement);
    return session.prepareQuery(query, undefined, undefined, false).execute(values);
  };
}

/** The Postgres error code of a driver error (drizzle wraps driver errors in `cause`). */
export function pgErrorCode(error: unknown): string | undefined {
  let e: unknown = error;
  for (let i = 0; i < 4 && e && typeof e === "object"; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export const isUniqueViolation = (error: unknown) => pgErrorCode(error) === "23505";

/**
 * True when `error` is a unique violation of the index (or constraint) named `index`, and of no
 * other: postgres.js names it `constraint_name`, PGlite `constraint` (drizzle wraps either in `cause`).
 */
export function isUniqueViolationOf(error: unknown, index: string): boolean {
  if (!isUniqueViolation(error)) return false;
  let e: unknown = error;
  for (let i = 0; i < 4 && e && typeof e === "object"; i++) {
    const { constraint_name: name, constraint } = e as { constraint_name?: unknown; constraint?: unknown };
    if (name !== undefined || constraint !== undefined) return (name ?? constraint) === index;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** A case-insensitive substring pattern for `lower(column) like …`, with LIKE's own characters escaped. */
export const likePattern = (q: string) => `%${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

const UNAVAILABLE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "CONNECT_TIMEOUT"]);

/** True for errors that mean the database is (momentarily) out of reach, not that the request was wrong. */
export function isDatabaseUnavailable(error: unknown): boolean {
  let e: unknown = error;
  for (let i = 0; i < 4 && e && typeof e === "object"; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && (UNAVAILABLE_CODES.has(code) || /^(08|57P0)/.test(code))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Errors that end a statement already sent: the connection dropped or the server shut down while it
 * ran. A write that fails this way may have committed (its acknowledgement was lost) — its outcome
 * is unknown, unlike a statement that never reached the server (refused or timed-out connections).
 */
const IN_FLIGHT_CODES = new Set(["ECONNRESET", "EPIPE", "CONNECTION_CLOSED", "CONNECTION_DESTROYED", "57P01", "57P02"]);

export function isOutcomeUnknown(error: unknown): boolean {
  let e: unknown = error;
  for (let i = 0; i < 4 && e && typeof e === "object"; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && IN_FLIGHT_CODES.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * libpq's `?host=/directory` names the directory of the server's Unix socket (a server on the same
 * machine, reached without TCP); postgres.js takes that as its `host` option, not in the URL, and
 * the socket's port (its file `.s.PGSQL.<port>`) as its `port` option: given a `host` option, it
 * reads no port from the URL (5432 then, as libpq's default).
 */
export function socketOf(url: string): { url: string; socket: { host?: string; port?: number } } {
  const parsed = new URL(url);
  const dir = parsed.searchParams.get("host");
  if (!dir?.startsWith("/")) return { url, socket: {} };
  parsed.searchParams.delete("host");
  return { url: parsed.toString(), socket: { host: dir, port: Number(parsed.port || 5432) } };
}
