/**
 * One principal's upstream authorizations, run inside its PrincipalObject (so
 * every session of the principal shares them, and refreshes are serialised):
 * flows in progress (create or reuse, start in a browser, complete at the
 * callback) and grants (hand out an access token, refreshed before expiry or
 * when the upstream refused it; list; revoke).
 *
 * Single use: a flow row is read and deleted in one step by the first callback
 * that names it, and only then checked (nonce, browser binder, expiry, `iss`),
 * so a state works once even when the checks fail. Waiting calls (other
 * sessions, or the call that sent the elicitation) are woken when a grant is
 * stored; each wait is bounded by its caller's timeout.
 */
import * as v from "valibot";
import { configuredUpstreams } from "../config/configuration";
import type { Upstream } from "../config/upstreams";
import { logEvent } from "../observability/log";
import type { PrincipalStorage } from "../storage/principal-storage";
import type { Fetcher } from "./bounded-fetch";
import { planFor } from "./client-identity";
import { AuthorizationFailure, discover, forgetDiscovery, resourceAllowed } from "./discovery";
import { GrantVault } from "./grant-vault";
import { GrantWaiters } from "./grant-waiters";
import type {
  AccessTokenOutcome,
  AuthorizationView,
  AuthorizeOutcome,
  CallbackOutcome,
  FlowView,
  GrantWait,
  RegistrationOutcome,
  RegistrationRequest,
  StartOutcome,
} from "./messages";
import {
  type FlowSecrets,
  FlowSecretsSchema,
  type Grant,
  OAUTH_START_PATH,
  type Plan,
  type TokenSet,
} from "./plan";
import { digest, randomToken, type Sealer, sameText } from "./sealing";
import { exchangeCode, refreshTokens, revokeTokens, TokenEndpointError } from "./token-endpoint";

/** How long a start link and the flow behind it live. */
export const OAUTH_FLOW_TTL_MS = 10 * 60_000;
/** Refresh this long before expiry (at most a quarter of the token's lifetime). */
export const REFRESH_MARGIN_MS = 60_000;
/** OAuth error codes after which a refresh token is dead: the grant is dropped. */
const DEAD_GRANT_ERRORS = new Set(["invalid_grant", "invalid_client", "unauthorized_client"]);

export interface KeeperOptions {
  storage: PrincipalStorage;
  sealer: Sealer;
  env: Env;
  /** Schedules the object's alarm no later than `at` (flow expiry). */
  scheduleAlarm(at: number): Promise<void>;
  register(request: RegistrationRequest): Promise<RegistrationOutcome>;
  fetcher?: Fetcher;
}

export class GrantKeeper {
  readonly #refreshing = new Map<string, Promise<AccessTokenOutcome>>();
  readonly #waiters = new GrantWaiters();
  readonly #vault: GrantVault;

  constructor(private readonly options: KeeperOptions) {
    this.#vault = new GrantVault(options.storage, options.sealer);
  }

  // --- tokens

