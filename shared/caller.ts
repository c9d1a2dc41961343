/**
 * The verified caller, as the gateway hands it to the services in `x-vexil-caller`
 * (the gateway drops any such header a client sends).
 */
export interface Caller {
  tokenId: string;
  tokenName: string;
  memberId: string | null;
  role: string;
  serviceToken: boolean;
}

export const CALLER_HEADER = "x-vexil-caller";

export function encodeCaller(caller: Caller): string {
  return Buffer.from(JSON.stringify(caller)).toString("base64url");
}

export function callerOf(request: Request): Caller | undefined {
  const raw = request.headers.get(CALLER_HEADER);
  if (!raw) return undefined;
  try {
    const c = JSON.parse(Buffer.from(raw, "base64url").toString()) as Partial<Caller>;
    if (typeof c.tokenId !== "string" || typeof c.role !== "string") return undefined;
    return { tokenId: c.tokenId, tokenName: String(c.tokenName ?? ""), memberId: c.memberId ?? null, role: c.role, serviceToken: Boolean(c.serviceToken) };
  } catch {
    return undefined;
  }
}
