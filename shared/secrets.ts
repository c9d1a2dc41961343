/**
 * Credentials: `<prefix>-<selector>_<secret><checksum>`.
 * - prefix `api` (access tokens), `sdk` (SDK keys), `mob` (mobile keys), as LaunchDarkly's;
 * - selector: 12 base62 characters, not secret, the lookup key in storage;
 * - secret: 22 base62 characters (131 bits from the CSPRNG);
 * - checksum: 6 base62 characters of CRC-32 over the rest, so scanners and the cheap
 *   format check recognise a real credential without any lookup.
 * Storage keeps the selector, a SHA-256 verifier of the whole credential and its last four characters.
 */
import { timingSafeEqual } from "node:crypto";

export type CredentialKind = "api" | "sdk" | "mob";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const FORMAT = /^(api|sdk|mob)-([0-9A-Za-z]{12})_([0-9A-Za-z]{22})([0-9A-Za-z]{6})$/;
/** The shape of a generated credential, checksum not checked. */
export const CREDENTIAL_SHAPE = /^(api|sdk|mob)-[0-9A-Za-z]{12}_[0-9A-Za-z]{28}$/;

function randomBase62(length: number): string {
  let out = "";
  const bytes = new Uint8Array(length * 2);
  while (out.length < length) {
    crypto.getRandomValues(bytes);
    for (const b of bytes) {
      // 248 = 4 * 62: rejecting larger bytes keeps every character equally likely.
      if (b < 248 && out.length < length) out += ALPHABET[b % 62];
    }
  }
  return out;
}

function checksum(body: string): string {
  let n = Bun.hash.crc32(body);
  let out = "";
  for (let i = 0; i < 6; i++) {
    out = ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

export interface IssuedCredential {
  /** The full secret: shown once, never stored. */
  value: string;
  selector: string;
  verifier: string;
  last4: string;
}

export function issueCredential(kind: CredentialKind): IssuedCredential {
  const body = `${kind}-${randomBase62(12)}_${randomBase62(22)}`;
  const value = body + checksum(body);
  return { value, selector: value.slice(4, 16), verifier: verifierOf(value), last4: value.slice(-4) };
}

export interface ParsedCredential {
  kind: CredentialKind;
  selector: string;
}

/** The cheap format check: shape and checksum, no I/O. */
export function parseCredential(value: string): ParsedCredential | undefined {
  const m = FORMAT.exec(value);
  if (!m) return undefined;
  if (checksum(value.slice(0, -6)) !== m[4]) return undefined;
  return { kind: m[1] as CredentialKind, selector: m[2]! };
}

/**
 * The lookup key of a token given in a free form (the bootstrap token from `VEXIL_ADMIN_TOKEN`):
 * a prefix of its verifier, which reveals nothing usable about the token.
 */
export function freeformSelector(value: string): string {
  return `h:${verifierOf(value).slice(0, 16)}`;
}

export function verifierOf(value: string): string {
  return new Bun.CryptoHasher("sha256").update(value).digest("hex");
}

/** Constant-time comparison of a presented credential with a stored verifier. */
export function matchesVerifier(value: string, verifier: string): boolean {
  const a = Buffer.from(verifierOf(value), "hex");
  const b = Buffer.from(verifier, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}

/** What an API shows of a credential after its creation response. */
export function maskCredential(kind: CredentialKind, last4: string): string {
  return `${kind}-****${last4}`;
}
