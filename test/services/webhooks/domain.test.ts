/** The webhooks service's pure parts: signatures, destinations, retry delays, the statement filter, the secret box. */
import { describe, expect, test } from "bun:test";
import { addressProblem, lookupWithin, parseNetworks, resolveDestination, DestinationRefused } from "@vexil/webhooks/domain/destination";
import { webhookReceives } from "@vexil/webhooks/domain/filter";
import { retryDelay } from "@vexil/webhooks/domain/retry";
import { createSecretBox } from "@vexil/webhooks/domain/secret-box";
import { deliveryHeaders, generateSecret, ldSignature, standardSignature } from "@vexil/webhooks/domain/signing";

describe("signatures", () => {
  test("X-LD-Signature: the published test vector", () => {
    expect(ldSignature("frobozz", '{"_id":"57c0a8e29969090743529965","kind":"flag"}')).toBe("c0ba5054649289f98a0cb97d45b28e355dce4bc681846ebe92a3e0a664f1aaf5");
  });

  test("webhook-signature: the Standard Webhooks example", () => {
    // From the specification's reference libraries.
    const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const body = '{"test": 2432232314}';
    expect(standardSignature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  test("a secret not in the whsec_ form is used as its UTF-8 bytes", () => {
    const headers = deliveryHeaders({ id: "d1", body: "{}", secret: "frobozz", timestampSeconds: 1 });
    const expected = new Bun.CryptoHasher("sha256", new TextEncoder().encode("frobozz")).update("d1.1.{}").digest("base64");
    expect(headers["webhook-signature"]).toBe(`v1,${expected}`);
    expect(headers["x-ld-signature"]).toBe(ldSignature("frobozz", "{}"));
  });

  test("unsigned: id and timestamp, no signature", () => {
    const headers = deliveryHeaders({ id: "d1", body: "{}", secret: null, timestampSeconds: 7 });
    expect(headers).toMatchObject({ "webhook-id": "d1", "webhook-timestamp": "7", "content-type": "application/json" });
    expect(headers["webhook-signature"]).toBeUndefined();
    expect(headers["x-ld-signature"]).toBeUndefined();
  });

  test("generated secrets are Standard Webhooks secrets of 32 random bytes", () => {
    const a = generateSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a.slice(6), "base64")).toHaveLength(32);
    expect(generateSecret()).not.toBe(a);
  });
});

describe("destinations", () => {
  const none = parseNetworks([]);
  test.each([
    ["127.0.0.1", "loopback"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "linkLocal"],
    ["100.100.100.200", "carrierGradeNat"],
    ["0.0.0.0", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["255.255.255.255", "broadcast"],
    ["::1", "loopback"],
    ["::", "unspecified"],
    ["fe80::1", "linkLocal"],
    ["fd00:ec2::254", "uniqueLocal"],
    ["::ffff:10.0.0.1", "private"],
    ["::ffff:127.0.0.1", "loopback"],
    ["64:ff9b::a00:1", "rfc6052"],
    ["2002:a00:1::", "6to4"],
  ])("%s is refused (%s)", (address, range) => {
    expect(addressProblem(address, none)).toBe(`${address} is a ${range} address`);
  });

  test.each(["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])("%s is public", (address) => {
    expect(addressProblem(address, none)).toBeUndefined();
  });

  test("allowed networks admit what they cover, and only that", () => {
    const allowed = parseNetworks(["127.0.0.0/8", "fd00::/8"]);
    expect(addressProblem("127.0.0.1", allowed)).toBeUndefined();
    expect(addressProblem("::ffff:127.0.0.2", allowed)).toBeUndefined();
    expect(addressProblem("fd12::1", allowed)).toBeUndefined();
    expect(addressProblem("10.0.0.1", allowed)).toBe("10.0.0.1 is a private address");
    expect(addressProblem("::1", allowed)).toBe("::1 is a loopback address");
  });

  const lookup = (table: Record<string, string[]>) => async (host: string) => {
    if (!(host in table)) throw new Error("ENOTFOUND");
    return table[host]!;
  };

  test("names are resolved and every address checked; a refused address is never chosen", async () => {
    const names = lookup({ "public.test": ["93.184.215.14"], "inside.test": ["10.0.0.1", "fd00::1"], "mixed.test": ["10.0.0.1", "93.184.215.14"] });
    expect((await resolveDestination("https://public.test/hook", none, names)).address).toBe("93.184.215.14");
    expect((await resolveDestination("https://mixed.test/hook", none, names)).address).toBe("93.184.215.14");
    await expect(resolveDestination("https://inside.test/hook", none, names)).rejects.toThrow('the destination "inside.test" is not allowed: 10.0.0.1 is a private address; fd00::1 is a uniqueLocal address');
    await expect(resolveDestination("https://nowhere.test/hook", none, names)).rejects.toThrow('the host "nowhere.test" cannot be resolved');
  });

  test("a resolver that never answers is given up on", async () => {
    const hanging = lookupWithin(() => new Promise<string[]>(() => {}), 50);
    await expect(resolveDestination("https://slow.test/hook", none, hanging)).rejects.toThrow('the host "slow.test" cannot be resolved');
  });

  test.each([
    ["http://127.0.0.1:8080/", "loopback"],
    ["http://[::1]/", "loopback"],
    ["http://169.254.169.254/latest/meta-data/", "linkLocal"],
    ["http://0x7f.1/", "loopback"],
    ["http://2130706433/", "loopback"],
    ["http://[::ffff:a00:1]/", "private"],
  ])("the literal %s is refused", async (url, range) => {
    await expect(resolveDestination(url, none, lookup({}))).rejects.toThrow(`${range} address`);
  });

  test.each(["ftp://example.com/", "file:///etc/passwd", "not a url", "https://user:pw@example.com/", "javascript:alert(1)"])("%s is not a destination", async (url) => {
    await expect(resolveDestination(url, none, lookup({ "example.com": ["93.184.215.14"] }))).rejects.toBeInstanceOf(DestinationRefused);
  });
});

describe("retry delays", () => {
  const policy = { baseMs: 1_000, maxMs: 60_000, maxAttempts: 10 };
  test("double per attempt, with half of each delay random, up to the maximum", () => {
    expect(retryDelay(policy, 1, 0)).toBe(500);
    expect(retryDelay(policy, 1, 0.999999)).toBe(1_000);
    expect(retryDelay(policy, 3, 0)).toBe(2_000);
    expect(retryDelay(policy, 3, 0.5)).toBe(3_000);
    expect(retryDelay(policy, 20, 0)).toBe(30_000);
    expect(retryDelay(policy, 20, 0.999999)).toBe(60_000);
    expect(retryDelay(policy, 1_000, 0.5)).toBe(45_000);
  });
});

describe("the statement filter", () => {
  const entry = (action: string, resource: string, tags: string[] = []) => ({ accesses: [{ action, resource }], current: { tags }, previous: null });

  test("no statements: everything", () => {
    expect(webhookReceives(null, entry("updateOn", "proj/p:env/production:flag/f"))).toBe(true);
    expect(webhookReceives([], entry("createRole", "role/r"))).toBe(true);
  });

  test("resources and actions, a deny wins, tags on the changed item", () => {
    const production = [{ effect: "allow" as const, actions: ["*"], resources: ["proj/*:env/production:flag/*"] }];
    expect(webhookReceives(production, entry("updateOn", "proj/p:env/production:flag/f"))).toBe(true);
    expect(webhookReceives(production, entry("updateOn", "proj/p:env/test:flag/f"))).toBe(false);
    expect(webhookReceives(production, entry("updateName", "proj/p:env/production"))).toBe(false);
    const denied = [...production, { effect: "deny" as const, actions: ["updateOn"], resources: ["proj/*:env/*:flag/secret-*"] }];
    expect(webhookReceives(denied, entry("updateOn", "proj/p:env/production:flag/secret-a"))).toBe(false);
    expect(webhookReceives(denied, entry("updateRules", "proj/p:env/production:flag/secret-a"))).toBe(true);
    const tagged = [{ effect: "allow" as const, actions: ["*"], resources: ["proj/*:env/*:flag/*;beta"] }];
    expect(webhookReceives(tagged, entry("updateOn", "proj/p:env/test:flag/f", ["beta"]))).toBe(true);
    expect(webhookReceives(tagged, entry("updateOn", "proj/p:env/test:flag/f", ["ga"]))).toBe(false);
  });

  test("an entry goes out when any of its accesses passes", () => {
    const onlyRules = [{ effect: "allow" as const, actions: ["updateRules"], resources: ["proj/*:env/*:flag/*"] }];
    const two = { accesses: [{ action: "updateOn", resource: "proj/p:env/test:flag/f" }, { action: "updateRules", resource: "proj/p:env/test:flag/f" }], current: null, previous: null };
    expect(webhookReceives(onlyRules, two)).toBe(true);
  });
});

describe("the secret box", () => {
  test("seals and opens, bound to its owner and key", async () => {
    const box = await createSecretBox("k".repeat(32));
    const sealed = await box.seal("frobozz", "owner-1");
    expect(sealed).toStartWith("v1.");
    expect(sealed).not.toContain("frobozz");
    expect(await box.seal("frobozz", "owner-1")).not.toBe(sealed);
    expect(await box.open(sealed, "owner-1")).toBe("frobozz");
    await expect(box.open(sealed, "owner-2")).rejects.toThrow();
    await expect((await createSecretBox("j".repeat(32))).open(sealed, "owner-1")).rejects.toThrow();
  });
});
