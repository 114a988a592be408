/**
 * Per-principal OAuth for the upstreams of one Federation (upstream `auth:
 * { type: "oauth" }`). Before each request the principal's current access
 * token is looked up (UpstreamCredentials, bound to the principal); a 401
 * first refreshes it, and when no grant is left the principal is sent to
 * authorize with a URL-mode elicitation whose URL is the gateway's own start
 * endpoint:
 *
 * - session era, client declared `elicitation.url`: `elicitation/create`
 *   (mode url) on the call's stream; on accept the call waits (deadline paused,
 *   bounded) for the grant, sends `notifications/elicitation/complete` and a
 *   tools list change, and continues;
 * - session era without it: error -32042 with the elicitation in its data
 *   (the client retries when the user is done);
 * - 2026-07-28: an `input_required` result with the URL elicitation (its key
 *   AUTHORIZE_INPUT_KEY); the retry that accepts it waits for the grant; a
 *   client without `elicitation.url` gets -32021.
 *
 * Lists never wait: an upstream needing authorization is named, with its URL
 * elicitation, in `_meta["dormouse/authorizationRequired"]`, and a tool
 * `<prefix>__authorize` stands in for its tools until it is authorized.
 */
import {
  JsonRpcError,
  MISSING_CLIENT_CAPABILITY,
  notificationEnvelope,
  UPSTREAM_UNAVAILABLE,
  URL_ELICITATION_REQUIRED,
} from "../../shared/errors";
import { isRecord } from "../../shared/protocol";
import type { Upstream } from "../config/upstreams";
import { logEvent } from "../observability/log";
import { InputRequired, type ToolResult } from "../tools/types";
import type { UpstreamCredentials, UrlElicitation } from "./credentials";
import { wireError } from "./errors";
import { StopCall, UpstreamFailure, type UpstreamUnauthorized } from "./failures";
import type { RelayCall } from "./relay-call";

/** The tool that stands in for an unauthorized upstream's tools (`<prefix>__authorize`). */
export const AUTHORIZE_TOOL = "authorize";
/** The input key of the authorization elicitation in a 2026-07-28 `input_required` result. */
export const AUTHORIZE_INPUT_KEY = "upstream-authorize";

/** An upstream that needs the principal to authorize before it can be listed or called. */
export class NeedsAuthorization extends Error {
  constructor(readonly elicitation: UrlElicitation) {
    super("authorization required");
    this.name = "NeedsAuthorization";
  }
}

export function isOAuth(upstream: Upstream): boolean {
  return upstream.auth?.type === "oauth";
}

export class UpstreamAuthorization {
  /** The token each upstream's next request carries (looked up before every attempt). */
  readonly #tokens = new Map<string, string>();

  constructor(private readonly credentials: UpstreamCredentials) {}

  /** What UpstreamClient reads as it sends a request to `upstream`. */
  bearer(upstream: Upstream): () => string | undefined {
    return () => this.#tokens.get(upstream.name);
  }

  /** Looks up the principal's token for `upstream` (none: the request goes without, and 401s). */
  async prepare(upstream: Upstream): Promise<boolean> {
    const lookup = await this.credentials.accessToken(upstream);
    if (lookup.kind === "unavailable") {
      throw new UpstreamFailure("unavailable", `cannot be authorized now: ${lookup.reason}`);
    }
    if (lookup.kind === "token") this.#tokens.set(upstream.name, lookup.token);
    else this.#tokens.delete(upstream.name);
    return lookup.kind === "token";
  }

  /** After a 401: a refreshed token to retry with, or NeedsAuthorization / a failure. */
  async onUnauthorized(upstream: Upstream, error: UpstreamUnauthorized): Promise<void> {
    const sent = this.#tokens.get(upstream.name);
    this.#tokens.delete(upstream.name);
    if (sent) {
      const lookup = await this.credentials.accessToken(upstream, sent);
      if (lookup.kind === "token" && lookup.token !== sent) {
        this.#tokens.set(upstream.name, lookup.token);
        return;
      }
      if (lookup.kind === "unavailable") {
        throw new UpstreamFailure("unavailable", `cannot be authorized now: ${lookup.reason}`);
      }
    }
    throw await this.needsAuthorization(upstream, error.challenge);
  }

  /** The NeedsAuthorization to throw for `upstream` (a failure when it cannot be authorized). */
  async needsAuthorization(upstream: Upstream, challenge: string | null): Promise<Error> {
    const start = await this.credentials.authorize(upstream, challenge);
    if (start.kind === "failed") {
      return new UpstreamFailure("unavailable", `cannot be authorized: ${start.reason}`);
    }
    return new NeedsAuthorization(start.elicitation);
  }

