/** Calls every documented webhooks operation, answers and refusals; a local receiver takes the deliveries. */
import { expect } from "bun:test";
import type { Client } from "../../support/client.ts";

async function until<T>(f: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error("timed out");
    await Bun.sleep(50);
  }
}

export async function exerciseWebhooks(api: Client): Promise<void> {
  const receiver = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("ok") });
  try {
    const url = `http://127.0.0.1:${receiver.port}/contract`;
    const created = await api.call("POST", "/api/v2/webhooks", { body: { name: "contract", url, sign: true, on: true, tags: ["contract"], statements: [{ effect: "allow", actions: ["*"], resources: ["proj/contract-webhooks"] }] } });
    expect(created.status).toBe(200);
    expect(created.body.secret).toMatch(/^whsec_/);
    const id = created.body._id as string;
    expect((await api.call("POST", "/api/v2/webhooks", { body: { url: "http://169.254.169.254/", sign: false, on: true } })).status).toBe(400);
    expect((await api.call("POST", "/api/v2/webhooks", { body: { url, on: true } })).status).toBe(400);

    const list = await api.call("GET", "/api/v2/webhooks");
    expect(list.status).toBe(200);
    expect(list.body.items.map((w: { _id: string }) => w._id)).toContain(id);
    expect((await api.call("GET", `/api/v2/webhooks/${id}`)).body.secret).toBeUndefined();
    expect((await api.call("GET", "/api/v2/webhooks/000000000000000000000000")).status).toBe(404);

    expect((await api.call("PATCH", `/api/v2/webhooks/${id}`, { body: [{ op: "replace", path: "/name", value: "contract 2" }] })).body.name).toBe("contract 2");
    expect((await api.call("PATCH", `/api/v2/webhooks/${id}`, { body: [{ op: "replace", path: "/url", value: "http://10.0.0.1/" }] })).status).toBe(400);
    expect((await api.call("PATCH", `/api/v2/webhooks/${id}`, { body: [{ op: "test", path: "/name", value: "other" }, { op: "replace", path: "/on", value: false }] })).status).toBe(409);
    expect((await api.call("PATCH", "/api/v2/webhooks/000000000000000000000000", { body: [] })).status).toBe(404);

    // A change the webhook receives, then its delivery in the log.
    expect((await api.call("POST", "/api/v2/projects", { body: { key: "contract-webhooks", name: "Contract webhooks" } })).status).toBe(201);
    const delivery = await until(async () => {
      const log = await api.call("GET", `/api/v2/webhooks/${id}/deliveries`);
      expect(log.status).toBe(200);
      const d = log.body.items.find((i: { status: string }) => i.status === "delivered");
      return d as { _id: string } | undefined;
    });
    expect((await api.call("GET", `/api/v2/webhooks/${id}/deliveries?limit=0`)).status).toBe(400);
    expect((await api.call("GET", "/api/v2/webhooks/000000000000000000000000/deliveries")).status).toBe(404);
    const one = await api.call("GET", `/api/v2/webhooks/${id}/deliveries/${delivery._id}`);
    expect(one.status).toBe(200);
    expect(one.body.attempts[0]).toMatchObject({ attempt: 1, statusCode: 200, response: "ok" });
    expect((await api.call("GET", `/api/v2/webhooks/${id}/deliveries/nope`)).status).toBe(404);
    const again = await api.call("POST", `/api/v2/webhooks/${id}/deliveries/${delivery._id}/redeliver`);
    expect(again.status).toBe(200);
    expect((await api.call("POST", `/api/v2/webhooks/${id}/deliveries/nope/redeliver`)).status).toBe(404);

    expect((await api.call("DELETE", `/api/v2/webhooks/${id}`)).status).toBe(204);
    expect((await api.call("DELETE", `/api/v2/webhooks/${id}`)).status).toBe(404);
  } finally {
    receiver.stop(true);
  }
}
