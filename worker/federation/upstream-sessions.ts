/**
 * The upstream sessions one gateway session holds: one UpstreamClient per
 * upstream, opened lazily (initialize with the client's relayable
 * capabilities, so the upstream offers the tools it would offer the client),
 * kept in the session's store so a woken object continues the same upstream
 * session, re-opened when a session-era client declares other capabilities,
 * and ended (DELETE) with the gateway session.
 */
import type { Upstream } from "../config/upstreams";
import { logEvent } from "../observability/log";
import { isOAuth, type UpstreamAuthorization } from "./authorization";
import { canonical, relayableCapabilities } from "./capabilities";
import { UpstreamClient } from "./client";
import type { RelayCall } from "./relay-call";
import type { UpstreamSessionState, UpstreamSessionStore } from "./store";

export interface UpstreamSessionsOptions {
  /** The Worker env: header values name secrets in it. */
  secrets: Record<string, unknown>;
  store: UpstreamSessionStore;
  /** The principal's OAuth tokens for OAuth upstreams (null without). */
  auth: UpstreamAuthorization | null;
  /** An upstream session was dropped: what was cached from it goes too. */
  onForget(name: string): void;
}

export class UpstreamSessions {
  readonly #clients = new Map<string, UpstreamClient>();
  readonly #connecting = new Map<string, Promise<UpstreamClient>>();

  constructor(private readonly options: UpstreamSessionsOptions) {}

  /**
   * The client of `upstream`'s session, opening one (once, however many ask at
   * once). The opening serves every caller waiting for it, so no one caller's
   * cancellation or deadline ends it for the others (the upstream's own limits
   * bound it); each caller stops waiting at its own signal.
   */
  async client(upstream: Upstream, call: RelayCall): Promise<UpstreamClient> {
    const existing = this.#clients.get(upstream.name);
    if (existing?.state) return existing;
    let pending = this.#connecting.get(upstream.name);
    if (!pending) {
      pending = this.#connect(upstream, call).finally(() => this.#connecting.delete(upstream.name));
      // Settled with nobody left waiting (every caller gave up): not an unhandled rejection.
      pending.catch(() => {});
      this.#connecting.set(upstream.name, pending);
    }
    return untilAborted(pending, call.signal);
  }

  /** The stored upstream session, or a new one (initialize) remembered in the store. */
  async #connect(upstream: Upstream, call: RelayCall): Promise<UpstreamClient> {
    let stored = this.options.store.loadUpstream(upstream.name);
    if (stored && !this.#fits(stored, call)) {
      // The client now declares other capabilities: end the old upstream session, open another.
      logEvent("info", "upstream_session_reopened", {
        sessionId: call.sessionId,
        upstream: upstream.name,
      });
      await this.#newClient(upstream, stored).terminate();
      this.forget(upstream.name);
      stored = null;
    }
    const client = this.#newClient(upstream, stored);
    if (!stored) {
      const state = await client.initialize(relayableCapabilities(call));
      this.options.store.saveUpstream(upstream.name, state);
      logEvent("info", "upstream_session_opened", {
        sessionId: call.sessionId,
        upstream: upstream.name,
        protocolVersion: state.protocolVersion,
      });
    }
    this.#clients.set(upstream.name, client);
    return client;
  }

  /**
   * Whether a stored upstream session suits this call: opened with the
   * capabilities a session-era client declares now (checked once per object
   * lifetime and after each initialize, not on every call). (A 2026-07-28 request on a session object
   * uses the session's upstream sessions as they are: its envelope may differ per
   * request, and re-opening on each would thrash.)
   */
  #fits(state: UpstreamSessionState, call: RelayCall): boolean {
    if (call.era !== "session") return true;
    return canonical(state.declared) === canonical(relayableCapabilities(call));
  }

  #newClient(upstream: Upstream, state: UpstreamSessionState | null): UpstreamClient {
    const headers: Record<string, string> = {};
    for (const [header, secret] of Object.entries(upstream.headers)) {
      const value = this.options.secrets[secret];
      if (typeof value === "string") headers[header] = value;
    }
    const bearer =
      this.options.auth && isOAuth(upstream) ? this.options.auth.bearer(upstream) : undefined;
    return new UpstreamClient(
      {
        url: upstream.url,
        headers,
        timeoutMs: upstream.timeoutMs,
        maxRequestMs: upstream.maxRequestMs,
        ...(bearer ? { bearer } : {}),
      },
      state,
    );
  }

  /** Drops an upstream session (it expired, or no longer fits the client). */
  forget(name: string): void {
    this.#clients.delete(name);
    this.options.store.deleteUpstream(name);
    this.options.onForget(name);
  }

  /** The client (re-)initialised: the next use checks each stored session against it again. */
  clientChanged(): void {
    this.#clients.clear();
  }

  /** Ends every upstream session held (the gateway session is ending); best effort. */
  async terminateAll(upstreams: readonly Upstream[]): Promise<void> {
    const store = this.options.store;
    const names = new Set([...store.listUpstreams(), ...this.#clients.keys()]);
    await Promise.all(
      [...names].map(async (name) => {
        const upstream = upstreams.find((u) => u.name === name);
        const state = store.loadUpstream(name) ?? this.#clients.get(name)?.state ?? null;
        store.deleteUpstream(name);
        this.#clients.delete(name);
        if (upstream && state) await this.#newClient(upstream, state).terminate();
      }),
    );
  }
}

/** `work`'s outcome, or `signal`'s reason as soon as it aborts (the work goes on for others). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
