/**
 * The documented credential format, written out independently of `shared/secrets.ts`:
 * `<prefix>-<12 base62 selector>_<22 base62 secret><6 base62 digits of CRC-32 over the rest>`.
 * Tests use it to check the format and to build credentials with chosen parts.
 */
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 (IEEE 802.3, as zlib) of the UTF-8 bytes of `text`. */
export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (const byte of new TextEncoder().encode(text)) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Six base62 digits, most significant first. */
export function base62Checksum(body: string): string {
  let n = crc32(body);
  let out = "";
  for (let i = 0; i < 6; i++) {
    out = BASE62[n % 62]! + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/** A well-formed credential with a valid checksum from the given parts. */
export function buildCredential(kind: "api" | "sdk" | "mob", selector: string, secret: string): string {
  const body = `${kind}-${selector}_${secret}`;
  return body + base62Checksum(body);
}
