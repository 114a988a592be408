/**
 * The middleware every request passes, in order: Host/Origin (DNS rebinding,
 * before any other validation; the conformance suite checks it), CORS for
 * allowed origins only, then authentication (which also refuses service while
 * the configuration is invalid). /healthz and the protected-resource metadata
 * stay open and reveal nothing about sessions.
 */
import type { MiddlewareHandler } from "hono";
import { authenticate } from "../auth/authenticate";
import { PROTECTED_RESOURCE_PATH } from "../auth/oauth";
import { checkConfiguration } from "../config/configuration";
import type { AppEnv } from "./app-env";
import { checkOrigin, corsHeaders, originPolicyFrom } from "./origin-policy";

export const originGate: MiddlewareHandler<AppEnv> = async (c, next) => {
  const verdict = checkOrigin(c.req.raw, originPolicyFrom(c.env));
  if (!verdict.ok) return c.text(`Forbidden: ${verdict.reason}\n`, 403);
  c.set("corsOrigin", verdict.corsOrigin);
  c.set("loopback", verdict.loopback);
  if (c.req.method === "OPTIONS") {
    return new Response(null, {
      status: 204,
      headers: verdict.corsOrigin
        ? corsHeaders(verdict.corsOrigin, c.req.header("Access-Control-Request-Headers"))
        : {},
    });
  }
  await next();
  if (verdict.corsOrigin && c.res.status !== 101) {
    // Responses from a Durable Object stub have immutable headers: copy before adding CORS.
    const response = new Response(c.res.body, c.res);
    for (const [name, value] of Object.entries(corsHeaders(verdict.corsOrigin))) {
      response.headers.set(name, value);
    }
    c.res = response;
  }
};

export const authGate: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.path === "/healthz" || c.req.path.startsWith(PROTECTED_RESOURCE_PATH)) return next();
  const outcome = await authenticate(c.req.raw, c.env, c.get("loopback"));
  if (!outcome.ok) return outcome.response;
  c.set("principal", outcome.principal);
  c.set("authenticated", outcome.authenticated);
  // A bad TOOLSETS/UPSTREAMS/ACCESS_POLICY refuses service loudly (503 via onError), not at the first call.
  checkConfiguration(c.env);
  return next();
};
