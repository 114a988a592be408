/**
 * Serves the browser inspector at `GET /` and `GET /inspector`: one HTML
 * response with its script and styles inline, built by inspector/build.ts.
 * Mounted on the main router after the Host/Origin middleware, so a
 * rebinding attacker's Host gets 403 here as everywhere else.
 *
 * The page is public: it holds no secrets and asks the gateway for nothing
 * until the person connects (with a token, when auth is on). Its CSP allows
 * only the hashed inline script and style, data: images and audio, and
 * connections to this origin.
 */
import { Hono } from "hono";
import { PAGE_CSP, PAGE_ETAG, PAGE_HTML } from "./dist/page.js";

export const INSPECTOR_PATHS = ["/", "/inspector"] as const;

const HEADERS = {
  "Content-Type": "text/html; charset=utf-8",
  "Content-Security-Policy": PAGE_CSP,
  // Revalidate every time: a redeploy must never leave an old page talking to a new gateway.
  "Cache-Control": "no-cache",
  ETag: PAGE_ETAG,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
};

export function servePage(request: Request): Response {
  const etags = request.headers.get("If-None-Match");
  if (etags?.split(",").some((tag) => tag.trim() === PAGE_ETAG)) {
    return new Response(null, { status: 304, headers: HEADERS });
  }
  return new Response(PAGE_HTML, { headers: HEADERS });
}

/** Mount with `app.route("/", inspector)` after the Host/Origin middleware. */
export const inspector = new Hono();
for (const path of INSPECTOR_PATHS) inspector.get(path, (c) => servePage(c.req.raw));
