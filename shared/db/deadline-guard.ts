/**
 * Request deadlines at the database (the deadline itself: `shared/deadline.ts`). Under a deadline:
 * - no statement and no transaction starts once the commit deadline has passed;
 * - every transaction's last statement before COMMIT asks Postgres whether its own clock is still
 *   before the commit deadline, and fails otherwise, so a transaction that waited (for a lock, or
 *   for a server that was down) cannot commit late even if every check in JavaScript passed long
 *   before; a single statement that writes without a transaction ends with the same check
 *   (`deadlineCheck`);
 * - nobody waits for a statement past the caller's deadline: postgres.js holds statements while
 *   the server is down and sends them when it is back; the request gives up and answers instead,
 *   and what it left behind runs later into the checks above and changes nothing.
 *
 * The check compares Postgres's clock with a deadline the gateway set by its own: the hosts'
 * clocks must agree to well within the margin (`COMMIT_MARGIN_MS`), as NTP keeps them. A commit
 * that passed the check just before the deadline and whose acknowledgement takes longer than the
 * margin to reach the caller is in doubt, as any commit whose answer is lost.
 */
import { sql, type SQL, type SQLWrapper } from "drizzle-orm";
import { callerDeadline, checkDeadline, commitDeadline, deadlinePassed, remainingMs, untilCallerDeadline } from "../deadline.ts";

/** The text of the error Postgres raises when the check fails: it names the reason in the server's log. */
const REFUSAL = "request deadline passed";

/**
 * An expression that is 1 while Postgres's clock is before `deadline` (unix ms; null: no deadline)
 * and fails its statement after it: a cast of text the planner cannot fold in advance, because the
 * choice depends on `clock_timestamp()`, read when the expression is evaluated.
 */
export function deadlineCheck(deadline: SQLWrapper): SQL {
  return sql`(case when ${deadline}::float8 is null or clock_timestamp() < to_timestamp(${deadline}::float8 / 1000) then '1' else ${sql.raw(`'${REFUSAL}'`)} end)::int`;
}

/** The last statement of a transaction under a deadline (`$1`: the commit deadline). */
const GUARD = `select (case when clock_timestamp() < to_timestamp($1::float8 / 1000) then '1' else '${REFUSAL}' end)::int as in_time`;

/** The commit deadline of the work under way, as a statement's value for `deadlineCheck` (null without one). */
export const commitDeadlineValue = (): number | null => commitDeadline() ?? null;

/** True for the error of a failed `deadlineCheck` (drizzle wraps driver errors in `cause`). */
export function isDeadlineRefusal(error: unknown): boolean {
  let e: unknown = error;
  for (let i = 0; i < 4 && e && typeof e === "object"; i++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (code === "22P02" && typeof message === "string" && message.includes(REFUSAL)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Rethrows a failed `deadlineCheck` as the request's 504 refusal, anything else as it is. */
export function refusedPastDeadline(error: unknown): never {
  throw isDeadlineRefusal(error) ? deadlinePassed() : error;
}

/**
 * Runs a transaction (`begin`: the driver's, with `body` as its callback) under the deadline of
 * the work under way: refused before it starts when the commit deadline has passed, refused
 * after BEGIN if BEGIN itself came back too late, and ended by `guard` (the check, in the
 * database) just before COMMIT. The caller stops waiting at the caller's deadline.
 */
export function guardedTransaction<Tx, T>(
  begin: (body: (tx: Tx) => Promise<T>) => Promise<T>,
  body: (tx: Tx) => Promise<T>,
  guard: (tx: Tx, deadline: number) => PromiseLike<unknown>,
): Promise<T> {
  const deadline = commitDeadline();
  if (deadline === undefined) return begin(body);
  if (remainingMs() <= 0) return Promise.reject(deadlinePassed());
  return untilCallerDeadline(
    begin(async (tx) => {
      checkDeadline();
      const result = await body(tx);
      await Promise.resolve(guard(tx, deadline)).catch(refusedPastDeadline);
      return result;
    }),
  );
}

/**
 * A postgres.js query under the deadline of the work under way. Queries run when first awaited,
 * so one awaited past the commit deadline is never sent; one that is sent is waited for until the
 * caller's deadline at most. The query's own methods (drizzle calls `values()`) keep working.
 */
export function boundedQuery<Q extends PromiseLike<unknown>>(query: Q): Q {
  if (callerDeadline() === undefined) return query;
  return settledOnAwait(query, () => (remainingMs() > 0 ? untilCallerDeadline(query) : Promise.reject(deadlinePassed())));
}

/**
 * A postgres.js query (which runs when first awaited) whose awaiting goes through `settle`, called
 * once, at the first `then`/`catch`/`finally`; its own methods (drizzle calls `values()`) keep
 * working and return the wrapped query where they returned the query.
 */
export function settledOnAwait<Q extends PromiseLike<unknown>>(query: Q, settle: () => Promise<unknown>): Q {
  let outcome: Promise<unknown> | undefined;
  const settled = () => (outcome ??= settle());
  const wrapped: Q = new Proxy(query, {
    get(target, property) {
      if (property === "then") return (ok?: (v: unknown) => unknown, failed?: (e: unknown) => unknown) => settled().then(ok, failed);
      if (property === "catch") return (failed?: (e: unknown) => unknown) => settled().catch(failed);
      if (property === "finally") return (done?: () => void) => settled().finally(done);
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const out = (value as (...a: unknown[]) => unknown).apply(target, args);
        return out === target ? wrapped : out;
      };
    },
  });
  return wrapped;
}

export const postgresGuard = (tx: { unsafe(query: string, params: unknown[], options: object): PromiseLike<unknown> }, deadline: number) =>
  tx.unsafe(GUARD, [deadline], { prepare: true });

interface PgliteLike {
  query(query: string, params?: unknown[], options?: object): Promise<unknown>;
}

/**
 * A PGlite client (or one of its transactions) under request deadlines. PGlite runs in this
 * process and never holds a statement for a server that is away, so statements are only refused
 * once the commit deadline has passed, and transactions end with the guard.
 */
export function guardedPglite<C extends object>(client: C): C {
  return new Proxy(client, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== "function" || property === "constructor") return value;
      const method = value as (...args: unknown[]) => unknown;
      if (property === "query" || property === "exec") {
        return (...args: unknown[]) => (callerDeadline() !== undefined && remainingMs() <= 0 ? Promise.reject(deadlinePassed()) : method.apply(target, args));
      }
      if (property === "transaction") {
        return (callback: (tx: object) => Promise<unknown>) =>
          guardedTransaction(
            (body) => method.call(target, body) as Promise<unknown>,
            (tx: object) => callback(guardedPglite(tx)),
            (tx, deadline) => (tx as PgliteLike).query(GUARD, [deadline]),
          );
      }
      return method.bind(target);
    },
  });
}
