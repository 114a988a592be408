/**
 * The small routes beside MCP: /healthz (public; says whether the
 * configuration is servable, never why), single-use WebSocket tickets, and
 * the OAuth protected-resource metadata (RFC 9728, public).
 */
import { TICKET_TTL_MS } from "../../shared/limits";
import { issueTicket } from "../auth/authenticate";
import { oauthConfigFrom, protectedResourceMetadata } from "../auth/oauth";
import { ConfigError } from "../config/config-error";
import { checkConfiguration } from "../config/configuration";
import { logEvent } from "../observability/log";
import { registryFor } from "../tools/registry";
import type { AppContext } from "./app-env";

export function health(c: AppContext): Response {
  try {
    const registry = registryFor(c.env.TOOLSETS);
    // Validated here, but not named: upstream names describe the operator's network.
    checkConfiguration(c.env);
    return c.json({
      status: "ok",
      service: "dormouse",
      toolsets: registry.toolsets.map((t) => t.name),
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    logEvent("error", "config_invalid", { error });
    // The reason goes to the operator's log only: /healthz is public.
    return c.json({ status: "misconfigured", service: "dormouse" }, 503);
  }
}

export async function tickets(c: AppContext): Promise<Response> {
  const ticket = await issueTicket(c.env, c.get("principal"), TICKET_TTL_MS);
  return c.json({ ticket, expiresInMs: TICKET_TTL_MS }, 201, { "Cache-Control": "no-store" });
}

export function protectedResource(c: AppContext): Response {
  const config = oauthConfigFrom(c.env);
  if (!config) return c.text("Not found: OAuth is not configured\n", 404);
  return c.json(protectedResourceMetadata(config, new URL(c.req.url).origin));
}
