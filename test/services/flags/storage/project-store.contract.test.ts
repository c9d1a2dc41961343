/** One contract for both ProjectStore implementations: the in-memory one and drizzle on real Postgres. */
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { drizzle } from "drizzle-orm/postgres-js";
import type { Db } from "@vexil/shared/db/connector";
import { VexilError } from "@vexil/shared/errors";
import { DrizzleProjectStore } from "@vexil/flags/storage/drizzle-project-store";
import { MemoryProjectStore } from "@vexil/flags/storage/memory-project-store";
import type { EnvironmentRecord, ListQuery, ProjectRecord, ProjectStore } from "@vexil/flags/storage/project-store";
import { testDatabaseUrl } from "../../../support/postgres.ts";

let n = 0;
const project = (key: string, over: Partial<ProjectRecord> = {}): ProjectRecord => ({
  id: `${(++n).toString(16).padStart(24, "0")}`,
  key,
  name: key.toUpperCase(),
  tags: [],
  includeInSnippetByDefault: false,
  csaUsingEnvironmentId: false,
  csaUsingMobileKey: true,
  createdAt: 1_000 + n,
  version: 1,
  ...over,
});
const environment = (projectId: string, key: string, over: Partial<EnvironmentRecord> = {}): EnvironmentRecord => ({
  id: `${(++n).toString(16).padStart(24, "e")}`,
  projectId,
  key,
  name: key,
  color: "FFFFFF",
  defaultTtl: 0,
  secureMode: false,
  defaultTrackEvents: false,
  requireComments: false,
  confirmChanges: false,
  tags: [],
  critical: false,
  approvalSettings: null,
  segmentApprovalSettings: null,
  sdkKeyLast4: "abcd",
  mobileKeyLast4: "efgh",
  createdAt: 2_000 + n,
  version: 1,
  ...over,
});
const noFlags = (): never => {
  throw new Error("no flags in these projects");
};
const q = (over: Partial<ListQuery> = {}): ListQuery => ({ limit: 20, offset: 0, sort: { field: "key", descending: false }, ...over });

const clients: Array<{ end(): Promise<void> }> = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.end()));
});

const implementations: Array<[string, () => Promise<ProjectStore>]> = [
  ["memory", async () => new MemoryProjectStore()],
  [
    "postgres",
    async () => {
      const client = postgres(await testDatabaseUrl(), { max: 4, onnotice: () => {} });
      clients.push(client);
      return new DrizzleProjectStore(drizzle(client) as unknown as Db);
    },
  ],
];

