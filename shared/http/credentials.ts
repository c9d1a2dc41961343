/** The credential of a request: `Authorization: <credential>`, or with a `Bearer` or `api_key` prefix. */
export function presentedCredential(request: Request): string | undefined {
  const header = request.headers.get("authorization");
  if (!header) return undefined;
  const value = header.replace(/^(?:bearer|api_key)(?:\s+|$)/i, "").trim();
  return value === "" ? undefined : value;
}
