/**
 * Changes made elsewhere (another browser, the API, a schedule) shown without a reload: while a
 * member is signed in, an EventSource on `GET /api/v2/live` names each committed change of a flag,
 * segment, project or environment, and the queries showing it are read again. Events come in
 * bursts (an apply of flags as code): they are gathered for a moment and each query is invalidated
 * once. After a lost connection, whatever was missed meanwhile is unknown: everything is read again.
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
    const source = new EventSource("/api/v2/live");
    const gathered = invalidateGathered(client);
    let opened = false;
    source.addEventListener("open", () => {
      if (opened) void client.invalidateQueries();
      opened = true;
    });
    source.addEventListener("change", (event) => {
      try {
        gathered.add(JSON.parse((event as MessageEvent<string>).data) as LiveChange);
      } catch {
        // Not an event of this feed: ignored.
      }
    });
    return () => {
      source.close();
      gathered.stop();
    };
  }, [client]);
}
