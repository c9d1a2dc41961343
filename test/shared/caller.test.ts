import { describe, expect, test } from "bun:test";
import { CALLER_HEADER, callerOf, encodeCaller, type Caller } from "@vexil/shared/caller";

const request = (value?: string) => new Request("http://vexil.internal/x", { headers: value === undefined ? {} : { [CALLER_HEADER]: value } });
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("caller header", () => {
  test("the header name", () => {
    expect(CALLER_HEADER).toBe("x-vexil-caller");
  });

  test.each<Caller>([
    { tokenId: "t1", tokenName: "ci", memberId: "m1", role: "admin", serviceToken: false },
    { tokenId: "t2", tokenName: "ünïcode ✓ name", memberId: null, role: "reader", serviceToken: true },
  ])("round-trips %j", (caller) => {
    const encoded = encodeCaller(caller);
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(callerOf(request(encoded))).toEqual(caller);
  });

  test("missing optional fields get defaults", () => {
    expect(callerOf(request(b64({ tokenId: "t", role: "writer" })))).toEqual({ tokenId: "t", tokenName: "", memberId: null, role: "writer", serviceToken: false });
  });

  test.each([
    ["absent", undefined],
    ["empty", ""],
    ["not base64 JSON", "!!!"],
    ["without tokenId", b64({ role: "admin" })],
    ["with a numeric tokenId", b64({ tokenId: 1, role: "admin" })],
    ["without role", b64({ tokenId: "t" })],
    ["null", b64(null)],
  ])("a header that is %s gives no caller", (_, value) => {
    expect(callerOf(request(value))).toBeUndefined();
  });
});
