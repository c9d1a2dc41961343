/**
 * Commit notifications from Postgres (LISTEN/NOTIFY) on both engines, and the payloads that the
 * triggers of migration 0007 send. Postgres delivers a notification only when the transaction
 * that sent it commits, so a listener hears of committed changes only; identical notifications of
 * one transaction arrive once.
 *
 * Channels:
 *   vexil_outbox   ''   a statement inserted outbox rows (the relay's wake-up)
 *   vexil_changes  'flag:<projectId>:<version>:<key>'           a flag row inserted, updated, deleted (-1)
 *                  'segment:<environmentId>:<version>:<key>'   the same for a segment
 *                  'project:<projectId>'                       a project updated or deleted, or one of its environments changed
 *                  'flags:<projectId>'                         the project's live flags may be others: one was created,
 *                                                              deleted, archived or restored (besides its 'flag:' notice)
 *   vexil_schedule '<dueAt>'   a statement left scheduled items pending and unclaimed (migration 0013):
 *                              the earliest due time among them, epoch ms
 *
 * Keys cannot hold ':' (`KEY_PATTERN`), and the key comes last, so a payload splits unambiguously
 * whatever the key.
 */
import type { Sql } from "postgres";

export const OUTBOX_CHANNEL = "vexil_outbox";
export const CHANGES_CHANNEL = "vexil_changes";
export const SCHEDULE_CHANNEL = "vexil_schedule";

export type ChangeNotice =
  | { kind: "flag"; projectId: string; version: number; key: string }
  | { kind: "segment"; environmentId: string; version: number; key: string }
  | { kind: "project"; projectId: string }
  | { kind: "flags"; projectId: string };

/** The payload the triggers send for a change (a deletion has version -1). */
export function changeNoticePayload(notice: ChangeNotice): string {
  switch (notice.kind) {
    case "flag":
      return `flag:${notice.projectId}:${notice.version}:${notice.key}`;
    case "segment":
      return `segment:${notice.environmentId}:${notice.version}:${notice.key}`;
    case "project":
      return `project:${notice.projectId}`;
    case "flags":
      return `flags:${notice.projectId}`;
  }
}

/** A `vexil_changes` payload read back; undefined for anything the triggers do not send. */
export function parseChangeNotice(payload: string): ChangeNotice | undefined {
  const [kind, scope, ...rest] = payload.split(":");
  if (!scope) return undefined;
  if (kind === "project" || kind === "flags") return rest.length === 0 ? { kind, projectId: scope } : undefined;
  if (kind !== "flag" && kind !== "segment") return undefined;
  const [version, ...key] = rest;
  if (version === undefined || !/^(-1|0|[1-9]\d{0,9})$/.test(version) || key.length === 0) return undefined;
  const name = key.join(":");
  if (!name) return undefined;
  return kind === "flag" ? { kind, projectId: scope, version: Number(version), key: name } : { kind, environmentId: scope, version: Number(version), key: name };
}

/** A `vexil_schedule` payload read back: the due time, or undefined for anything else. */
export function parseScheduleNotice(payload: string): number | undefined {
  return /^-?\d{1,16}$/.test(payload) ? Number(payload) : undefined;
}

/** Stops listening (idempotent). */
export type Unlisten = () => Promise<void>;

/**
 * Listens on `channel` until the returned function is called. Resolves once the LISTEN is in
 * place and rejects if the first one fails. `onReset` is called after every later (re)LISTEN — the
 * connection was lost and notifications sent meanwhile were missed — so the caller can catch up.
 * `onLost`, when given, is called as soon as the connection is lost: until the next `onReset`,
 * notifications are not heard.
 */
export type Listen = (channel: string, onMessage: (payload: string) => void, onReset: () => void, onLost?: () => void) => Promise<Unlisten>;

interface Subscriber {
  onMessage(payload: string): void;
  onReset(): void;
  onLost?(): void;
}

