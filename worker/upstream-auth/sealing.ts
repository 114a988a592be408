/**
 * The gateway's OAuth secrets at rest and in flight, all derived from one
 * Worker secret, UPSTREAM_TOKEN_KEY, with HKDF (WebCrypto only):
 *
 * - `seal`/`unseal`: AES-256-GCM with a random 96-bit IV per write and the
 *   row's identity (principal, upstream, purpose) as additional data, so a
 *   sealed blob copied into another principal's row does not open.
 * - `sign`/`verify`: HMAC-SHA-256 over a small JSON payload, for the start
 *   link and the OAuth `state` (short-lived, bound to principal + upstream;
 *   single use is enforced by the principal's object, not here).
 *
 * Sealed text is `v1.<iv>.<ciphertext>` in base64url; signed text is
 * `<payload>.<mac>`. Keys are memoised per isolate per key material.
 */
const SEAL_INFO = "dormouse upstream tokens v1";
const SIGN_INFO = "dormouse oauth state v1";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Keys {
  seal: CryptoKey;
  sign: CryptoKey;
}

const keyMemo = new Map<string, Promise<Keys>>();

function keysFor(material: string): Promise<Keys> {
  let keys = keyMemo.get(material);
  if (!keys) {
    keys = deriveKeys(material);
    keyMemo.clear();
    keyMemo.set(material, keys);
  }
  return keys;
}

async function deriveKeys(material: string): Promise<Keys> {
  const base = await crypto.subtle.importKey("raw", encoder.encode(material), "HKDF", false, [
    "deriveKey",
  ]);
  const hkdf = (info: string) => ({
    name: "HKDF",
    hash: "SHA-256",
    salt: new Uint8Array(32),
    info: encoder.encode(info),
  });
  const [seal, sign] = await Promise.all([
    crypto.subtle.deriveKey(hkdf(SEAL_INFO), base, { name: "AES-GCM", length: 256 }, false, [
      "encrypt",
      "decrypt",
    ]),
    crypto.subtle.deriveKey(hkdf(SIGN_INFO), base, { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]),
  ]);
  return { seal, sign };
}

export class Sealer {
  constructor(private readonly material: string) {}

  async seal(plaintext: string, context: string): Promise<string> {
    const { seal } = await keysFor(this.material);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: encoder.encode(context) },
      seal,
      encoder.encode(plaintext),
    );
    return `v1.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(sealed))}`;
  }

  /** The sealed JSON value, or null when it does not unseal or is not JSON. */
  async unsealJson(sealed: string, context: string): Promise<unknown> {
    const text = await this.unseal(sealed, context);
    if (text === null) return null;
    try {
      return JSON.parse(text);
    } catch {
      return null;
    }
  }

  /** The plaintext, or null when the blob is malformed, tampered with or sealed for another context. */
  async unseal(sealed: string, context: string): Promise<string | null> {
    const [version, iv, body] = sealed.split(".");
    if (version !== "v1" || !iv || !body) return null;
    const { seal } = await keysFor(this.material);
    try {
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: fromBase64Url(iv), additionalData: encoder.encode(context) },
        seal,
        fromBase64Url(body),
      );
      return decoder.decode(plain);
    } catch {
      return null;
    }
  }

  async sign(payload: Record<string, unknown>): Promise<string> {
    const { sign } = await keysFor(this.material);
    const body = toBase64Url(encoder.encode(JSON.stringify(payload)));
    const mac = await crypto.subtle.sign("HMAC", sign, encoder.encode(body));
    return `${body}.${toBase64Url(new Uint8Array(mac))}`;
  }

  /** The payload of a token this key signed, or null (constant-time MAC check). */
  async verify(token: string): Promise<Record<string, unknown> | null> {
    if (token.length > 4_096) return null;
    const [body, mac] = token.split(".");
    if (!body || !mac || token.split(".").length !== 2) return null;
    const { sign } = await keysFor(this.material);
    let valid = false;
    try {
      valid = await crypto.subtle.verify("HMAC", sign, fromBase64Url(mac), encoder.encode(body));
    } catch {
      return null;
    }
    if (!valid) return null;
    try {
      const payload: unknown = JSON.parse(decoder.decode(fromBase64Url(body)));
      return typeof payload === "object" && payload !== null && !Array.isArray(payload)
        ? (payload as Record<string, unknown>)
        : null;
    } catch {
      return null;
    }
  }
}

/** SHA-256 of `text`, base64url (binder cookies are stored only as this). */
export async function digest(text: string): Promise<string> {
  return toBase64Url(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text))));
}

/** `bytes` random bytes, base64url. */
export function randomToken(bytes = 32): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

export function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(padded + "=".repeat((4 - (padded.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Constant-time equality of two strings (hash-sized values). */
export function sameText(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  if (left.length !== right.length) return false;
  let difference = 0;
  for (let i = 0; i < left.length; i++) difference |= (left[i] ?? 0) ^ (right[i] ?? 0);
  return difference === 0;
}
