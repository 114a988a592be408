/**
 * How an upstream request can fail, as types: callers (and the error mapping
 * in errors.ts) tell a failed upstream from one that answered an error, and
 * neither ever carries the upstream's URL or headers.
 */

export type FailureKind = "unavailable" | "timeout" | "invalid" | "expired";

/** The upstream could not serve a request; `detail` is safe to show to clients. */
export class UpstreamFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    readonly detail: string,
  ) {
    super(detail);
    this.name = "UpstreamFailure";
  }
}

/** The upstream refused the gateway's credentials (HTTP 401): its challenge starts OAuth discovery. */
export class UpstreamUnauthorized extends UpstreamFailure {
  constructor(
    detail: string,
    /** The WWW-Authenticate header, bounded. */
    readonly challenge: string | null,
  ) {
    super("unavailable", detail);
    this.name = "UpstreamUnauthorized";
  }
}

/** The upstream answered with a JSON-RPC error. */
export class UpstreamRpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = "UpstreamRpcError";
  }
}

/**
 * Thrown by a hook to end a call early (a 2026-07-28 caller must be asked for
 * input first): the upstream is told the request is cancelled, and the
 * StopCall reaches the caller unchanged.
 */
export class StopCall extends Error {
  constructor(readonly value: unknown) {
    super("call stopped by the gateway");
    this.name = "StopCall";
  }
}
