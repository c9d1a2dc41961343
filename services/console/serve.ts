/**
 * Serves the built console: `/` and client routes answer `index.html` (never cached, with a strict
 * Content-Security-Policy: scripts, styles and calls from this origin only, nothing inline), and
 * `/assets/<name>-<hash>.<ext>` answer with a year-long immutable cache. A client route is a GET
 * or HEAD that accepts HTML outside the API, the SDK paths and the API's documentation.
 */
import { join, normalize } from "node:path";

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const IMMUTABLE = "public, max-age=31536000, immutable";
/** Paths that are never the console's, even for a browser asking for HTML. */
const NOT_CONSOLE = /^\/(api|docs|api-docs|healthz|readyz|all|bulk|diagnostic|sdk|msdk|eval|meval|ping|mping|events|mobile|ofrep)(\/|$)/;
const ASSET = /^\/assets\/[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

const pageHeaders = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-cache",
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
};

export type ConsoleHandler = (request: Request, pathname: string) => Promise<Response | undefined>;

/** Answers the console's requests from the build in `dir`; undefined for any other request. */
export function consoleHandler(dir: string): ConsoleHandler {
  return async (request, pathname) => {
    if (request.method !== "GET" && request.method !== "HEAD") return undefined;
    if (ASSET.test(pathname)) {
      const file = Bun.file(normalize(join(dir, pathname)));
      if (!(await file.exists())) return undefined;
      return new Response(request.method === "HEAD" ? null : file, {
        headers: { "content-type": file.type, "cache-control": IMMUTABLE, "x-content-type-options": "nosniff", "content-length": String(file.size) },
      });
    }
    if (NOT_CONSOLE.test(pathname) || pathname.startsWith("/assets/")) return undefined;
    if (pathname !== "/" && !(request.headers.get("accept") ?? "").includes("text/html")) return undefined;
    const index = Bun.file(join(dir, "index.html"));
    if (!(await index.exists())) return undefined;
    return new Response(request.method === "HEAD" ? null : index, { headers: pageHeaders });
  };
}
