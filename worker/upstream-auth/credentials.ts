/**
 * Federation's UpstreamCredentials for one principal, backed by that
 * principal's object (PrincipalObject over RPC): the binding to the principal
 * happens here, once, so a session can only ever reach its own principal's
 * tokens. Tokens are looked up per upstream request (not cached in the
 * session), so a refresh or a revocation is seen by every session at once.
 */
import { DEFAULT_REPLY_STREAM_MAX_MS } from "../../shared/limits";
import type { Upstream } from "../config/upstreams";
import type { UpstreamCredentials } from "../federation/credentials";
import { currentTrace } from "../observability/trace";

/** Longest a call waits for the user to finish authorizing in the browser (as for an SSE reply). */
export const AUTHORIZATION_WAIT_MS = DEFAULT_REPLY_STREAM_MAX_MS;

export function principalCredentials(
  env: Env,
  /** The principal, read when first needed (a woken session reads it from storage). */
  principal: () => string,
): UpstreamCredentials {
  const stub = () => env.PRINCIPALS.get(env.PRINCIPALS.idFromName(principal()));
  return {
    accessToken: (upstream: Upstream, refused?: string) =>
      stub().accessToken(principal(), upstream.name, refused, currentTrace()?.traceId),
    authorize: (upstream: Upstream, challenge: string | null) =>
      stub().authorize(principal(), upstream.name, challenge, currentTrace()?.traceId),
    authorizations: async () =>
      (await stub().authorizations(principal())) as unknown as Record<string, unknown>[],
    awaitGrant: (upstream: Upstream, signal: AbortSignal) => {
      if (signal.aborted) return Promise.resolve("timeout" as const);
      // The wait runs in the principal's object: a call that stops waiting ends it
      // there too, or it would hold one of MAX_GRANT_WAITERS for the whole timeout.
      // One stub for both calls: calls on one stub arrive in order, so a cancel
      // never overtakes the wait it ends.
      const waitId = crypto.randomUUID();
      const principalObject = stub();
      return new Promise((resolve) => {
        const onAbort = () => {
          resolve("timeout");
          principalObject.cancelGrantWait(waitId).catch(() => {});
        };
        signal.addEventListener("abort", onAbort, { once: true });
        principalObject
          .awaitGrant(upstream.name, AUTHORIZATION_WAIT_MS, waitId)
          .then(resolve, () => resolve("timeout"))
          .finally(() => signal.removeEventListener("abort", onAbort));
      });
    },
  };
}
