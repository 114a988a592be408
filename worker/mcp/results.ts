/**
 * Shapes a handler's result for the request's era. 2026-07-28 results carry
 * `resultType`, the server's identity in `_meta`, and cache hints on cacheable
 * methods (SEP-2549); session-era results are returned unchanged.
 */
import { isRecord, META_SERVER_INFO } from "../../shared/protocol";
import type { Era } from "./context";
import { SERVER_INFO } from "./server-info";

const CACHEABLE_METHODS = new Set([
  "tools/list",
  "prompts/list",
  "resources/list",
  "resources/templates/list",
  "resources/read",
  "server/discover",
]);

export function shapeResult(
  method: string,
  era: Era,
  result: Record<string, unknown>,
): Record<string, unknown> {
  if (era.kind === "session") return result;
  const meta = isRecord(result._meta) ? result._meta : {};
  const shaped: Record<string, unknown> = {
    resultType: "complete",
    ...result,
    _meta: { ...meta, [META_SERVER_INFO]: SERVER_INFO },
  };
  if (CACHEABLE_METHODS.has(method)) {
    // Lists depend on the session's TOOLSETS and may change with a deploy: no caching.
    shaped.ttlMs ??= 0;
    shaped.cacheScope ??= "private";
  }
  return shaped;
}
