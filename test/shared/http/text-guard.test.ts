/** Text Postgres cannot store is refused at the edge of every service, naming where it was. */
import { describe, expect, test } from "bun:test";
import { Elysia, t } from "elysia";
import { errorsPlugin } from "@vexil/shared/http/errors-plugin";
import { findUnstorableText, textGuard } from "@vexil/shared/http/text-guard";
import { silentLogger } from "@vexil/shared/logger";

describe("text guard", () => {
  test("finds NUL and unpaired surrogates, and only those", () => {
    expect(findUnstorableText({ a: ["ok", "emoji 💥", "é"] }, "body")).toBeUndefined();
    expect(findUnstorableText({ a: ["ok", "x\u0000"] }, "body")).toBe("body.a[1]");
    expect(findUnstorableText({ nested: { deep: "\ud800" } }, "body")).toBe("body.nested.deep");
    expect(findUnstorableText("\udc00 trailing", "query")).toBe("query");
    expect(findUnstorableText({ "k\u0000": 1 }, "body")).toBe("body (a key)");
  });

  test("an app answers 400 naming the place, and the handler never runs", async () => {
    let ran = 0;
    const app = new Elysia({ normalize: false })
      .use(errorsPlugin(silentLogger))
      .use(textGuard())
      .post("/x/:id", () => (ran++, { ok: true }), { body: t.Unknown() });
    const send = (path: string, body: unknown) => app.handle(new Request(`http://localhost${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }));
    for (const [path, body, where] of [
      ["/x/1", { name: "a\u0000b" }, "body.name"],
      ["/x/1?q=%00", {}, "query.q"],
      ["/x/%00", {}, "path.id"],
      ["/x/1", ["\ud83d"], "body[0]"],
    ] as const) {
      const res = await send(path, body);
      expect(res.status).toBe(400);
      const json = (await res.json()) as { code: string; message: string };
      expect(json.code).toBe("invalid_request");
      expect(json.message).toContain(where);
    }
    expect(ran).toBe(0);
    expect((await send("/x/1", { name: "fine 💥" })).status).toBe(200);
  });
});
