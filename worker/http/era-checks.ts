/**
 * Era selection and 2026-07-28 header checks for Streamable HTTP POSTs, run at
 * the edge before any session object is touched. Order matters (conformance
 * suite, server-stateless): `_meta` shape (-32602), then header vs `_meta`
 * version (-32020), then version support (-32022), then Mcp-Method/Mcp-Name
 * against the body (-32020).
 */
import * as v from "valibot";
import {
  HEADER_MISMATCH,
  INVALID_PARAMS,
  INVALID_REQUEST,
  JsonRpcError,
  METHOD_NOT_FOUND,
  MISSING_CLIENT_CAPABILITY,
  PARSE_ERROR,
  UNSUPPORTED_PROTOCOL_VERSION,
} from "../../shared/errors";
import { formatIssues } from "../../shared/issues";
import { PROTOCOL_VERSION_HEADER } from "../../shared/limits";
import {
  isModernVersion,
  isSessionEraVersion,
  META_PROTOCOL_VERSION,
  MODERN_VERSIONS,
  ModernEnvelopeSchema,
  SESSION_ERA_VERSIONS,
} from "../../shared/protocol";

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
  const header = request.headers.get(PROTOCOL_VERSION_HEADER)?.trim();
  if (!envelope.success && header !== undefined && !isModernVersion(header)) {
    // A revision this gateway does not speak, with no 2026 envelope to go by: most likely
    // a session-era client with a wrong header. Say what is wrong, and what is spoken.
    return new JsonRpcError(
      UNSUPPORTED_PROTOCOL_VERSION,
      `Unsupported protocol version "${header}" (${PROTOCOL_VERSION_HEADER}); supported: ${[...SESSION_ERA_VERSIONS, ...MODERN_VERSIONS].join(", ")}`,
      { supported: [...SESSION_ERA_VERSIONS, ...MODERN_VERSIONS], requested: header },
    );
  }
  if (!envelope.success) {
    const issues = formatIssues(envelope.issues, "_meta");
    return new JsonRpcError(
      INVALID_PARAMS,
      `Invalid or missing request envelope in params._meta (protocolVersion and clientCapabilities are required): ${issues}`,
    );
  }
  const version = envelope.output[META_PROTOCOL_VERSION];
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
    // A name a plain ASCII header cannot carry (non-ASCII, edge spaces) comes
    // base64-wrapped, as `Mcp-Param-*` values do; the literal is accepted too.
    if (name !== expectedName && (name === undefined || decodeParamHeader(name) !== expectedName)) {
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

/** The body field `Mcp-Name` mirrors (SEP-2243; SEP-2663 "Routing Headers" adds the task id). */
const NAME_FIELD: Readonly<Record<string, string>> = {
  "tools/call": "name",
  "prompts/get": "name",
  "resources/read": "uri",
  "tasks/get": "taskId",
  "tasks/update": "taskId",
  "tasks/cancel": "taskId",
};

function nameOf(method: string, params: Record<string, unknown>): string | undefined {
  const field = Object.hasOwn(NAME_FIELD, method) ? NAME_FIELD[method] : undefined;
  const value = field === undefined ? undefined : params[field];
  return typeof value === "string" ? value : undefined;
}

/** HTTP status for a JSON-RPC error on the 2026-07-28 wire. */
export function modernStatusFor(error: { code: number }): number {
  if (error.code === METHOD_NOT_FOUND) return 404;
  if (
    [
      PARSE_ERROR,
      INVALID_REQUEST,
      INVALID_PARAMS,
      HEADER_MISMATCH,
      MISSING_CLIENT_CAPABILITY,
      UNSUPPORTED_PROTOCOL_VERSION,
    ].includes(error.code)
  ) {
    return 400;
  }
  return 200;
}

/**
 * SEP-2243 custom headers: a tool argument whose schema property carries
 * `"x-mcp-header": "<Suffix>"` travels in `Mcp-Param-<Suffix>` too, so
 * intermediaries can route on it. The header must be present when the body has
 * the value and must match it: a literal, or `=?base64?<strict base64>?=`.
 */
export function checkParamHeaders(
  request: Request,
  body: Record<string, unknown>,
  inputSchemaOf: (tool: string) => Record<string, unknown> | undefined,
): JsonRpcError | null {
  if (body.method !== "tools/call") return null;
  const params = (body.params ?? {}) as Record<string, unknown>;
  const schema = typeof params.name === "string" ? inputSchemaOf(params.name) : undefined;
  const properties = (schema?.properties ?? {}) as Record<string, Record<string, unknown>>;
  const args = (params.arguments ?? {}) as Record<string, unknown>;
  for (const [property, definition] of Object.entries(properties)) {
    const suffix = definition?.["x-mcp-header"];
    if (typeof suffix !== "string" || typeof args[property] !== "string") continue;
    const header = request.headers.get(`Mcp-Param-${suffix}`);
    if (header === null) {
      return new JsonRpcError(
        HEADER_MISMATCH,
        `Header mismatch: Mcp-Param-${suffix} is required for "${property}"`,
      );
    }
    const value = decodeParamHeader(header.trim());
    if (value !== args[property]) {
      return new JsonRpcError(
        HEADER_MISMATCH,
        value === null
          ? `Header mismatch: Mcp-Param-${suffix} is not valid base64`
          : `Header mismatch: Mcp-Param-${suffix} differs from the body's "${property}"`,
      );
    }
  }
  return null;
}

const BASE64_WRAPPED = /^=\?base64\?(.*)\?=$/;

function decodeParamHeader(value: string): string | null {
  const wrapped = BASE64_WRAPPED.exec(value);
  if (!wrapped) return value;
  const encoded = wrapped[1] ?? "";
  if (encoded.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) return null;
  try {
    const binary = atob(encoded);
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
      Uint8Array.from(binary, (c) => c.charCodeAt(0)),
    );
  } catch {
    return null;
  }
}
