import { describe, expect, test } from "bun:test";
import { VexilError, conflict, errorBody, errorResponse, invalidRequest, notFound, unauthorized, type ErrorCode } from "@vexil/shared/errors";

describe("VexilError", () => {
  test.each([
    ["invalid_request", 400],
    ["unauthorized", 401],
    ["forbidden", 403],
    ["not_found", 404],
    ["method_not_allowed", 405],
    ["conflict", 409],
    ["optimistic_locking_error", 409],
    ["payload_too_large", 413],
    ["unsupported_media_type", 415],
    ["patch_failed", 422],
    ["rate_limited", 429],
    ["internal_error", 500],
    ["service_unavailable", 503],
    ["gateway_timeout", 504],
  ] as Array<[ErrorCode, number]>)("%s carries status %i", (code, status) => {
    const e = new VexilError(code, "m");
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("VexilError");
    expect(e.code).toBe(code);
    expect(e.status).toBe(status);
    expect(e.message).toBe("m");
  });

  test("an explicit status wins", () => {
    expect(new VexilError("conflict", "m", 412).status).toBe(412);
  });

  test("shorthands", () => {
    expect(invalidRequest("bad")).toMatchObject({ code: "invalid_request", status: 400, message: "bad" });
    expect(notFound("Project alpha")).toMatchObject({ code: "not_found", status: 404, message: "Project alpha not found" });
    expect(conflict("taken")).toMatchObject({ code: "conflict", status: 409, message: "taken" });
    expect(unauthorized()).toMatchObject({ code: "unauthorized", status: 401, message: "Invalid access token" });
    expect(unauthorized("Expired")).toMatchObject({ message: "Expired" });
  });
});

describe("errorResponse", () => {
  test("is JSON {code, message, id} with the id in x-request-id and extra headers", async () => {
    const response = errorResponse(503, "service_unavailable", "later", "req-00000001", { "retry-after": "1" });
    expect(response.status).toBe(503);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.headers.get("x-request-id")).toBe("req-00000001");
    expect(response.headers.get("retry-after")).toBe("1");
    expect(await response.json()).toEqual({ code: "service_unavailable", message: "later", id: "req-00000001" });
    expect(errorBody("a", "b", "c")).toEqual({ code: "a", message: "b", id: "c" });
  });
});
