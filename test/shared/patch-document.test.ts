/** A patched document checked against its resource's rules, above all fields a patch takes away. */
import { describe, expect, test } from "bun:test";
import { Type as T } from "@sinclair/typebox";
import { VexilError } from "@vexil/shared/errors";
import { applyPatch, checkPatchedDocument, parsePatchRequest, type DocumentRules } from "@vexil/shared/patch";

const rules: DocumentRules = {
  readOnly: ["_id"],
  editable: T.Object(
    {
      name: T.String({ minLength: 1 }),
      expiresAt: T.Union([T.Integer(), T.Null()]),
      role: T.Optional(T.String()),
      note: T.Optional(T.Union([T.String(), T.Null()])),
    },
    { additionalProperties: false },
  ),
};

const doc = { _id: "a", name: "n", expiresAt: 5, role: "writer", note: "x" };

/** The editable fields after `body` (a PATCH body as sent, with its content type) is applied to `doc`. */
const patched = (body: unknown, contentType = "application/json", original: Record<string, unknown> = doc) =>
  checkPatchedDocument(original, applyPatch(original, parsePatchRequest(body, contentType)), rules);

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof VexilError && e.code === "invalid_request") return e.message;
    throw e;
  }
  throw new Error("accepted");
}

describe("checkPatchedDocument", () => {
  test("a merge patch's null clears a field that may be null, in every merge form", () => {
    const cleared = { name: "n", expiresAt: null, role: "writer", note: "x" };
    expect(patched({ expiresAt: null }, "application/merge-patch+json")).toEqual(cleared);
    expect(patched({ merge: { expiresAt: null } })).toEqual(cleared);
    expect(patched({ comment: "no expiry", merge: { expiresAt: null } })).toEqual(cleared);
    expect(patched({ expiresAt: null })).toEqual(cleared);
  });

  test("a JSON Patch remove clears it the same way as a replace with null", () => {
    const cleared = { name: "n", expiresAt: null, role: "writer", note: "x" };
    expect(patched([{ op: "remove", path: "/expiresAt" }])).toEqual(cleared);
    expect(patched([{ op: "replace", path: "/expiresAt", value: null }])).toEqual(cleared);
  });

  test("a field that may be absent is left out, even where null is also allowed", () => {
    expect(patched({ role: null, note: null }, "application/merge-patch+json")).toEqual({ name: "n", expiresAt: 5 });
    expect(patched([{ op: "remove", path: "/note" }])).toEqual({ name: "n", expiresAt: 5, role: "writer" });
  });

  test("a field already null or missing stays null when the patch is about something else", () => {
    expect(patched({ name: "m" }, "application/merge-patch+json", { ...doc, expiresAt: null })).toEqual({ name: "m", expiresAt: null, role: "writer", note: "x" });
    expect(patched({ expiresAt: null }, "application/merge-patch+json", { _id: "a", name: "n" })).toEqual({ name: "n", expiresAt: null });
  });

  test("a required field that cannot be null is a 400 naming it, whether nulled by a merge patch or removed", () => {
    const message = 'Invalid name: it is required and cannot be removed or set to null';
    expect(refusal(() => patched({ name: null }, "application/merge-patch+json"))).toBe(message);
    expect(refusal(() => patched({ merge: { name: null } }))).toBe(message);
    expect(refusal(() => patched([{ op: "remove", path: "/name" }]))).toBe(message);
    expect(refusal(() => patched([{ op: "replace", path: "/name", value: null }]))).toBe("Invalid name: Expected string");
  });

  test("read-only and unknown fields are still refused when a merge patch nulls them", () => {
    expect(refusal(() => patched({ _id: null }, "application/merge-patch+json"))).toBe('"_id" is read-only and cannot be changed');
    expect(refusal(() => patched({ colour: "red", expiresAt: null }, "application/merge-patch+json"))).toBe('Unknown field "colour"');
    expect(refusal(() => patched({ expiresAt: "soon" }, "application/merge-patch+json"))).toStartWith("Invalid expiresAt");
  });
});
