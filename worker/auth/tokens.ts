/**
 * Bearer tokens configured as AUTH_TOKEN_HASHES: comma-separated
 * `principal:sha256hex` pairs, so the Worker only ever holds hashes. A
 * presented token is hashed and compared against every configured hash in
 * constant time (no early exit), so timing reveals neither which principal
 * nor how much of a hash matched.
 *
 * A malformed AUTH_TOKEN_HASHES is a ConfigError (naming the entry and the
 * reason), raised on the first request rather than silently disabling auth.
 */
import { ConfigError } from "../config/config-error";
import { ANONYMOUS } from "./anonymous";

export interface TokenTable {
  entries: { principal: string; hash: Uint8Array }[];
}

const PRINCIPAL_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;
const HEX_SHA256 = /^[0-9a-f]{64}$/;

/** Parses AUTH_TOKEN_HASHES; null means auth is off (unset or empty). */
export function parseTokenHashes(value: string | undefined): TokenTable | null {
  if (value === undefined || value.trim() === "") return null;
  const entries = value
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .map((entry, index) => {
      const separator = entry.lastIndexOf(":");
      const principal = entry.slice(0, separator);
      const hex = entry.slice(separator + 1).toLowerCase();
      if (separator <= 0 || !PRINCIPAL_PATTERN.test(principal)) {
        throw new ConfigError(
          `AUTH_TOKEN_HASHES entry ${index + 1}: expected "principal:sha256hex" with a principal of letters, digits, . _ @ -`,
        );
      }
      // Unauthenticated callers' name: their sessions take no slot (session/expiry.ts).
      if (principal.toLowerCase() === ANONYMOUS) {
        throw new ConfigError(
          `AUTH_TOKEN_HASHES entry ${index + 1}: the principal name "${ANONYMOUS}" is reserved for unauthenticated callers`,
        );
      }
      if (!HEX_SHA256.test(hex)) {
        throw new ConfigError(
          `AUTH_TOKEN_HASHES entry ${index + 1} (${principal}): the hash must be 64 hex characters (sha256 of the token)`,
        );
      }
      return { principal, hash: fromHex(hex) };
    });
  return { entries };
}

/** The principal owning `token`, or null. Compares against every entry in constant time. */
export async function principalForToken(table: TokenTable, token: string): Promise<string | null> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token)),
  );
  let found: string | null = null;
  for (const entry of table.entries) {
    if (crypto.subtle.timingSafeEqual(digest, entry.hash) && found === null)
      found = entry.principal;
  }
  return found;
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

function fromHex(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++)
    bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}