for (const [name, make] of implementations) {
  describe(`ProjectStore contract: ${name}`, () => {
    let store: ProjectStore;
    beforeEach(async () => {
      store = await make();
    });

    test("inserts a project with environments and reads them back", async () => {
      const p = project("alpha", { tags: ["a", "b"] });
      await store.insertProject(p, [environment(p.id, "test"), environment(p.id, "production")]);
      expect(await store.projectByKey("alpha")).toEqual(p);
      const envs = await store.listEnvironments(p.id, q());
      expect(envs.total).toBe(2);
      expect(envs.items.map((e) => e.key)).toEqual(["production", "test"]);
      expect(await store.environmentByKey(p.id, "test")).toMatchObject({ key: "test", sdkKeyLast4: "abcd" });
      expect(await store.projectByKey("missing")).toBeUndefined();
    });

    test("a taken project key is a conflict and writes nothing", async () => {
      const p = project("dup");
      await store.insertProject(p, []);
      const again = project("dup");
      const error = await store.insertProject(again, [environment(again.id, "x")]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VexilError);
      expect((error as VexilError).code).toBe("conflict");
      expect((await store.listProjects(q())).total).toBe(1);
      expect((await store.listEnvironments(again.id, q())).total).toBe(0);
    });

    test("a taken environment key is a conflict", async () => {
      const p = project("envdup");
      await store.insertProject(p, [environment(p.id, "test")]);
      const error = await store.insertEnvironment(environment(p.id, "test"), noFlags).catch((e: unknown) => e);
      expect((error as VexilError).code).toBe("conflict");
    });

    test("lists with filters, sorting and pages", async () => {
      for (const [key, name, tags] of [
        ["b-proj", "Zulu", ["red"]],
        ["a-proj", "Yankee", ["red", "blue"]],
        ["c-proj", "Alpha", ["blue"]],
        ["d-other", "X-ray", []],
      ] as const) {
        await store.insertProject(project(key, { name, tags: [...tags] }), []);
      }
      expect((await store.listProjects(q())).items.map((p) => p.key)).toEqual(["a-proj", "b-proj", "c-proj", "d-other"]);
      expect((await store.listProjects(q({ sort: { field: "name", descending: false } }))).items.map((p) => p.name)).toEqual([
        "Alpha",
        "X-ray",
        "Yankee",
        "Zulu",
      ]);
      expect((await store.listProjects(q({ sort: { field: "createdOn", descending: true } }))).items.map((p) => p.key)).toEqual([
        "d-other",
        "c-proj",
        "a-proj",
        "b-proj",
      ]);
      expect((await store.listProjects(q({ query: "PROJ" }))).total).toBe(3);
      expect((await store.listProjects(q({ query: "ray" }))).items.map((p) => p.key)).toEqual(["d-other"]);
      expect((await store.listProjects(q({ query: "%" }))).total).toBe(0);
      expect((await store.listProjects(q({ tags: ["red", "blue"] }))).items.map((p) => p.key)).toEqual(["a-proj"]);
      expect((await store.listProjects(q({ keys: ["c-proj", "b-proj", "nope"] }))).items.map((p) => p.key)).toEqual(["b-proj", "c-proj"]);
      expect((await store.listProjects(q({ keys: [] }))).total).toBe(0);
      const page = await store.listProjects(q({ limit: 3, offset: 2 }));
      expect(page.total).toBe(4);
      expect(page.items.map((p) => p.key)).toEqual(["c-proj", "d-other"]);
      expect((await store.listProjects(q({ offset: 10 }))).items).toEqual([]);
    });

    test("updates only from the expected version", async () => {
      const p = project("versioned");
      await store.insertProject(p, []);
      expect(await store.updateProject({ ...p, name: "One", version: 2 }, 1)).toBe(true);
      expect(await store.updateProject({ ...p, name: "Stale", version: 2 }, 1)).toBe(false);
      expect(await store.projectByKey("versioned")).toMatchObject({ name: "One", version: 2 });

      const e = environment(p.id, "env");
      await store.insertEnvironment(e, noFlags);
      expect(await store.updateEnvironment({ ...e, color: "000000", version: 2 }, 1)).toBe(true);
      expect(await store.updateEnvironment({ ...e, color: "111111", version: 2 }, 1)).toBe(false);
      expect(await store.environmentByKey(p.id, "env")).toMatchObject({ color: "000000", version: 2 });
    });

    test("deleting a project deletes its environments and returns their ids", async () => {
      const p = project("gone");
      const envs = [environment(p.id, "one"), environment(p.id, "two")];
      await store.insertProject(p, envs);
      expect((await store.deleteProject(p.id))?.sort()).toEqual(envs.map((e) => e.id).sort());
      expect(await store.projectByKey("gone")).toBeUndefined();
      expect((await store.listEnvironments(p.id, q())).total).toBe(0);
      expect(await store.deleteProject(p.id)).toBeUndefined();
    });

    test("deletes one environment", async () => {
      const p = project("keep");
      const e = environment(p.id, "drop");
      await store.insertProject(p, [e]);
      expect(await store.deleteEnvironment(e.id)).toBe(true);
      expect(await store.deleteEnvironment(e.id)).toBe(false);
      expect(await store.environmentByKey(p.id, "drop")).toBeUndefined();
    });

    test("filters and sorts environments", async () => {
      const p = project("envs");
      await store.insertProject(p, [
        environment(p.id, "stage", { critical: false, tags: ["x"] }),
        environment(p.id, "prod", { critical: true, tags: ["x", "y"] }),
        environment(p.id, "dev", { critical: false }),
      ]);
      expect((await store.listEnvironments(p.id, q({ sort: { field: "critical", descending: true } }))).items.map((e) => e.key)).toEqual([
        "prod",
        "dev",
        "stage",
      ]);
      expect((await store.listEnvironments(p.id, q({ tags: ["x"] }))).items.map((e) => e.key)).toEqual(["prod", "stage"]);
      expect((await store.listEnvironments(p.id, q({ query: "ev" }))).items.map((e) => e.key)).toEqual(["dev"]);
    });

    test("the bootstrap project is created once, even after deletion", async () => {
      expect(await store.isBootstrapped("default-project")).toBe(false);
      const p = project("default");
      expect(await store.bootstrapProject("default-project", p, [environment(p.id, "test")])).toBe(true);
      expect(await store.isBootstrapped("default-project")).toBe(true);
      await store.deleteProject(p.id);
      const again = project("default");
      expect(await store.bootstrapProject("default-project", again, [])).toBe(false);
      expect(await store.projectByKey("default")).toBeUndefined();
    });
  });
}
