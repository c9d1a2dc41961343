/** The flags service's way to the auth service's key issuing, over the bus. */
import type { IssueEnvironmentKeysReply, ResetEnvironmentKeyReply } from "@vexil/shared/auth-messages";
import type { Bus } from "@vexil/shared/bus/bus";
import { requestJson } from "@vexil/shared/bus/rpc";
import { withoutDeadline } from "@vexil/shared/deadline";
import { subjects } from "@vexil/shared/subjects";
import type { EnvironmentKeyIssuer } from "./domain/context.ts";

export function busKeyIssuer(bus: Bus, timeoutMs: number): EnvironmentKeyIssuer {
  return {
    async issue(environmentIds) {
      const reply = await requestJson<IssueEnvironmentKeysReply>(bus, subjects.authIssueEnvironmentKeys, { v: 1, environmentIds }, timeoutMs);
      return reply.keys;
    },
    async forget(environmentIds) {
      // Undoes an issue whose environment was not stored, often because the request ran out of
      // time: the clean-up gets time of its own.
      await withoutDeadline(() => requestJson(bus, subjects.authDeleteEnvironmentKeys, { v: 1, environmentIds }, timeoutMs));
    },
    async reset(request) {
      const reply = await requestJson<ResetEnvironmentKeyReply>(bus, subjects.authResetEnvironmentKey, { v: 1, ...request }, timeoutMs);
      return reply.key;
    },
  };
}
