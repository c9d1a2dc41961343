/**
 * The caller's address, for counting failed authentications: the peer's own address, or, when the
 * peer is a configured trusted proxy, the nearest address in `X-Forwarded-For` that is not one of
 * the trusted proxies (Express's `trust proxy` rule, from `proxy-addr`). A header sent by anyone
 * else is ignored, so a caller cannot choose the address it is counted under.
 */
import proxyaddr from "proxy-addr";

export type ClientAddressOf = (peer: string | undefined, forwardedFor: string | null) => string;

export function clientAddressOf(trustedProxies: readonly string[]): ClientAddressOf {
  if (trustedProxies.length === 0) return (peer) => peer ?? "unknown";
  const trust = proxyaddr.compile([...trustedProxies]);
  return (peer, forwardedFor) => {
    if (!peer) return "unknown";
    const request = { headers: { "x-forwarded-for": forwardedFor ?? undefined }, connection: { remoteAddress: peer } };
    return proxyaddr(request as unknown as Parameters<typeof proxyaddr>[0], trust);
  };
}

