/**
 * `bun infra/launcher.ts --edge …` by hand: it prints one edge URL next to the gateways and the admin
 * token, that URL serves the REST API and the SDK endpoints, and Ctrl-C (SIGINT) stops everything it
 * started, HAProxy included.
 */
import { expect, test } from "bun:test";
import { ROOT } from "../support/process.ts";

test("the launcher with --edge prints the edge's URL, which serves REST and SDK paths, and stops it on SIGINT", async () => {
  const token = "launcher-edge-admin-token-0123456789";
  const proc = Bun.spawn(["bun", "infra/launcher.ts", "--edge", "--gateway", "2", "--auth", "1", "--flags", "2", "--streaming", "2"], {
    cwd: ROOT,
    env: { ...process.env, VEXIL_ADMIN_TOKEN: token },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  try {
    let printed = "";
    const reader = proc.stdout.getReader();
    while (!printed.includes("admin token:")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the launcher stopped: ${printed}\n${await new Response(proc.stderr).text()}`);
      printed += new TextDecoder().decode(value);
    }
    const lines = printed.trim().split("\n");
    const edgeLines = lines.filter((l) => l.startsWith("  edge: "));
    expect(edgeLines).toHaveLength(1);
    expect(edgeLines[0]).toMatch(/^ {2}edge: http:\/\/127\.0\.0\.1:\d+$/);
    expect(lines.filter((l) => /^ {2}gateway: http:\/\/127\.0\.0\.1:\d+$/.test(l))).toHaveLength(2);
    expect(lines.at(-1)).toBe("  admin token: (VEXIL_ADMIN_TOKEN)");
    const edge = edgeLines[0]!.slice("  edge: ".length);

    const projects = await fetch(`${edge}/api/v2/projects`, { headers: { authorization: token } });
    expect(projects.status).toBe(200);
    const created = await fetch(`${edge}/api/v2/projects`, { method: "POST", headers: { authorization: token, "content-type": "application/json" }, body: JSON.stringify({ key: "cli", name: "CLI" }) });
    expect(created.status).toBe(201);
    const sdkKey = ((await created.json()) as { environments: Array<{ apiKey: string }> }).environments[0]!.apiKey;
    const all = await fetch(`${edge}/sdk/latest-all`, { headers: { authorization: sdkKey } });
    expect(all.status).toBe(200);
    expect(await all.json()).toHaveProperty("flags");

    proc.kill("SIGINT");
    expect(await proc.exited).toBe(0);
    // Nothing listens on the edge's address any more.
    expect(await fetch(`${edge}/edge/healthz`).then(() => "answered", () => "refused")).toBe("refused");
  } finally {
    if (proc.exitCode === null) proc.kill("SIGKILL");
  }
}, 90_000);
