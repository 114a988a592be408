/**
 * Who the gateway is at an upstream's authorization server, in the MCP spec's
 * order of preference (2025-11-25, Authorization: "Client Registration
 * Approaches"): the client the operator pre-registered (`auth.clientId`, with
 * `auth.clientSecret` naming a Worker secret), else a Client ID Metadata
 * Document the gateway serves itself (when the server advertises
 * `client_id_metadata_document_supported` and PUBLIC_URL is https, which the
 * draft requires of a client id URL), else Dynamic Client Registration (RFC
 * 7591) through the upstream's RegistrationObject. The result is a Plan.
 */
import type { Upstream } from "../config/upstreams";
import { AuthorizationFailure, type Discovered } from "./discovery";
import type { RegistrationOutcome, RegistrationRequest } from "./messages";
import { CLIENT_METADATA_PATH, type Plan, redirectUriFor } from "./plan";

export interface IdentityOptions {
  publicUrl: string;
  /** Registers (or returns the registration of) the gateway at the server; RegistrationObject. */
  register(request: RegistrationRequest): Promise<RegistrationOutcome>;
}

export async function planFor(
  upstream: Upstream,
  discovered: Discovered,
  options: IdentityOptions,
): Promise<Plan> {
  const { server } = discovered;
  const redirectUri = redirectUriFor(options.publicUrl);
  const base = {
    upstream: upstream.name,
    issuer: discovered.issuer,
    authorizationEndpoint: server.authorization_endpoint,
    tokenEndpoint: server.token_endpoint,
    ...(server.revocation_endpoint ? { revocationEndpoint: server.revocation_endpoint } : {}),
    resource: discovered.resource,
    ...(discovered.scope ? { scope: discovered.scope } : {}),
    issResponse: server.authorization_response_iss_parameter_supported === true,
    redirectUri,
  };
  const auth = upstream.auth;
  if (new URL(options.publicUrl).protocol === "https:") requireHttps(discovered);
  if (auth?.clientId) {
    // The upstream names its authorization server: a pre-registered client goes only to its own.
    if (!sameIssuer(discovered.issuer, auth.issuer)) {
      throw new AuthorizationFailure(
        `its metadata names the authorization server ${discovered.issuer}, not ${auth.issuer ?? "(none configured)"}, where auth.clientId is registered`,
      );
    }
    const supported = server.token_endpoint_auth_methods_supported;
    const authMethod = !auth.clientSecret
      ? "none"
      : supported &&
          !supported.includes("client_secret_basic") &&
          supported.includes("client_secret_post")
        ? "client_secret_post"
        : "client_secret_basic";
    return {
      ...base,
      clientId: auth.clientId,
      ...(auth.clientSecret ? { secretName: auth.clientSecret } : {}),
      authMethod,
    };
  }
  if (
    server.client_id_metadata_document_supported === true &&
    new URL(options.publicUrl).protocol === "https:"
  ) {
    return {
      ...base,
      clientId: new URL(CLIENT_METADATA_PATH, options.publicUrl).toString(),
      authMethod: "none",
    };
  }
  if (!server.registration_endpoint) {
    throw new AuthorizationFailure(
      "its authorization server supports neither client ID metadata documents nor dynamic registration; configure auth.clientId",
    );
  }
  const registered = await options.register({
    upstream: upstream.name,
    issuer: discovered.issuer,
    registrationEndpoint: server.registration_endpoint,
    redirectUri,
    scope: discovered.scope,
    authMethodsSupported: server.token_endpoint_auth_methods_supported,
  });
  if (!registered.ok) throw new AuthorizationFailure(registered.reason);
  return {
    ...base,
    clientId: registered.clientId,
    ...(registered.clientSecret ? { registeredSecret: registered.clientSecret } : {}),
    authMethod: registered.authMethod,
  };
}

/** Issuers compare as strings (RFC 8414 section 3.3), a trailing slash aside. */
function sameIssuer(discovered: string, configured: string | undefined): boolean {
  const trim = (url: string) => (url.endsWith("/") ? url.slice(0, -1) : url);
  return configured !== undefined && trim(discovered) === trim(configured);
}

/**
 * A gateway served over https sends codes, tokens and client secrets only over
 * https: the authorization server's issuer and endpoints must use it.
 */
function requireHttps(discovered: Discovered): void {
  const { server } = discovered;
  const urls = [
    discovered.issuer,
    server.authorization_endpoint,
    server.token_endpoint,
    server.registration_endpoint,
    server.revocation_endpoint,
  ];
  const plain = urls.find((url) => url !== undefined && !url.startsWith("https://"));
  if (plain !== undefined) {
    throw new AuthorizationFailure(
      `its authorization server is not served over https (${new URL(plain).origin})`,
    );
  }
}
