/** The verified caller: every grant must allow, and refusals name what was refused. */
import { describe, expect, test } from "bun:test";
import { CALLER_HEADER, authorize, authorizeRead, can, canRead, forbidden, specifierOf, type Caller, type Grant } from "@vexil/shared/caller";
import { VexilError } from "@vexil/shared/errors";
import type { Resource } from "@vexil/shared/policy";

const caller = (grants: Grant[], over: Partial<Caller> = {}): Caller => ({
  kind: "token",
  tokenId: "t1",
  tokenName: "ci",
  memberId: "m1",
  memberEmail: "m@vexil.test",
  role: "writer",
  serviceToken: false,
  grants,
  ...over,
});

const flag = (project: string, env: string, key: string): Resource => [
  { type: "proj", key: project },
  { type: "env", key: env },
  { type: "flag", key },
];

const allFlags: Grant = { base: "reader", statements: [{ effect: "allow", resources: ["proj/*:env/*:flag/*"], actions: ["*"] }] };
const projectA: Grant = { base: "reader", statements: [{ effect: "allow", resources: ["proj/a:env/*:flag/*"], actions: ["*"] }] };
const onOff: Grant = { base: "reader", statements: [{ effect: "allow", resources: ["proj/*:env/*:flag/*"], actions: ["updateOn"] }] };
const noProduction: Grant = {
  base: "reader",
  statements: [
    { effect: "allow", resources: ["proj/*:env/*:flag/*"], actions: ["*"] },
    { effect: "deny", resources: ["proj/*:env/production:flag/*"], actions: ["*"] },
  ],
};

/** The error `work` throws, which must be a VexilError. */
function thrown(work: () => void): VexilError {
  try {
    work();
  } catch (e) {
    expect(e).toBeInstanceOf(VexilError);
    return e as VexilError;
  }
  throw new Error("expected a VexilError");
}

describe("CALLER_HEADER", () => {
  test("the header name", () => {
    expect(CALLER_HEADER).toBe("x-vexil-caller");
  });
});

describe("can", () => {
  test("one grant decides alone", () => {
    expect(can(caller([allFlags]), "updateOn", flag("a", "test", "f"))).toBe(true);
    expect(can(caller([projectA]), "updateOn", flag("b", "test", "f"))).toBe(false);
  });

  test("with several grants every grant must allow", () => {
    const both = caller([allFlags, projectA]);
    expect(can(both, "updateOn", flag("a", "test", "f"))).toBe(true);
    expect(can(both, "updateOn", flag("b", "test", "f"))).toBe(false);
    const narrow = caller([projectA, onOff]);
    expect(can(narrow, "updateOn", flag("a", "test", "f"))).toBe(true);
    expect(can(narrow, "updateName", flag("a", "test", "f"))).toBe(false);
    // A deny in any grant wins.
    const denied = caller([allFlags, noProduction]);
    expect(can(denied, "updateOn", flag("a", "production", "f"))).toBe(false);
    expect(can(denied, "updateOn", flag("a", "test", "f"))).toBe(true);
  });

  test("the order of grants does not matter", () => {
    for (const resource of [flag("a", "test", "f"), flag("b", "production", "f")]) {
      for (const action of ["updateOn", "updateName"]) {
        expect(can(caller([projectA, onOff, noProduction]), action, resource)).toBe(can(caller([noProduction, onOff, projectA]), action, resource));
      }
    }
  });

  test("a caller without grants may do nothing", () => {
    expect(can(caller([]), "updateOn", flag("a", "test", "f"))).toBe(false);
    expect(canRead(caller([]))).toBe(false);
  });

  test("a grant without statements allows no action", () => {
    expect(can(caller([{ base: "reader", statements: [] }]), "updateOn", flag("a", "test", "f"))).toBe(false);
  });
});

describe("canRead", () => {
  test("every grant must have the reader base", () => {
    expect(canRead(caller([allFlags]))).toBe(true);
    expect(canRead(caller([allFlags, projectA]))).toBe(true);
    expect(canRead(caller([{ base: "no_access", statements: allFlags.statements }]))).toBe(false);
    expect(canRead(caller([allFlags, { base: "no_access", statements: [] }]))).toBe(false);
  });

  test("no_access still allows what its statements allow", () => {
    const c = caller([{ base: "no_access", statements: allFlags.statements }]);
    expect(can(c, "updateOn", flag("a", "test", "f"))).toBe(true);
  });
});

describe("authorize", () => {
  test("passes when every action is allowed", () => {
    expect(() => authorize(caller([allFlags]), ["updateOn", "updateName"], flag("a", "test", "f"))).not.toThrow();
    expect(() => authorize(caller([allFlags]), "updateOn", flag("a", "test", "f"))).not.toThrow();
    expect(() => authorize(caller([allFlags]), [], flag("a", "test", "f"))).not.toThrow();
  });

  test("throws a 403 naming the first refused action and the resource", () => {
    const error = thrown(() => authorize(caller([onOff]), ["updateOn", "updateName", "deleteFlag"], flag("a", "test", "new-checkout")));
    expect(error.code).toBe("forbidden");
    expect(error.status).toBe(403);
    expect(error.message).toBe("Forbidden: this token may not updateName on proj/a:env/test:flag/new-checkout");
  });

  test("says session for a session caller", () => {
    const error = thrown(() => authorize(caller([projectA], { kind: "session", tokenId: null, tokenName: null }), "updateOn", flag("b", "test", "f")));
    expect(error.message).toBe("Forbidden: this session may not updateOn on proj/b:env/test:flag/f");
  });

  test("a grant that refuses refuses the whole caller", () => {
    const error = thrown(() => authorize(caller([allFlags, noProduction]), "updateOn", flag("a", "production", "f")));
    expect(error.code).toBe("forbidden");
  });
});

describe("authorizeRead and forbidden", () => {
  test("authorizeRead refuses a caller without read access with a 403", () => {
    expect(() => authorizeRead(caller([allFlags]))).not.toThrow();
    const error = thrown(() => authorizeRead(caller([{ base: "no_access", statements: [] }])));
    expect(error.code).toBe("forbidden");
    expect(error.message).toBe("Forbidden: this caller has no access");
  });

  test("forbidden carries a default message", () => {
    expect(forbidden()).toMatchObject({ code: "forbidden", status: 403, message: "Forbidden. Access to the requested resource was denied." });
    expect(forbidden("nope").message).toBe("nope");
  });
});

describe("specifierOf", () => {
  test("writes a concrete resource as a specifier, parent first", () => {
    expect(specifierOf(flag("default", "production", "new-checkout"))).toBe("proj/default:env/production:flag/new-checkout");
    expect(specifierOf([{ type: "member", key: "m1" }, { type: "token", key: "ci" }])).toBe("member/m1:token/ci");
  });

  test("a scope without a key is its type alone; tags and properties are left out", () => {
    expect(specifierOf([{ type: "acct" }])).toBe("acct");
    expect(specifierOf([{ type: "proj", key: "a", tags: ["mobile"], properties: { critical: true } }])).toBe("proj/a");
    expect(specifierOf([])).toBe("");
  });
});
