/** Issues the SDK key and mobile key of new environments; returns the values once, stores verifiers. */
import type { IssuedEnvironmentKeys } from "@vexil/shared/auth-messages";
import { invalidRequest } from "@vexil/shared/errors";
import { resourceId } from "@vexil/shared/ids";
import { issueCredential } from "@vexil/shared/secrets";
import type { AuthStore, EnvironmentKeyRecord } from "../storage/auth-store.ts";

const ENVIRONMENT_ID = /^[0-9a-f]{24}$/;

export async function issueEnvironmentKeys(store: AuthStore, environmentIds: string[], now = Date.now()): Promise<IssuedEnvironmentKeys[]> {
  if (environmentIds.length === 0 || environmentIds.length > 100 || !environmentIds.every((id) => ENVIRONMENT_ID.test(id))) {
    throw invalidRequest("environmentIds must be 1 to 100 environment ids");
  }
  const records: EnvironmentKeyRecord[] = [];
  const issued: IssuedEnvironmentKeys[] = [];
  for (const environmentId of environmentIds) {
    const sdk = issueCredential("sdk");
    const mob = issueCredential("mob");
    for (const [kind, c] of [["sdk", sdk], ["mob", mob]] as const) {
      records.push({ id: resourceId(), environmentId, kind, selector: c.selector, verifier: c.verifier, last4: c.last4, createdAt: now, expiresAt: null });
    }
    issued.push({ environmentId, sdkKey: sdk.value, mobileKey: mob.value });
  }
  await store.insertEnvironmentKeys(records);
  return issued;
}
