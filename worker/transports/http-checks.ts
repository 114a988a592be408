/**
 * Era selection and 2026-07-28 header checks for Streamable HTTP POSTs, run at
 * the edge before any session object is touched. Order matters (conformance
 * suite, server-stateless): `_meta` shape (-32602), then header vs `_meta`
 * version (-32020), then version support (-32022), then Mcp-Method/Mcp-Name
 * against the body (-32020).
 */
import * as v from "valibot";
import { INVALID_PARAMS, JsonRpcError } from "../../shared/errors";
import { PROTOCOL_VERSION_HEADER } from "../../shared/limits";
import {
  isModernVersion,
  isSessionEraVersion,
  META_PROTOCOL_VERSION,
  MODERN_VERSIONS,
  ModernEnvelopeSchema,
} from "../../shared/protocol";

export const HEADER_MISMATCH = -32020;
export const UNSUPPORTED_PROTOCOL_VERSION = -32022;

export type HttpEra = "session" | "modern";

/**
 * The header names the era when present (any value that is not a session-era
 * version means 2026-07-28 or later); without it, a `_meta` protocol version
 * that is not session-era does.
 */
export function httpEraOf(request: Request, body: Record<string, unknown>): HttpEra {
  const header = request.headers.get(PROTOCOL_VERSION_HEADER);
  if (header !== null) return isSessionEraVersion(header.trim()) ? "session" : "modern";
  const meta = (body.params as Record<string, unknown> | undefined)?._meta;
  const version =
    typeof meta === "object" && meta !== null
      ? (meta as Record<string, unknown>)[META_PROTOCOL_VERSION]
      : undefined;
  return version !== undefined && !isSessionEraVersion(version) ? "modern" : "session";
}

/** Checks a 2026-07-28 request's envelope and headers; returns the error to send, or null. */
export function checkModernRequest(
  request: Request,
  body: Record<string, unknown>,
): JsonRpcError | null {
  const params = (body.params ?? {}) as Record<string, unknown>;
  const envelope = v.safeParse(ModernEnvelopeSchema, params._meta);
  if (!envelope.success) {
    const issues = envelope.issues
      .map((i) => `${v.getDotPath(i) ?? "_meta"}: ${i.message}`)
      .join("; ");
    return new JsonRpcError(
      INVALID_PARAMS,
      `Invalid or missing request envelope in params._meta (protocolVersion and clientCapabilities are required): ${issues}`,
    );
  }
  const version = envelope.output[META_PROTOCOL_VERSION];
  const header = request.headers.get(PROTOCOL_VERSION_HEADER)?.trim();
  if (header !== undefined && header !== version) {
    return new JsonRpcError(
      HEADER_MISMATCH,
      `Header mismatch: ${PROTOCOL_VERSION_HEADER} "${header}" differs from params._meta protocol version "${version}"`,
    );
  }
  if (!isModernVersion(version)) {
    return new JsonRpcError(
      UNSUPPORTED_PROTOCOL_VERSION,
      `Unsupported protocol version "${version}"`,
      {
        supported: [...MODERN_VERSIONS],
        requested: version,
      },
    );
  }
  const method = request.headers.get("Mcp-Method")?.trim();
  if (method !== body.method) {
    return new JsonRpcError(
      HEADER_MISMATCH,
      method === undefined
        ? "Header mismatch: the Mcp-Method header is required"
        : `Header mismatch: Mcp-Method "${method}" differs from the body's method "${String(body.method)}"`,
    );
  }
  const expectedName = nameOf(String(body.method), params);
  if (expectedName !== undefined) {
    const name = request.headers.get("Mcp-Name")?.trim();
    if (name !== expectedName) {
      return new JsonRpcError(
        HEADER_MISMATCH,
        name === undefined
          ? `Header mismatch: the Mcp-Name header is required for ${String(body.method)}`
          : `Header mismatch: Mcp-Name "${name}" differs from the body ("${expectedName}")`,
      );
    }
  }
  return null;
}

function nameOf(method: string, params: Record<string, unknown>): string | undefined {
  const value =
    method === "tools/call" || method === "prompts/get"
      ? params.name
      : method === "resources/read"
        ? params.uri
        : undefined;
  return typeof value === "string" ? value : undefined;
}

/** HTTP status for a JSON-RPC error on the 2026-07-28 wire. */
export function modernStatusFor(error: { code: number }): number {
  if (error.code === -32601) return 404;
  if (
    [-32700, -32600, -32602, HEADER_MISMATCH, -32021, UNSUPPORTED_PROTOCOL_VERSION].includes(
      error.code,
    )
  ) {
    return 400;
  }
  return 200;
}