  /**
   * Sends the client to authorize, as its era allows. Returns once the grant
   * exists (the caller retries); throws the error or StopCall the client gets otherwise.
   */
  async obtain(upstream: Upstream, elicitation: UrlElicitation, call: RelayCall): Promise<void> {
    const canOpenUrls = declaresUrlElicitation(call.clientCapabilities());
    if (call.era === "modern") {
      if (!canOpenUrls) {
        throw new JsonRpcError(
          MISSING_CLIENT_CAPABILITY,
          `Upstream "${upstream.name}" needs authorization through a URL elicitation, which the client did not declare`,
          { requiredCapabilities: { elicitation: { url: {} } } },
        );
      }
      const { elicitationId: _id, ...params } = elicitation;
      throw new StopCall(
        new InputRequired(
          { [AUTHORIZE_INPUT_KEY]: { method: "elicitation/create", params } },
          { upstream: upstream.name, answers: [] },
        ),
      );
    }
    if (!canOpenUrls) {
      throw new JsonRpcError(
        URL_ELICITATION_REQUIRED,
        `Upstream "${upstream.name}" needs authorization: open the URL, then retry`,
        { elicitations: [elicitation] },
      );
    }
    const reply = await this.#ask(elicitation, call);
    const action = "result" in reply && isRecord(reply.result) ? reply.result.action : undefined;
    if (action !== "accept")
      throw declined(upstream, "error" in reply ? "unanswered" : String(action));
    await this.#waitForGrant(upstream, call);
    call.send(
      notificationEnvelope("notifications/elicitation/complete", {
        elicitationId: elicitation.elicitationId,
      }),
    );
    // The upstream's tools can now be listed (the stand-in tool goes).
    call.send(notificationEnvelope("notifications/tools/list_changed"));
  }

  /**
   * Runs `attempt`; when the principal must authorize first, sends it to do so
   * and, once the grant exists, runs `attempt` again.
   */
  async around<T>(upstream: Upstream, call: RelayCall, attempt: () => Promise<T>): Promise<T> {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof NeedsAuthorization)) throw error;
      await this.obtain(upstream, error.elicitation, call);
      return attempt();
    }
  }

  /**
   * `<prefix>__authorize` while no grant exists: authorizes and says so; null
   * when a grant exists (the call goes to the upstream, which may have such a tool).
   */
  async authorizeOnly(
    upstream: Upstream,
    call: RelayCall,
  ): Promise<ToolResult | InputRequired | null> {
    if (await this.prepare(upstream)) return null;
    const done: ToolResult = {
      content: [{ type: "text", text: `Authorized "${upstream.name}".` }],
    };
    try {
      if (call.era === "modern" && call.inputResponses?.[AUTHORIZE_INPUT_KEY]) {
        await this.resume(upstream, call);
        return done;
      }
      const needed = await this.needsAuthorization(upstream, null);
      if (!(needed instanceof NeedsAuthorization)) throw needed;
      await this.obtain(upstream, needed.elicitation, call);
      return done;
    } catch (error) {
      if (error instanceof StopCall && error.value instanceof InputRequired) return error.value;
      if (call.signal.aborted) throw error;
      throw wireError(upstream, error);
    }
  }

  /** 2026-07-28 retry: an accepted authorization elicitation waits for the grant first. */
  async resume(upstream: Upstream, call: RelayCall): Promise<void> {
    const answer = call.inputResponses?.[AUTHORIZE_INPUT_KEY];
    if (!isRecord(answer)) return;
    if (answer.action !== "accept") throw declined(upstream, String(answer.action));
    await this.#waitForGrant(upstream, call);
  }

  #ask(elicitation: UrlElicitation, call: RelayCall) {
    return call.askClient("elicitation/create", { ...elicitation }, call.signal);
  }

  async #waitForGrant(upstream: Upstream, call: RelayCall): Promise<void> {
    call.deadline.pause();
    let outcome: Awaited<ReturnType<UpstreamCredentials["awaitGrant"]>>;
    try {
      outcome = await this.credentials.awaitGrant(upstream, call.signal);
    } finally {
      call.deadline.resume();
    }
    if (outcome === "granted") return;
    logEvent("info", "upstream_authorization_unfinished", { upstream: upstream.name, outcome });
    throw declined(upstream, outcome === "declined" ? "declined" : "not completed in time");
  }
}

/** `elicitation: { url: {} }` (MCP 2025-11-25: an empty elicitation object means form only). */
export function declaresUrlElicitation(capabilities: Record<string, unknown>): boolean {
  const elicitation = capabilities.elicitation;
  return isRecord(elicitation) && isRecord(elicitation.url);
}

function declined(upstream: Upstream, why: string): JsonRpcError {
  return new JsonRpcError(
    UPSTREAM_UNAVAILABLE,
    `Upstream "${upstream.name}" was not authorized (${why})`,
    {
      upstream: upstream.name,
      reason: "unauthorized",
    },
  );
}

/** The stand-in tool listed for an upstream that needs authorization. */
export function authorizeTool(upstream: Upstream, namespacedName: string): Record<string, unknown> {
  return {
    name: namespacedName,
    description: `Authorize the upstream server "${upstream.name}" for your account; its tools are listed once you have.`,
    inputSchema: { type: "object", properties: {} },
    annotations: { readOnlyHint: true },
  };
}
