import { describe, expect, test } from "bun:test";
import {
  CREDENTIAL_SHAPE,
  freeformSelector,
  issueCredential,
  maskCredential,
  matchesVerifier,
  parseCredential,
  verifierOf,
  type CredentialKind,
} from "@vexil/shared/secrets";
import { base62Checksum, buildCredential, crc32 } from "./credential-format.ts";

const kinds: CredentialKind[] = ["api", "sdk", "mob"];
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** `value` with the character at `index` replaced by another base62 character. */
function changeAt(value: string, index: number): string {
  const next = BASE62[(BASE62.indexOf(value[index]!) + 1) % 62]!;
  return value.slice(0, index) + next + value.slice(index + 1);
}

describe("issueCredential", () => {
  test.each(kinds)("a %s credential has the documented format", (kind) => {
    const c = issueCredential(kind);
    expect(c.value).toStartWith(`${kind}-`);
    expect(c.value).toMatch(CREDENTIAL_SHAPE);
    expect(c.value).toMatch(new RegExp(`^${kind}-[0-9A-Za-z]{12}_[0-9A-Za-z]{22}[0-9A-Za-z]{6}$`));
    expect(c.value).toHaveLength(4 + 12 + 1 + 22 + 6);
  });

  test.each(kinds)("selector, last4 and verifier of a %s credential agree with its value", (kind) => {
    const c = issueCredential(kind);
    expect(c.selector).toBe(c.value.slice(4, 16));
    expect(c.selector).toMatch(/^[0-9A-Za-z]{12}$/);
    expect(c.last4).toBe(c.value.slice(-4));
    expect(c.verifier).toBe(verifierOf(c.value));
    expect(c.verifier).toMatch(/^[0-9a-f]{64}$/);
    expect(c.verifier).not.toContain(c.value);
  });

  test("the verifier is the SHA-256 of the whole value", () => {
    const c = issueCredential("api");
    expect(c.verifier).toBe(new Bun.CryptoHasher("sha256").update(c.value).digest("hex"));
    expect(verifierOf("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  test("1000 issued values, selectors and verifiers are all different", () => {
    const issued = Array.from({ length: 1000 }, (_, i) => issueCredential(kinds[i % 3]!));
    expect(new Set(issued.map((c) => c.value)).size).toBe(1000);
    expect(new Set(issued.map((c) => c.selector)).size).toBe(1000);
    expect(new Set(issued.map((c) => c.verifier)).size).toBe(1000);
  });

  test("every base62 character shows up across issued secrets", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) for (const ch of issueCredential("api").value.slice(17, 39)) seen.add(ch);
    expect(seen.size).toBe(62);
  });
});

describe("parseCredential", () => {
  test.each(kinds)("accepts an issued %s credential and names its kind and selector", (kind) => {
    const c = issueCredential(kind);
    expect(parseCredential(c.value)).toEqual({ kind, selector: c.selector });
  });

  test("refuses every one-character change of a valid credential", () => {
    const c = issueCredential("api");
    // Every position after the "api-" prefix and apart from the "_" separator.
    for (let i = 4; i < c.value.length; i++) {
      if (i === 16) continue;
      const changed = changeAt(c.value, i);
      expect(changed).not.toBe(c.value);
      expect(changed).toMatch(CREDENTIAL_SHAPE);
      expect(parseCredential(changed)).toBeUndefined();
    }
  });

  test("refuses a changed prefix: the checksum covers the kind", () => {
    const c = issueCredential("sdk");
    expect(parseCredential(`mob${c.value.slice(3)}`)).toBeUndefined();
    expect(parseCredential(`api${c.value.slice(3)}`)).toBeUndefined();
  });

  test("refuses values of the wrong shape", () => {
    const c = issueCredential("api");
    for (const value of [
      "",
      "api-",
      c.value.slice(0, -1),
      `${c.value}x`,
      ` ${c.value}`,
      `${c.value}\n`,
      `key-${c.value.slice(4)}`,
      `API${c.value.slice(3)}`,
      c.value.replace("_", "-"),
      c.value.replace("-", "_"),
      "my-own-admin-token-123",
    ]) {
      expect(parseCredential(value)).toBeUndefined();
    }
  });
});

describe("verifiers", () => {
  test("matchesVerifier is true for the credential itself", () => {
    const c = issueCredential("mob");
    expect(matchesVerifier(c.value, c.verifier)).toBe(true);
    expect(matchesVerifier("free-form-token-value", verifierOf("free-form-token-value"))).toBe(true);
  });

  test("matchesVerifier is false for another credential, a change, or a malformed verifier", () => {
    const a = issueCredential("api");
    const b = issueCredential("api");
    expect(matchesVerifier(b.value, a.verifier)).toBe(false);
    expect(matchesVerifier(changeAt(a.value, 20), a.verifier)).toBe(false);
    expect(matchesVerifier(a.value, "")).toBe(false);
    expect(matchesVerifier(a.value, a.verifier.slice(0, 62))).toBe(false);
    expect(matchesVerifier(a.value, "zz".repeat(32))).toBe(false);
    expect(matchesVerifier(a.value, a.verifier + "00")).toBe(false);
  });
});

describe("freeformSelector", () => {
  test("is stable, prefixed and does not contain the token", () => {
    const token = "my-own-admin-token-123";
    const selector = freeformSelector(token);
    expect(freeformSelector(token)).toBe(selector);
    expect(selector).toMatch(/^h:[0-9a-f]{16}$/);
    expect(selector).toBe(`h:${verifierOf(token).slice(0, 16)}`);
    expect(selector).not.toContain(token);
    expect(selector).not.toContain("admin");
  });

  test("differs for different tokens and cannot collide with a generated selector", () => {
    expect(freeformSelector("my-own-admin-token-123")).not.toBe(freeformSelector("my-own-admin-token-124"));
    // Generated selectors are 12 base62 characters and never contain ":".
    expect(issueCredential("api").selector).not.toContain(":");
  });
});

describe("maskCredential", () => {
  test.each(kinds)("shows only the %s prefix and the last four characters", (kind) => {
    const c = issueCredential(kind);
    const masked = maskCredential(kind, c.last4);
    expect(masked).toBe(`${kind}-****${c.value.slice(-4)}`);
    expect(masked).not.toContain(c.selector);
  });
});

describe("the documented checksum", () => {
  test("CRC-32 reference vector", () => {
    expect(crc32("123456789")).toBe(0xcbf43926);
  });

  test.each(kinds)("a %s credential ends with six base62 digits of CRC-32 over the rest", (kind) => {
    for (let i = 0; i < 50; i++) {
      const { value } = issueCredential(kind);
      expect(value.slice(-6)).toBe(base62Checksum(value.slice(0, -6)));
    }
  });

  test("a credential built from chosen parts parses", () => {
    const value = buildCredential("mob", "AAAAAAAAAAAA", "0123456789abcdefABCDEF");
    expect(parseCredential(value)).toEqual({ kind: "mob", selector: "AAAAAAAAAAAA" });
  });
});
