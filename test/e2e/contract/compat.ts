/** Calls every documented compat operation, answers and refusals. */
import { expect } from "bun:test";
import type { Client } from "../../support/client.ts";

/** The body of FeatureProbe's own example (seed 000). */
const SEED_TARGETING = {
  comment: "test api change",
  disabled: false,
  content: {
    rules: [{ name: "city", serve: { select: 0 }, conditions: [{ type: "number", subject: "1", predicate: ">", objects: ["1000", "1001"] }] }],
    disabledServe: { select: 0 },
    defaultServe: { select: 1 },
    variations: [
      { value: "false", name: "variation1", description: "" },
      { value: "true", name: "variation2", description: "" },
    ],
  },
};

export async function exerciseCompat(api: Client): Promise<void> {
  const project = await api.call("POST", "/api/v2/projects", {
    body: {
      key: "contract-compat",
      name: "Contract compat",
      environments: [
        { key: "live", name: "Live", color: "00ff00" },
        { key: "strict", name: "Strict", color: "ff0000", requireComments: true },
      ],
    },
  });
  expect(project.status).toBe(201);
  expect((await api.call("POST", "/api/v2/flags/contract-compat", { body: { key: "toggle", name: "Toggle", temporary: true } })).status).toBe(201);
  expect(
    (
      await api.call("POST", "/api/v2/flags/contract-compat", {
        body: { key: "plan", name: "Plan", temporary: false, variations: [{ value: "free" }, { value: "pro", name: "Pro" }, { value: "team", description: "Custom" }] },
      })
    ).status,
  ).toBe(201);
  expect((await api.call("POST", "/api/v2/flags/default", { body: { key: "contract-compat-toggle", name: "Contract compat toggle" } })).status).toBe(201);
  const reader = await api.call("POST", "/api/v2/tokens", { body: { name: "contract-compat reader", role: "reader" } });
  expect(reader.status).toBe(201);
  const asReader = api.as(reader.body.token);

  // Unleash, in the default project and environment.
  const on = await api.call("POST", "/api/admin/features/contract-compat-toggle/toggle/on");
  expect(on.status).toBe(200);
  expect(on.body).toMatchObject({ name: "contract-compat-toggle", project: "default", enabled: true });
  expect((await api.call("POST", "/api/admin/features/contract-compat-toggle/toggle/on")).status).toBe(200);
  const off = await api.call("POST", "/api/admin/features/contract-compat-toggle/toggle/off");
  expect(off.status).toBe(200);
  expect(off.body.enabled).toBe(false);
  expect((await api.call("POST", "/api/admin/features/contract-compat-nope/toggle/on")).status).toBe(404);
  expect((await api.call("POST", "/api/admin/features/contract-compat-toggle/toggle/maybe")).status).toBe(400);
  expect((await asReader.call("POST", "/api/admin/features/contract-compat-toggle/toggle/on")).status).toBe(403);

  // Unleash, in a named project and environment.
  const unleash = "/api/admin/projects/contract-compat/features";
  const live = await api.call("POST", `${unleash}/toggle/environments/live/on`);
  expect(live.status).toBe(200);
  expect(live.body).toMatchObject({ name: "toggle", project: "contract-compat", type: "release", enabled: true });
  expect(live.body.environments).toEqual([
    { name: "live", enabled: true },
    { name: "strict", enabled: false },
  ]);
  const plan = await api.call("POST", `${unleash}/plan/environments/strict/on`);
  expect(plan.status).toBe(200);
  expect(plan.body).toMatchObject({ type: "permission", enabled: true });
  expect((await api.call("POST", `${unleash}/toggle/environments/live/off`)).status).toBe(200);
  const unleashNoEnv = await api.call("POST", `${unleash}/toggle/environments/nope/on`);
  expect({ status: unleashNoEnv.status, code: unleashNoEnv.body.code, message: unleashNoEnv.body.message }).toEqual({ status: 404, code: "not_found", message: 'Environment "nope" in project "contract-compat" not found' });
  expect((await api.call("POST", `${unleash}/nope/environments/live/on`)).status).toBe(404);
  expect((await api.call("POST", "/api/admin/projects/contract-compat-nope/features/toggle/environments/live/on")).status).toBe(404);
  expect((await api.call("POST", `${unleash}/toggle/environments/live/enable`)).status).toBe(400);
  expect((await asReader.call("POST", `${unleash}/toggle/environments/live/on`)).status).toBe(403);

  // FeatureProbe: the seed's body, then read back.
  const targeting = "/api/projects/contract-compat/environments/live/toggles/toggle/targeting";
  const initial = await api.call("GET", targeting);
  expect(initial.status).toBe(200);
  expect(initial.body.content.variations.map((v: { value: string }) => v.value)).toEqual(["true", "false"]);
  const seeded = await api.call("PATCH", targeting, { body: SEED_TARGETING });
  expect(seeded.status).toBe(200);
  expect(seeded.body).toMatchObject({ disabled: false, content: { disabledServe: { select: 1 }, defaultServe: { select: 0 } } });
  expect(seeded.body.content.rules[0]).toEqual({ name: "city", serve: { select: 1 }, conditions: [{ type: "number", subject: "1", predicate: ">", objects: ["1000", "1001"] }] });
  expect(await api.call("GET", targeting)).toMatchObject({ status: 200, body: seeded.body });

  // Every condition type, a split, a rule without a name.
  const planTargeting = "/api/projects/contract-compat/environments/live/toggles/plan/targeting";
  const variations = [{ value: "team" }, { value: "free" }, { value: "pro" }];
  const everything = await api.call("PATCH", planTargeting, {
    body: {
      disabled: true,
      content: {
        rules: [
          {
            name: "all types",
            serve: { split: [2000, 3000, 5000] },
            conditions: [
              { type: "string", subject: "email", predicate: "does not end with", objects: ["@example.com"] },
              { type: "number", subject: "age", predicate: "!=", objects: ["18", "21"] },
              { type: "datetime", subject: "signup", predicate: "after", objects: ["2024-01-01T00:00:00Z"] },
              { type: "semver", subject: "version", predicate: ">=", objects: ["1.2.0"] },
              { type: "segment", predicate: "is not in", objects: ["blocked"] },
            ],
          },
          { serve: { select: 2 }, conditions: [{ type: "string", subject: "country", predicate: "is one of", objects: ["de"] }] },
          { name: null, serve: { select: 0 }, conditions: [] },
        ],
        disabledServe: { select: 1 },
        defaultServe: { split: [0, 10000, 0] },
        variations,
      },
    },
  });
  expect(everything.status).toBe(200);
  expect(everything.body.disabled).toBe(true);
  expect(everything.body.content.rules[0].serve).toEqual({ split: [3000, 5000, 2000] });
  expect(everything.body.content.rules[0].conditions.map((c: { type: string; predicate: string }) => `${c.type} ${c.predicate}`)).toEqual([
    "string does not end with",
    "number !=",
    "datetime after",
    "semver >=",
    "segment is not in",
  ]);
  expect(everything.body.content.variations).toEqual([
    { value: "free", name: "", description: "" },
    { value: "pro", name: "Pro", description: "" },
    { value: "team", name: "", description: "Custom" },
  ]);

  // A clause FeatureProbe has no predicate for, set through the flag.
  const negated = await api.call("PATCH", "/api/v2/flags/contract-compat/plan", {
    body: [
      {
        op: "add",
        path: "/environments/live/rules/-",
        value: { _id: "contract-compat-rule", clauses: [{ _id: "contract-compat-clause", attribute: "age", op: "greaterThan", values: [65], negate: true }], trackEvents: false, variation: 0 },
      },
    ],
  });
  expect(negated.status).toBe(200);
  const shown = await api.call("GET", planTargeting);
  expect(shown.status).toBe(200);
  expect(shown.body.content.rules.at(-1).conditions).toEqual([{ type: "string", subject: "age", predicate: "not greaterThan", objects: ["65"] }]);

  // Refusals.
  const refused: unknown[] = [
    { disabled: false },
    { ...SEED_TARGETING, disabled: "no" },
    { ...SEED_TARGETING, content: { ...SEED_TARGETING.content, variations: [{ value: "true" }] } },
    { ...SEED_TARGETING, content: { ...SEED_TARGETING.content, variations: [{ value: "true" }, { value: "maybe" }] } },
    { ...SEED_TARGETING, content: { ...SEED_TARGETING.content, rules: "none" } },
    { ...SEED_TARGETING, content: { ...SEED_TARGETING.content, disabledServe: { split: [5000, 5000] } } },
    { ...SEED_TARGETING, content: { ...SEED_TARGETING.content, defaultServe: { split: [5000, 4000] } } },
    { ...SEED_TARGETING, content: { ...SEED_TARGETING.content, defaultServe: { select: 7 } } },
    { ...SEED_TARGETING, content: { ...SEED_TARGETING.content, defaultServe: {} } },
    { ...SEED_TARGETING, content: { ...SEED_TARGETING.content, rules: [{ serve: { select: 0 }, conditions: [{ type: "number", subject: "age", predicate: "~", objects: ["1"] }] }] } },
    { ...SEED_TARGETING, content: { ...SEED_TARGETING.content, rules: [{ serve: { select: 0 }, conditions: [{ type: "colour", subject: "c", predicate: "is", objects: [] }] }] } },
    { ...SEED_TARGETING, content: { ...SEED_TARGETING.content, rules: [{ serve: { select: 0 }, conditions: [{ type: "string", subject: "", predicate: "contains", objects: ["x"] }] }] } },
    { ...SEED_TARGETING, comment: "x".repeat(4097) },
  ];
  for (const body of refused) expect((await api.call("PATCH", targeting, { body })).status).toBe(400);
  expect((await api.call("PATCH", targeting, { body: [SEED_TARGETING] })).status).toBe(400);
  expect((await api.call("PATCH", "/api/projects/contract-compat/environments/live/toggles/nope/targeting", { body: SEED_TARGETING })).status).toBe(404);
  expect((await api.call("PATCH", "/api/projects/contract-compat-nope/environments/live/toggles/toggle/targeting", { body: SEED_TARGETING })).status).toBe(404);
  const patchNoEnv = await api.call("PATCH", "/api/projects/contract-compat/environments/nope/toggles/toggle/targeting", { body: SEED_TARGETING });
  expect({ status: patchNoEnv.status, code: patchNoEnv.body.code, message: patchNoEnv.body.message }).toEqual({ status: 404, code: "not_found", message: 'Environment "nope" in project "contract-compat" not found' });
  expect((await asReader.call("PATCH", targeting, { body: { ...SEED_TARGETING, disabled: true } })).status).toBe(403);
  expect((await asReader.call("GET", targeting)).status).toBe(200);
  expect((await api.call("GET", "/api/projects/contract-compat/environments/live/toggles/nope/targeting")).status).toBe(404);
  expect((await api.call("GET", "/api/projects/contract-compat-nope/environments/live/toggles/toggle/targeting")).status).toBe(404);
  const getNoEnv = await api.call("GET", "/api/projects/contract-compat/environments/nope/toggles/toggle/targeting");
  expect({ status: getNoEnv.status, code: getNoEnv.body.code, message: getNoEnv.body.message }).toEqual({ status: 404, code: "not_found", message: 'Environment "nope" in project "contract-compat" not found' });

  // An environment that requires comments.
  const strict = "/api/projects/contract-compat/environments/strict/toggles/toggle/targeting";
  const { comment: _comment, ...uncommented } = SEED_TARGETING;
  expect((await api.call("PATCH", strict, { body: uncommented })).status).toBe(400);
  expect((await api.call("PATCH", strict, { body: SEED_TARGETING })).status).toBe(200);
  expect((await api.call("POST", `${unleash}/toggle/environments/strict/off`)).status).toBe(200);
}
