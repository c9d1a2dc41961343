/** Identifiers: 24-hex ObjectId-style ids for resources (as the LaunchDarkly API shows them), UUIDs for requests. */
export function resourceId(): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  // The first four bytes carry the creation second, so ids sort roughly by age.
  const seconds = Math.floor(Date.now() / 1000);
  new DataView(bytes.buffer).setUint32(0, seconds);
  return Buffer.from(bytes).toString("hex");
}

export function requestId(): string {
  return crypto.randomUUID();
}

const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

/** Keeps a caller-supplied request id only when it is short and plain. */
export function acceptRequestId(value: string | null): string {
  return value && REQUEST_ID.test(value) ? value : requestId();
}

let lastMs = 0;
let counter = 0;

/**
 * A 24-hex id that sorts by creation time, to the millisecond and, within one process, in the
 * order of creation: 48 bits of unix ms, a 16-bit counter, 32 random bits.
 */
export function sortableId(now = Date.now()): string {
  if (now === lastMs) counter = (counter + 1) & 0xffff;
  else {
    lastMs = now;
    counter = 0;
  }
  const random = crypto.getRandomValues(new Uint32Array(1))[0]!;
  return now.toString(16).padStart(12, "0").slice(-12) + counter.toString(16).padStart(4, "0") + random.toString(16).padStart(8, "0");
}
