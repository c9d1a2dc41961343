/**
 * Changes made elsewhere (another browser, the API, a schedule) shown without a reload: while a
 * member is signed in, an EventSource on `GET /api/v2/live` names each committed change of a flag,
 * segment, project or environment, and the queries showing it are read again. Events come in
 * bursts (an apply of flags as code): they are gathered for a moment and each query is invalidated
 * once. The feed resumes: after a lost connection the gateway first sends the changes missed
 * meanwhile (the browser's EventSource sends the last event's id, `Last-Event-ID`), or `reset` when
 * they are too many or too old, and then everything is read again.
 */
import { useQueryClient, type QueryClient, type QueryKey } from "@tanstack/react-query";
import { useEffect } from "react";

export interface LiveChange {
  kind: "flag" | "segment" | "project" | "environment";
  project: string;
  environment: string | null;
  key: string | null;
  version: number | null;
}

/** The queries that show a change (the pages' query keys). */
export function queriesOf(change: LiveChange): QueryKey[] {
  const { kind, project, key } = change;
  switch (kind) {
    case "flag":
      return [["flags", project], ["flag", project, key], ["auditlog"]];
    case "segment":
      return [["segments", project], ["segment", project, key], ["auditlog"]];
    default:
      return [["projects"], ["project", project], ["flags", project], ["flag", project], ["segments", project], ["auditlog"]];
  }
}

const GATHER_MS = 100;
const RECONNECT_MS = 2_000;

function invalidateGathered(client: QueryClient): { add(change: LiveChange): void; stop(): void } {
  const pending = new Map<string, QueryKey>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    add(change) {
      for (const key of queriesOf(change)) pending.set(JSON.stringify(key), key);
      timer ??= setTimeout(() => {
        timer = undefined;
        const keys = [...pending.values()];
        pending.clear();
        for (const queryKey of keys) void client.invalidateQueries({ queryKey });
      }, GATHER_MS);
    },
    stop: () => clearTimeout(timer),
  };
}

/** Keeps the signed-in member's pages current; call it once, where a member is signed in. */
export function useLiveChanges(): void {
  const client = useQueryClient();
  useEffect(() => {
    const gathered = invalidateGathered(client);
    /** The feed position of the last event: where a new feed resumes. */
    let position: string | undefined;
    let source: EventSource | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const connect = (resuming: boolean) => {
      const s = new EventSource(resuming && position ? `/api/v2/live?lastEventId=${encodeURIComponent(position)}` : "/api/v2/live");
      source = s;
      // A feed that resumes without a known position cannot be told what it missed.
      let unknownGap = resuming && !position;
      s.addEventListener("open", () => {
        if (unknownGap) void client.invalidateQueries();
        unknownGap = false;
      });
      s.addEventListener("change", (event) => {
        const message = event as MessageEvent<string>;
        position = message.lastEventId || position;
        try {
          gathered.add(JSON.parse(message.data) as LiveChange);
        } catch {
          // Not an event of this feed: ignored.
        }
      });
      s.addEventListener("reset", (event) => {
        position = (event as MessageEvent<string>).lastEventId || position;
        void client.invalidateQueries();
      });
      s.addEventListener("error", () => {
        // While connecting again, the browser itself sends Last-Event-ID. It gives up for good on an
        // answer that is not a stream (a gateway restarting behind a proxy): a new feed then resumes.
        if (stopped || s.readyState !== EventSource.CLOSED) return;
        retry = setTimeout(() => connect(true), RECONNECT_MS);
      });
    };
    connect(false);
    return () => {
      stopped = true;
      clearTimeout(retry);
      source?.close();
      gathered.stop();
    };
  }, [client]);
}
