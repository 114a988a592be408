/**
 * Upstream failures as clients see them: JSON-RPC errors that name the
 * upstream by its configured name and never carry its URL, headers or body.
 */
import {
  JsonRpcError,
  UPSTREAM_INVALID,
  UPSTREAM_TIMEOUT,
  UPSTREAM_UNAVAILABLE,
} from "../../shared/errors";
import type { Upstream } from "../config/upstreams";
import { logEvent } from "../observability/log";
import { StopCall, UpstreamFailure, UpstreamRpcError } from "./failures";

export function wireError(upstream: Upstream, error: unknown): JsonRpcError {
  if (error instanceof JsonRpcError) return error;
  if (error instanceof StopCall && error.value instanceof JsonRpcError) return error.value;
  const data = { upstream: upstream.name };
  if (error instanceof UpstreamRpcError) {
    return new JsonRpcError(error.code, `Upstream "${upstream.name}": ${error.message}`, {
      ...data,
      ...(error.data !== undefined ? { upstreamData: error.data } : {}),
    });
  }
  if (error instanceof UpstreamFailure) {
    const code =
      error.kind === "timeout"
        ? UPSTREAM_TIMEOUT
        : error.kind === "invalid"
          ? UPSTREAM_INVALID
          : UPSTREAM_UNAVAILABLE;
    return new JsonRpcError(code, `Upstream "${upstream.name}" ${error.detail}`, {
      ...data,
      reason: error.kind,
    });
  }
  logEvent("error", "upstream_relay_failed", { upstream: upstream.name, error });
  return new JsonRpcError(UPSTREAM_UNAVAILABLE, `Upstream "${upstream.name}" failed`, {
    ...data,
    reason: "unavailable",
  });
}

/** The reason shown in `_meta["dormouse/unavailableUpstreams"]`. */
export function describeFailure(error: unknown): string {
  if (error instanceof UpstreamFailure) return error.detail;
  if (error instanceof UpstreamRpcError) return `answered error ${error.code}: ${error.message}`;
  if (error instanceof JsonRpcError) return error.message;
  return "failed";
}
