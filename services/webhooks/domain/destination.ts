/**
 * Where a webhook may send: a destination must resolve to public unicast addresses. Loopback,
 * private (RFC 1918, unique local), link-local (and with it the cloud metadata address
 * 169.254.169.254), carrier-grade NAT, multicast, reserved and documentation ranges, and IPv6 forms
 * that embed an IPv4 address elsewhere (6to4, Teredo, NAT64) are refused, unless an operator's CIDR
 * (`VEXIL_WEBHOOK_ALLOWED_NETWORKS`) admits them. Checked when a webhook is made or its URL changed,
 * and again at every attempt, on the addresses the attempt then connects to (DNS rebinding).
 */
import ipaddr from "ipaddr.js";

export type Lookup = (hostname: string) => Promise<string[]>;

export interface Destination {
  /** The URL as configured. */
  url: URL;
  /** The address the attempt connects to: one that passed the check. */
  address: string;
}

export class DestinationRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DestinationRefused";
  }
}

type Network = [ipaddr.IPv4 | ipaddr.IPv6, number];

export function parseNetworks(cidrs: readonly string[]): Network[] {
  return cidrs.map((c) => ipaddr.parseCIDR(c));
}

/** A lookup that gives up after `ms` (a resolver that never answers cannot hold a request). */
export function lookupWithin(lookup: Lookup, ms: number): Lookup {
  return (hostname) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("lookup timed out")), ms);
    });
    return Promise.race([lookup(hostname), expired]).finally(() => clearTimeout(timer));
  };
}

/** `dns.lookup` with every address, in the resolver's order. */
export const systemLookup: Lookup = async (hostname) => {
  const { lookup } = await import("node:dns/promises");
  return (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);
};

/** Why an address may not be a destination, or undefined when it may. */
export function addressProblem(raw: string, allowed: readonly Network[]): string | undefined {
  let address: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    address = ipaddr.parse(raw);
  } catch {
    return `"${raw}" is not an IP address`;
  }
  // An IPv4 address written as IPv6 (::ffff:127.0.0.1) is that IPv4 address.
  if (address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress()) address = (address as ipaddr.IPv6).toIPv4Address();
  for (const [network, bits] of allowed) {
    if (network.kind() === address.kind() && address.match(network, bits)) return undefined;
  }
  const range = address.range();
  return range === "unicast" ? undefined : `${raw} is a ${range} address`;
}

const MAX_URL = 2048;

/** The URL's own checks, before any lookup: absolute http(s), no credentials, a host. */
export function parseDestinationUrl(raw: string): URL {
  if (raw.length > MAX_URL) throw new DestinationRefused(`url must be at most ${MAX_URL} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DestinationRefused("url must be an absolute http:// or https:// URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new DestinationRefused("url must be an http:// or https:// URL");
  if (url.username || url.password) throw new DestinationRefused("url must not carry credentials");
  if (!url.hostname) throw new DestinationRefused("url must name a host");
  return url;
}

/** The host as an address when it is one (`[::1]` → `::1`). */
function literalAddress(hostname: string): string | undefined {
  const bare = hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
  return ipaddr.isValid(bare) ? bare : undefined;
}

/**
 * Resolves the URL's host and picks an address to connect to. Addresses that fail the check are
 * skipped and never connected to, so a name that resolves to a public and a private address is sent
 * to the public one; a name with no acceptable address is refused, naming why.
 */
export async function resolveDestination(raw: string, allowed: readonly Network[], lookup: Lookup): Promise<Destination> {
  const url = parseDestinationUrl(raw);
  const literal = literalAddress(url.hostname);
  let addresses: string[];
  if (literal) addresses = [literal];
  else {
    try {
      addresses = await lookup(url.hostname);
    } catch {
      throw new DestinationRefused(`the host "${url.hostname}" cannot be resolved`);
    }
    if (addresses.length === 0) throw new DestinationRefused(`the host "${url.hostname}" cannot be resolved`);
  }
  const problems: string[] = [];
  for (const address of addresses) {
    const problem = addressProblem(address, allowed);
    if (!problem) return { url, address };
    problems.push(problem);
  }
  throw new DestinationRefused(`the destination "${url.hostname}" is not allowed: ${problems.join("; ")}`);
}
