/**
 * Integrity-protected `requestState` for multi-round-trip requests (SEP-2322):
 * `base64url(JSON payload) "." base64url(HMAC-SHA256)`. The client echoes it
 * back verbatim; any change breaks the MAC and the retry gets -32602.
 *
 * The key comes from the Worker secret REQUEST_STATE_SECRET. Without it a
 * random key is generated per isolate: fine locally (one isolate), but a retry
 * that lands on another isolate in production would be refused, so deployments
 * should set the secret. States also carry an expiry (REQUEST_STATE_TTL_MS).
 */
import { INVALID_PARAMS, JsonRpcError } from "../../shared/errors";

export const REQUEST_STATE_TTL_MS = 15 * 60_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

let keyPromise: Promise<CryptoKey> | null = null;
let keySecret: string | undefined;

function hmacKey(secret: string | undefined): Promise<CryptoKey> {
  if (keyPromise && keySecret === secret) return keyPromise;
  keySecret = secret;
  const raw = secret ? encoder.encode(secret) : crypto.getRandomValues(new Uint8Array(32));
  keyPromise = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
  return keyPromise;
}

export async function sealRequestState(
  state: unknown,
  secret: string | undefined,
): Promise<string> {
  const payload = encoder.encode(
    JSON.stringify({ s: state ?? null, exp: Date.now() + REQUEST_STATE_TTL_MS }),
  );
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), payload);
  return `${toBase64Url(payload)}.${toBase64Url(new Uint8Array(mac))}`;
}

export async function openRequestState(
  token: string,
  secret: string | undefined,
): Promise<unknown> {
  const [body, mac, extra] = token.split(".");
  const payload = body === undefined ? null : fromBase64Url(body);
  const signature = mac === undefined ? null : fromBase64Url(mac);
  const valid =
    extra === undefined &&
    payload !== null &&
    signature !== null &&
    (await crypto.subtle.verify("HMAC", await hmacKey(secret), signature, payload));
  if (!valid || payload === null)
    throw invalidState("it was altered or was not issued by this server");
  const decoded = JSON.parse(decoder.decode(payload)) as { s: unknown; exp: number };
  if (decoded.exp < Date.now()) throw invalidState("it has expired; start the request again");
  return decoded.s;
}

function invalidState(why: string): JsonRpcError {
  return new JsonRpcError(INVALID_PARAMS, `Invalid requestState: ${why}`);
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(binary, (char) => char.charCodeAt(0));
  } catch {
    return null;
  }
}
