/**
 * One object per OAuth upstream (idFromName(upstream name)) holding the
 * gateway's Dynamic Client Registration (RFC 7591) at that upstream's
 * authorization server, so every principal's flow uses the one client the
 * gateway registered rather than each registering its own. The object
 * serialises registrations (one in flight at a time) and registers again when
 * the issuer or the redirect URI changed.
 *
 * Storage: one key, "registration": the registration sealed under
 * UPSTREAM_TOKEN_KEY (the client secret, when one is issued, is a credential).
 */
import { DurableObject } from "cloudflare:workers";
import * as v from "valibot";
import { logEvent } from "../observability/log";
import { boundedFetch } from "./bounded-fetch";
import type { RegistrationOutcome, RegistrationRequest } from "./messages";
import { AUTH_METHODS } from "./plan";
import { Sealer } from "./sealing";

const StoredSchema = v.object({
  issuer: v.string(),
  redirectUri: v.string(),
  clientId: v.string(),
  clientSecret: v.optional(v.string()),
  authMethod: v.picklist(AUTH_METHODS),
});
type Stored = v.InferOutput<typeof StoredSchema>;

const ResponseSchema = v.looseObject({
  client_id: v.pipe(v.string(), v.minLength(1), v.maxLength(512)),
  client_secret: v.optional(v.string()),
  token_endpoint_auth_method: v.optional(v.string()),
});

export class RegistrationObject extends DurableObject<Env> {
  #inflight: Promise<RegistrationOutcome> | null = null;

  async register(request: RegistrationRequest): Promise<RegistrationOutcome> {
    this.#inflight ??= this.#register(request).finally(() => {
      this.#inflight = null;
    });
    return this.#inflight;
  }

  async #register(request: RegistrationRequest): Promise<RegistrationOutcome> {
    const sealer = new Sealer(this.env.UPSTREAM_TOKEN_KEY ?? "");
    const context = `registration\u0000${request.upstream}`;
    const sealed = await this.ctx.storage.get<string>("registration");
    if (sealed) {
      const stored = v.safeParse(StoredSchema, parse(await sealer.unseal(sealed, context)));
      if (
        stored.success &&
        stored.output.issuer === request.issuer &&
        stored.output.redirectUri === request.redirectUri
      ) {
        return { ok: true, ...withoutKeys(stored.output) };
      }
    }
    const confidential = request.authMethodsSupported?.includes("client_secret_basic") ?? true;
    const metadata = {
      client_name: "Dormouse MCP gateway",
      redirect_uris: [request.redirectUri],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: confidential ? "client_secret_basic" : "none",
      ...(request.scope ? { scope: request.scope } : {}),
    };
    let response: { status: number; ok: boolean; text: string };
    try {
      response = await boundedFetch(request.registrationEndpoint, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(metadata),
      });
    } catch {
      return {
        ok: false,
        reason: "its authorization server's registration endpoint is unreachable",
      };
    }
    const parsed = v.safeParse(ResponseSchema, parse(response.text));
    if (!response.ok || !parsed.success) {
      logEvent("warn", "oauth_registration_failed", {
        upstream: request.upstream,
        status: response.status,
      });
      return {
        ok: false,
        reason: `its authorization server refused dynamic registration (HTTP ${response.status})`,
      };
    }
    const method = parsed.output.token_endpoint_auth_method ?? metadata.token_endpoint_auth_method;
    const stored: Stored = {
      issuer: request.issuer,
      redirectUri: request.redirectUri,
      clientId: parsed.output.client_id,
      ...(parsed.output.client_secret ? { clientSecret: parsed.output.client_secret } : {}),
      authMethod: (AUTH_METHODS as readonly string[]).includes(method)
        ? (method as Stored["authMethod"])
        : "client_secret_basic",
    };
    await this.ctx.storage.put("registration", await sealer.seal(JSON.stringify(stored), context));
    logEvent("info", "oauth_client_registered", { upstream: request.upstream });
    return { ok: true, ...withoutKeys(stored) };
  }
}

function withoutKeys(stored: Stored) {
  return {
    clientId: stored.clientId,
    ...(stored.clientSecret ? { clientSecret: stored.clientSecret } : {}),
    authMethod: stored.authMethod,
  };
}

function parse(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
