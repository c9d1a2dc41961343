/**
 * A change's answer is kept with the record it writes (the cache's): the next change takes it as
 * its representation before, and reads of that version serve it. Checked against what the audit
 * log stores and against another instance that reads every version from the database.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { getAuditEntry, listAuditLog } from "@vexil/flags/domain/audit-log";
import { createFlag, getFlag, patchFlag } from "@vexil/flags/domain/flags/flags";
import { createProject } from "@vexil/flags/domain/projects";
import { testDatabaseUrl } from "../../support/postgres.ts";
import { admin } from "./domain/memory-context.ts";
import { flagsInstance, until, type Instance } from "./flags-instance.ts";

const SEMANTIC = "application/json; domain-model=launchdarkly.semanticpatch";
const JSON_PATCH = "application/json";

let a: Instance;
let b: Instance;

beforeAll(async () => {
  const url = await testDatabaseUrl();
  a = await flagsInstance(url);
  b = await flagsInstance(url);
}, 30_000);

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

const asJson = (v: unknown) => JSON.parse(JSON.stringify(v));

test("each change's audit entry holds the answers before and after it, the same as another instance reads", async () => {
  await createProject(a, admin, { key: "kept", name: "Kept", environments: [{ key: "production", name: "Production", color: "ff0000" }, { key: "test", name: "Test", color: "00ff00" }] });
  await createFlag(a, admin, "kept", { key: "checkout", name: "Checkout", variations: [{ value: "red" }, { value: "blue" }], defaults: { onVariation: 0, offVariation: 1 } });
  let before = await getFlag(a, admin, "kept", "checkout", {});
  const on = before.variations[0]!._id;
  const changes: Array<[unknown, string]> = [
    [{ environmentKey: "production", instructions: [{ kind: "turnFlagOn" }] }, SEMANTIC],
    [{ environmentKey: "test", instructions: [{ kind: "addTargets", variationId: on, values: ["alice", "bob"] }] }, SEMANTIC],
    [{ environmentKey: "production", instructions: [{ kind: "turnFlagOff" }] }, SEMANTIC],
    [[{ op: "replace", path: "/name", value: "Checkout flow" }], JSON_PATCH],
    [{ environmentKey: "test", instructions: [{ kind: "addVariation", value: "green", name: "Green" }, { kind: "turnFlagOn" }] }, SEMANTIC],
    [{ environmentKey: "production", instructions: [{ kind: "turnFlagOn" }] }, SEMANTIC],
  ];
  for (const [body, contentType] of changes) {
    const answer = (await patchFlag(a, admin, "kept", "checkout", body, contentType))!;
    expect(answer._version).toBe(before._version + 1);
    // Another instance, reading the flag from the database once the commit's notice reached it,
    // builds the same representation.
    await until(5_000, async () => (await getFlag(b, admin, "kept", "checkout", {}))._version === answer._version);
    expect(asJson(await getFlag(b, admin, "kept", "checkout", {}))).toEqual(asJson(answer));
    expect(asJson(await getFlag(a, admin, "kept", "checkout", {}))).toEqual(asJson(answer));
    const [head] = (await listAuditLog(a.audit, admin, { limit: "1" })).items;
    const entry = await getAuditEntry(a.audit, admin, head!._id);
    expect(entry._currentVersionNumber).toBe(answer._version);
    expect(asJson(entry.currentVersion)).toEqual(asJson(answer));
    expect(asJson(entry.previousVersion)).toEqual(asJson(before));
    before = answer;
  }
  const final = await getFlag(a, admin, "kept", "checkout", {});
  expect(final.name).toBe("Checkout flow");
  expect(final.variations.map((v) => v.value)).toEqual(["red", "blue", "green"]);
  expect((final.environments.test as { targets: Array<{ values: string[] }> }).targets[0]!.values).toEqual(["alice", "bob"]);
});
