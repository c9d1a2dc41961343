/**
 * The flags service's way to the streaming instances' SDK connections: one scatter/gather on
 * `vexil.streaming.connections`, answered by every streaming instance (no queue group). It waits at
 * most `timeoutMs` (and never past the request's deadline), and stops `quietMs` after the latest
 * reply: the replies to one request come close together, and how many instances exist is not known
 * here. A malformed reply is left out, as if its instance had not answered.
 */
import { BusError, decodeJson, encodeJson, type Bus } from "@vexil/shared/bus/bus";
import { outgoingDeadline } from "@vexil/shared/deadline";
import { VexilError } from "@vexil/shared/errors";
import { connectionsReplyOf, type SdkConnectionsReply, type SdkConnectionsRequest } from "@vexil/shared/sdk-connections";
import { subjects } from "@vexil/shared/subjects";
import type { SdkConnectionSource } from "./domain/sdk-connections.ts";

export interface GatherLimits {
  timeoutMs: number;
  quietMs: number;
}

export const DEFAULT_GATHER: GatherLimits = { timeoutMs: 1_000, quietMs: 250 };

export function busSdkConnections(bus: Bus, limits: GatherLimits = DEFAULT_GATHER): SdkConnectionSource {
  return {
    async gather(environmentId) {
      const request: SdkConnectionsRequest = { v: 1, environmentId };
      const timeoutMs = Math.max(0, outgoingDeadline(limits.timeoutMs) - Date.now());
      let messages;
      try {
        messages = await bus.gather(subjects.streamingConnections, encodeJson(request), { timeoutMs, quietMs: limits.quietMs });
      } catch (e) {
        if (e instanceof BusError) throw new VexilError("service_unavailable", "The streaming instances cannot be asked right now");
        throw e;
      }
      const replies: SdkConnectionsReply[] = [];
      for (const message of messages) {
        let value: unknown;
        try {
          value = decodeJson(message.data);
        } catch {
          continue;
        }
        const reply = connectionsReplyOf(value, environmentId);
        // One answer per instance, should a reply arrive twice.
        if (reply && !replies.some((r) => r.instance === reply.instance)) replies.push(reply);
      }
      return replies;
    },
  };
}