  async accessToken(principal: string, name: string, stale?: string): Promise<AccessTokenOutcome> {
    const upstream = this.#upstream(name);
    const row = this.options.storage.grant(name);
    if (!upstream || !row) return { kind: "none" };
    const grant = await this.#vault.open(principal, name, row.sealed);
    if (!grant) {
      // Sealed under another key (UPSTREAM_TOKEN_KEY changed) or damaged: no grant at
      // all, or awaitGrant would answer "granted" at once and the principal could never
      // authorize again.
      this.#vault.drop(name, "unreadable");
      return { kind: "none" };
    }
    // Granted for the server the name pointed at then: once UPSTREAMS points it
    // elsewhere, the token must not travel there (RFC 8707, the token's audience).
    if (!resourceAllowed(upstream.url, grant.plan.resource)) {
      this.#vault.drop(name, "upstream_url_changed");
      return { kind: "none" };
    }
    const { tokens } = grant;
    const refused = stale !== undefined && stale === tokens.accessToken;
    const lifetime = (tokens.expiresAt ?? Number.POSITIVE_INFINITY) - row.updatedAt;
    const margin = Math.min(REFRESH_MARGIN_MS, lifetime / 4);
    const due = tokens.expiresAt !== undefined && tokens.expiresAt - margin <= Date.now();
    if (!refused && !due) return { kind: "token", token: tokens.accessToken };
    let pending = this.#refreshing.get(name);
    if (!pending) {
      pending = this.#refresh(principal, upstream, grant, row.sealed, refused).finally(() =>
        this.#refreshing.delete(name),
      );
      this.#refreshing.set(name, pending);
    }
    return pending;
  }

  /** `from`: the sealed grant as read before the refresh, which the refreshed one replaces. */
  async #refresh(
    principal: string,
    upstream: Upstream,
    grant: Grant,
    from: string,
    refused: boolean,
  ): Promise<AccessTokenOutcome> {
    const { tokens, plan } = grant;
    const expired = tokens.expiresAt !== undefined && tokens.expiresAt <= Date.now();
    if (!tokens.refreshToken) {
      if (!refused && !expired) return { kind: "token", token: tokens.accessToken };
      this.#vault.drop(upstream.name, "no_refresh_token");
      return { kind: "none" };
    }
    try {
      const next = await refreshTokens(
        plan,
        this.#client(plan),
        tokens.refreshToken,
        this.options.fetcher,
      );
      if (!(await this.#vault.save(principal, { ...grant, tokens: next }, from))) {
        // Revoked (or replaced) while the refresh was in flight: the user's word stands,
        // and the tokens the refresh minted are revoked too (best effort).
        logEvent("info", "upstream_refresh_discarded", { upstream: upstream.name });
        await revokeTokens(grant.plan, this.#client(grant.plan), next, this.options.fetcher);
        return { kind: "none" };
      }
      logEvent("info", "upstream_token_refreshed", { upstream: upstream.name, refused });
      return { kind: "token", token: next.accessToken };
    } catch (error) {
      const code = error instanceof TokenEndpointError ? error.code : "unavailable";
      if (DEAD_GRANT_ERRORS.has(code)) {
        this.#vault.drop(upstream.name, code);
        return { kind: "none" };
      }
      logEvent("warn", "upstream_token_refresh_failed", { upstream: upstream.name, code });
      if (!refused && !expired) return { kind: "token", token: tokens.accessToken };
      return {
        kind: "unavailable",
        reason: `its authorization server could not refresh the token (${code})`,
      };
    }
  }

  // --- flows

  /** A URL elicitation for `name`: the live unstarted flow, or a new one (discovery first). */
  async authorize(
    principal: string,
    name: string,
    challenge: string | null,
  ): Promise<AuthorizeOutcome> {
    const upstream = this.#upstream(name);
    if (!upstream) return { kind: "failed", reason: "is not configured for OAuth" };
    const now = Date.now();
    const publicUrl = this.options.env.PUBLIC_URL ?? "";
    let flow = this.options.storage.unstartedFlow(name, now);
    if (!flow) {
      let plan: Plan;
      try {
        const discovered = await discover(upstream, challenge, this.options.fetcher);
        plan = await planFor(upstream, discovered, { publicUrl, register: this.options.register });
      } catch (error) {
        forgetDiscovery(upstream);
        const reason = error instanceof AuthorizationFailure ? error.reason : "discovery failed";
        logEvent("warn", "upstream_authorization_unavailable", { upstream: name, reason });
        return { kind: "failed", reason };
      }
      const flowId = crypto.randomUUID();
      const secrets: FlowSecrets = { plan };
      flow = {
        flowId,
        upstream: name,
        createdAt: now,
        expiresAt: now + OAUTH_FLOW_TTL_MS,
        sealed: await this.options.sealer.seal(
          JSON.stringify(secrets),
          flowContext(principal, flowId),
        ),
        nonce: null,
        binderHash: null,
      };
      this.options.storage.insertFlow(flow, now);
      await this.options.scheduleAlarm(flow.expiresAt);
      logEvent("info", "upstream_authorization_started", { upstream: name });
    }
    const token = await this.options.sealer.sign({
      k: "start",
      p: principal,
      f: flow.flowId,
      e: flow.expiresAt,
    });
    const url = new URL(OAUTH_START_PATH, publicUrl);
    url.searchParams.set("flow", token);
    return {
      kind: "elicitation",
      elicitation: {
        mode: "url",
        elicitationId: flow.flowId,
        url: url.toString(),
        message: `Authorize the upstream server "${name}" for your account (you will sign in at its authorization server).`,
      },
    };
  }

  async describeFlow(principal: string, flowId: string): Promise<FlowView | null> {
    const flow = this.options.storage.flow(flowId);
    if (!flow || flow.expiresAt <= Date.now()) return null;
    const secrets = await this.#openFlow(principal, flowId, flow.sealed);
    if (!secrets) return null;
    return {
      upstream: flow.upstream,
      serverOrigin: new URL(secrets.plan.authorizationEndpoint).origin,
    };
  }

  /** The browser continues: PKCE, nonce and binder are (re)set and the authorization URL returned. */
  async startFlow(principal: string, flowId: string, binderHash: string): Promise<StartOutcome> {
    const flow = this.options.storage.flow(flowId);
    if (!flow || flow.expiresAt <= Date.now()) return { ok: false };
    const secrets = await this.#openFlow(principal, flowId, flow.sealed);
    if (!secrets) return { ok: false };
    const verifier = randomToken(32);
    const nonce = randomToken(16);
    const sealed = await this.options.sealer.seal(
      JSON.stringify({ ...secrets, verifier }),
      flowContext(principal, flowId),
    );
    this.options.storage.startFlow(flowId, sealed, nonce, binderHash);
    const state = await this.options.sealer.sign({
      k: "state",
      p: principal,
      f: flowId,
      n: nonce,
      e: flow.expiresAt,
    });
    const { plan } = secrets;
    const url = new URL(plan.authorizationEndpoint);
    const params = url.searchParams;
    params.set("response_type", "code");
    params.set("client_id", plan.clientId);
    params.set("redirect_uri", plan.redirectUri);
    // PKCE S256 (RFC 7636 section 4.2): base64url(SHA-256(verifier)).
    params.set("code_challenge", await digest(verifier));
    params.set("code_challenge_method", "S256");
    params.set("state", state);
    params.set("resource", plan.resource);
    if (plan.scope) params.set("scope", plan.scope);
    // OpenID Connect Core 11: offline access is granted only after a consent prompt.
    if (plan.scope?.split(" ").includes("offline_access")) params.set("prompt", "consent");
    return { ok: true, authorizationUrl: url.toString() };
  }

  /** The callback: consume the flow, check it, exchange the code, store the grant. */
  async completeFlow(
    principal: string,
    flowId: string,
    nonce: string,
    binderHash: string | null,
    response: { code: string; iss: string | null } | { error: string },
  ): Promise<CallbackOutcome> {
    const flow = this.options.storage.takeFlow(flowId);
    if (!flow) return refuse("unknown_or_used_state");
    if (flow.expiresAt <= Date.now()) return refuse("expired_state");
    if (!flow.nonce || !sameText(flow.nonce, nonce)) return refuse("unknown_or_used_state");
    if (!flow.binderHash || !binderHash || !sameText(flow.binderHash, binderHash)) {
      return refuse("other_browser");
    }
    const secrets = await this.#openFlow(principal, flowId, flow.sealed);
    if (!secrets?.verifier) return refuse("unknown_or_used_state");
    const { plan } = secrets;
    if ("error" in response) {
      this.#waiters.wake(flow.upstream, "declined");
      return refuse(response.error === "access_denied" ? "declined" : "server_error");
    }
    if (response.iss !== null ? response.iss !== plan.issuer : plan.issResponse) {
      return refuse("issuer_mismatch");
    }
    let tokens: TokenSet;
    try {
      tokens = await exchangeCode(
        plan,
        this.#client(plan),
        response.code,
        secrets.verifier,
        this.options.fetcher,
      );
    } catch (error) {
      return refuse(
        `code_refused:${error instanceof TokenEndpointError ? error.code : "unavailable"}`,
      );
    }
    await this.#vault.save(principal, { plan, tokens, grantedAt: Date.now() });
    this.options.storage.deleteFlowsOf(flow.upstream);
    logEvent("info", "upstream_authorized", { upstream: flow.upstream });
    this.#waiters.wake(flow.upstream, "granted");
    return { ok: true, upstream: flow.upstream };
  }

  /** Resolves when the principal holds a grant for `name`, the user declined, or `timeoutMs` passed. */
  awaitGrant(name: string, timeoutMs: number, waitId?: string): Promise<GrantWait> {
    if (this.options.storage.grant(name)) return Promise.resolve("granted");
    return this.#waiters.wait(name, timeoutMs, waitId);
  }

  /** The call behind `waitId` stopped waiting (cancelled, or its session ended). */
  cancelGrantWait(waitId: string): void {
    this.#waiters.cancel(waitId);
  }

  // --- listing and revoking

  async authorizations(principal: string): Promise<AuthorizationView[]> {
    const views: AuthorizationView[] = [];
    for (const row of this.options.storage.grants()) {
      const grant = await this.#vault.open(principal, row.upstream, row.sealed);
      if (!grant) continue;
      views.push({
        upstream: row.upstream,
        grantedAt: new Date(grant.grantedAt).toISOString(),
        accessTokenExpiresAt: grant.tokens.expiresAt
          ? new Date(grant.tokens.expiresAt).toISOString()
          : null,
        scope: grant.tokens.scope ?? grant.plan.scope ?? null,
        refreshable: grant.tokens.refreshToken !== undefined,
      });
    }
    return views;
  }

  /** Forgets the grant (revoking its tokens at the server when it can); false when none existed. */
  async revoke(principal: string, name: string): Promise<boolean> {
    const row = this.options.storage.grant(name);
    this.options.storage.deleteFlowsOf(name);
    if (!row) return false;
    const grant = await this.#vault.open(principal, name, row.sealed);
    this.options.storage.deleteGrant(name);
    if (grant) {
      await revokeTokens(grant.plan, this.#client(grant.plan), grant.tokens, this.options.fetcher);
    }
    logEvent("info", "upstream_authorization_revoked", { upstream: name });
    return true;
  }

  /** Deletes expired flows; returns when the alarm should fire next (or null). */
  purge(): number | null {
    return this.options.storage.purgeFlows(Date.now());
  }

  // ---------------------------------------------------------------------------

  #upstream(name: string): Upstream | null {
    const upstream = configuredUpstreams(this.options.env).find((u) => u.name === name);
    return upstream?.auth?.type === "oauth" ? upstream : null;
  }

  #client(plan: Plan): { secret: string | undefined } {
    if (plan.registeredSecret) return { secret: plan.registeredSecret };
    const named = plan.secretName
      ? (this.options.env as unknown as Record<string, unknown>)[plan.secretName]
      : undefined;
    return { secret: typeof named === "string" ? named : undefined };
  }

  async #openFlow(principal: string, flowId: string, sealed: string): Promise<FlowSecrets | null> {
    const parsed = v.safeParse(
      FlowSecretsSchema,
      await this.options.sealer.unsealJson(sealed, flowContext(principal, flowId)),
    );
    return parsed.success ? parsed.output : null;
  }
}

function refuse(reason: string): CallbackOutcome {
  logEvent("warn", "oauth_callback_refused", { reason });
  return { ok: false, reason };
}

function flowContext(principal: string, flowId: string): string {
  return `flow\u0000${principal}\u0000${flowId}`;
}

export { digest };