/** What `postgresListener` needs of postgres.js: a client made with these handlers. */
export type ListenerClientFactory = (handlers: { onnotify(channel: string, payload: string): void; onclose(): void }) => Sql;

/**
 * LISTEN over postgres.js on one connection of its own for all channels. postgres.js's own
 * `sql.listen` listens again after a reconnect, but only once: if the server is still away at that
 * moment (a restart that takes a few seconds) the listener is dropped without a word. Here every
 * close of the connection starts a loop that listens again, backing off up to 5 s, until it holds,
 * and then calls every subscriber's `onReset`.
 */
export function postgresListener(connect: ListenerClientFactory): { listen: Listen; close(): Promise<void> } {
  /** Each channel's subscribers, and its first LISTEN. */
  const channels = new Map<string, { subscribers: Set<Subscriber>; listening: Promise<unknown> }>();
  let client: Sql | undefined;
  let lost = false;
  let restoring: Promise<void> | undefined;
  let closed = false;

  const listenSql = (channel: string) => connection().unsafe(`listen "${channel.replace(/"/g, '""')}"`);

  function connection(): Sql {
    client ??= connect({
      onnotify: (channel, payload) => {
        for (const s of channels.get(channel)?.subscribers ?? []) s.onMessage(payload);
      },
      onclose: () => {
        // Also called when a connection attempt fails: the loop below is then already running.
        if (!lost && !closed) for (const { subscribers } of channels.values()) for (const s of subscribers) s.onLost?.();
        lost = true;
        if (!closed && channels.size > 0) restoring ??= restore().finally(() => (restoring = undefined));
      },
    });
    return client;
  }

  async function restore(): Promise<void> {
    for (let delay = 100; lost && !closed && channels.size > 0; delay = Math.min(delay * 2, 5_000)) {
      lost = false;
      try {
        for (const channel of channels.keys()) await listenSql(channel);
        if (lost) continue;
        for (const { subscribers } of channels.values()) for (const s of subscribers) s.onReset();
        return;
      } catch {
        lost = true;
        await Bun.sleep(delay);
      }
    }
  }

  const listen: Listen = async (channel, onMessage, onReset, onLost) => {
    if (closed) throw new Error("the database is closed");
    const subscriber: Subscriber = { onMessage, onReset, onLost };
    let entry = channels.get(channel);
    if (!entry) {
      entry = { subscribers: new Set(), listening: listenSql(channel) };
      channels.set(channel, entry);
    }
    const { subscribers } = entry;
    subscribers.add(subscriber);
    try {
      await entry.listening;
    } catch (e) {
      subscribers.delete(subscriber);
      if (subscribers.size === 0 && channels.get(channel) === entry) channels.delete(channel);
      throw e;
    }
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      subscribers.delete(subscriber);
      if (subscribers.size > 0 || channels.get(channel) !== entry) return;
      channels.delete(channel);
      await client?.unsafe(`unlisten "${channel.replace(/"/g, '""')}"`).catch(() => undefined);
    };
  };

  return {
    listen,
    async close() {
      closed = true;
      channels.clear();
      await client?.end({ timeout: 5 });
    },
  };
}

/** What `pgliteListener` needs of a PGlite instance. */
interface PgliteNotifications {
  listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>;
}

/**
 * LISTEN on PGlite: the database runs in this process, its connection is never lost, so `onReset`
 * is never called. A notification arrives after the statement that committed it returns.
 */
export function pgliteListener(pglite: PgliteNotifications): Listen {
  return async (channel, onMessage) => {
    const unlisten = await pglite.listen(channel, onMessage);
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      await unlisten();
    };
  };
}

/** Listens through the database's own engine (see `Listen`). */
export const listen = (database: { listen: Listen }, channel: string, onMessage: (payload: string) => void, onReset: () => void): Promise<Unlisten> =>
  database.listen(channel, onMessage, onReset);
