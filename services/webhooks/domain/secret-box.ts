/**
 * Secrets that must be used again (a webhook's signing secret) are kept encrypted: AES-256-GCM
 * (WebCrypto), with a key derived by HKDF-SHA256 from the configured key material
 * (`VEXIL_SECRETS_KEY`, else `VEXIL_INTERNAL_KEY`), a random 96-bit nonce per encryption, and the
 * owning record's id as additional data, so a ciphertext moved to another row does not decrypt.
 * Stored as `v1.<base64url nonce‖ciphertext‖tag>`.
 */
export interface SecretBox {
  seal(plain: string, owner: string): Promise<string>;
  open(sealed: string, owner: string): Promise<string>;
}

const encoder = new TextEncoder();

export async function createSecretBox(material: string | Uint8Array): Promise<SecretBox> {
  const raw = new Uint8Array(typeof material === "string" ? encoder.encode(material) : material);
  const base = await crypto.subtle.importKey("raw", raw, "HKDF", false, ["deriveKey"]);
  const key = await crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: encoder.encode("vexil-secret-box"), info: encoder.encode("webhook-secrets/v1") },
    base,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
  return {
    async seal(plain, owner) {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: encoder.encode(owner) }, key, encoder.encode(plain)));
      const out = new Uint8Array(iv.length + sealed.length);
      out.set(iv);
      out.set(sealed, iv.length);
      return `v1.${Buffer.from(out).toString("base64url")}`;
    },
    async open(sealed, owner) {
      if (!sealed.startsWith("v1.")) throw new Error("unknown secret format");
      const bytes = Buffer.from(sealed.slice(3), "base64url");
      const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: bytes.subarray(0, 12), additionalData: encoder.encode(owner) }, key, bytes.subarray(12));
      return new TextDecoder().decode(plain);
    },
  };
}
