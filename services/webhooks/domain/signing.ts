/**
 * The headers that let a receiver check a delivery:
 *
 * - `X-LD-Signature`: LaunchDarkly's, the lowercase hex HMAC-SHA256 of the raw body keyed with the
 *   secret's UTF-8 bytes (no prefix, no timestamp).
 * - Standard Webhooks (standardwebhooks.com): `webhook-id` (the delivery id, the same on every
 *   attempt), `webhook-timestamp` (the attempt's unix seconds) and `webhook-signature`
 *   (`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`), so receivers can check freshness and
 *   deduplicate. Its key is the secret's bytes: for a secret of the form `whsec_<base64>` (what the
 *   server generates) the decoded part, as the specification's libraries read it, else its UTF-8 bytes.
 *
 * A webhook without a secret sends the id and timestamp and no signature.
 */
const encoder = new TextEncoder();

function hmac(key: Uint8Array | string, data: string): Buffer {
  const hasher = new Bun.CryptoHasher("sha256", typeof key === "string" ? encoder.encode(key) : key);
  hasher.update(data);
  return hasher.digest() as Buffer;
}

/** LaunchDarkly's `X-LD-Signature` value. */
export function ldSignature(secret: string, body: string): string {
  return hmac(secret, body).toString("hex");
}

/** The Standard Webhooks key of a secret. */
export function standardKey(secret: string): Uint8Array {
  if (secret.startsWith("whsec_")) {
    const decoded = Buffer.from(secret.slice("whsec_".length), "base64");
    if (decoded.length > 0) return decoded;
  }
  return encoder.encode(secret);
}

/** The `webhook-signature` value. */
export function standardSignature(secret: string, id: string, timestampSeconds: number, body: string): string {
  return `v1,${hmac(standardKey(secret), `${id}.${timestampSeconds}.${body}`).toString("base64")}`;
}

/** A new secret: 32 random bytes in the Standard Webhooks form. */
export function generateSecret(): string {
  return `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64")}`;
}

export function deliveryHeaders(delivery: { id: string; body: string; secret: string | null; timestampSeconds: number }): Record<string, string> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "Vexil-Webhooks/1",
    "webhook-id": delivery.id,
    "webhook-timestamp": String(delivery.timestampSeconds),
  };
  if (delivery.secret !== null) {
    headers["x-ld-signature"] = ldSignature(delivery.secret, delivery.body);
    headers["webhook-signature"] = standardSignature(delivery.secret, delivery.id, delivery.timestampSeconds, delivery.body);
  }
  return headers;
}
