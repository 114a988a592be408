/**
 * Upstream MCP servers to federate (issue #4), from the Worker var UPSTREAMS:
 * a JSON array (given as a JSON value in wrangler.jsonc or as a string holding
 * JSON, e.g. from `--var`) of `{ name, url, prefix, timeoutMs?, allowTools?,
 * denyTools?, headers?, auth? }`. Header values name Worker secrets (`{ "Authorization":
 * "UPSTREAM_TOKEN" }`), never literal credentials, and every named secret must
 * exist. A bad config is a ConfigError naming the upstream, the field and the
 * reason, raised on the first request (and by /healthz), not at the first call.
 *
 * `auth: { type: "oauth", scopes, clientId?, clientSecret?, issuer? }` makes the
 * upstream per-principal OAuth (worker/upstream-auth/): `clientSecret` names a
 * Worker secret too, and such an upstream needs the secret UPSTREAM_TOKEN_KEY
 * (the key tokens are sealed under) and the var PUBLIC_URL (where the
 * authorization server sends browsers back).
 *
 * Relaying lives in worker/federation/; this module owns the configuration.
 */
import * as v from "valibot";
import { issuePath } from "../../shared/issues";
import { ConfigError } from "./config-error";

export const DEFAULT_UPSTREAM_TIMEOUT_MS = 30_000;
/**
 * Longest one upstream request may take whatever the upstream sends (progress
 * included): below the session's request deadline by default, so an upstream
 * that never finishes fails on its own bound (-32031), not the session's.
 */
export const DEFAULT_UPSTREAM_MAX_REQUEST_MS = 60_000;
/** A list from one upstream (initialize and all its pages) takes at most min(2 x timeoutMs, this). */
export const UPSTREAM_LIST_MAX_MS = 10_000;
/** Between an upstream's prefix and its own name in a served name: `<prefix>__<name>`. */
export const NAME_SEPARATOR = "__";
const MAX_UPSTREAMS = 32;

const NamePattern = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const PrefixPattern = /^[A-Za-z0-9_-]{1,32}$/;
const SecretNamePattern = /^[A-Z][A-Z0-9_]{0,63}$/;

/** Shortest UPSTREAM_TOKEN_KEY accepted: 32 characters (256 bits if random hex or base64). */
export const MIN_TOKEN_KEY_CHARS = 32;

const OAuthSchema = v.strictObject({
  type: v.literal("oauth"),
  /** Scopes asked for; empty means what the upstream's metadata advertises. */
  scopes: v.optional(
    v.pipe(
      v.array(v.pipe(v.string(), v.regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, "an OAuth scope token"))),
      v.maxLength(32, "at most 32 scopes"),
    ),
    [],
  ),
  /** A client pre-registered at the upstream's authorization server. */
  clientId: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(512))),
  /** The NAME of the Worker secret holding that client's secret (confidential clients). */
  clientSecret: v.optional(
    v.pipe(v.string(), v.regex(SecretNamePattern, "the NAME of a Worker secret, not a value")),
  ),
  /**
   * The issuer of the authorization server `clientId` is registered at: the
   * server the upstream's metadata names must be this one, so the client's
   * secret and the users' logins never go to one the upstream picked.
   */
  issuer: v.optional(
    v.pipe(
      v.string(),
      v.url("an absolute URL"),
      v.check((url) => /^https?:\/\//.test(url), "an http(s) URL"),
    ),
  ),
});
export type UpstreamOAuth = v.InferOutput<typeof OAuthSchema>;

const UpstreamSchema = v.strictObject({
  name: v.pipe(v.string(), v.regex(NamePattern, "lower-case letters, digits, - and _, at most 32")),
  url: v.pipe(
    v.string(),
    v.url("an absolute URL"),
    v.check((url) => /^https?:\/\//.test(url), "an http(s) URL (Streamable HTTP)"),
  ),
  prefix: v.pipe(v.string(), v.regex(PrefixPattern, "letters, digits, - and _, at most 32")),
  timeoutMs: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(100), v.maxValue(120_000)),
    DEFAULT_UPSTREAM_TIMEOUT_MS,
  ),
  maxRequestMs: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(100), v.maxValue(600_000)),
    DEFAULT_UPSTREAM_MAX_REQUEST_MS,
  ),
  allowTools: v.optional(v.array(v.string())),
  denyTools: v.optional(v.array(v.string())),
  headers: v.optional(
    v.record(
      v.pipe(v.string(), v.regex(/^[A-Za-z0-9-]+$/, "an HTTP header name")),
      v.pipe(v.string(), v.regex(SecretNamePattern, "the NAME of a Worker secret, not a value")),
    ),
    {},
  ),
  auth: v.optional(OAuthSchema),
});
export type Upstream = v.InferOutput<typeof UpstreamSchema>;

const UpstreamsSchema = v.pipe(
  v.array(UpstreamSchema),
  v.maxLength(MAX_UPSTREAMS, `at most ${MAX_UPSTREAMS} upstreams`),
);

/** Parses UPSTREAMS; `secrets` is the Worker env, for checking that named secrets exist. */
export function parseUpstreams(raw: unknown, secrets: Record<string, unknown>): Upstream[] {
  if (raw === undefined || raw === null || raw === "") return [];
  let value = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new ConfigError("UPSTREAMS: not valid JSON (expected an array of upstream objects)");
    }
  }
  const parsed = v.safeParse(UpstreamsSchema, value);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const path = issue ? (issuePath(issue) ?? "") : "";
    const [index, ...rest] = path.split(".");
    const entry = Array.isArray(value) && index ? value[Number(index)] : undefined;
    const name = typeof entry?.name === "string" ? ` (${entry.name})` : "";
    const field = index ? `[${index}]${rest.length > 0 ? `.${rest.join(".")}` : ""}` : "";
    throw new ConfigError(`UPSTREAMS${field}${name}: ${issue?.message ?? "invalid"}`);
  }
  const upstreams = parsed.output;
  for (const [key, pick] of [
    ["name", (u: Upstream) => u.name],
    ["prefix", (u: Upstream) => u.prefix],
  ] as const) {
    const seen = new Set<string>();
    for (const upstream of upstreams) {
      const value = pick(upstream);
      if (seen.has(value))
        throw new ConfigError(`UPSTREAMS: two upstreams share the ${key} "${value}"`);
      seen.add(value);
    }
  }
  refuseOverlappingPrefixes(upstreams);
  for (const upstream of upstreams) {
    for (const [header, secret] of Object.entries(upstream.headers)) {
      if (typeof secrets[secret] !== "string") {
        throw new ConfigError(
          `UPSTREAMS (${upstream.name}): header ${header} names the secret ${secret}, which is not set`,
        );
      }
    }
    if (upstream.auth) checkOAuth(upstream, upstream.auth, secrets);
  }
  return upstreams;
}

/** What an OAuth upstream needs besides its own entry; each gap is a ConfigError. */
function checkOAuth(
  upstream: Upstream,
  auth: UpstreamOAuth,
  secrets: Record<string, unknown>,
): void {
  const at = `UPSTREAMS (${upstream.name}): auth`;
  if (auth.clientSecret !== undefined && auth.clientId === undefined) {
    throw new ConfigError(`${at}.clientSecret needs auth.clientId (the pre-registered client)`);
  }
  if (auth.clientId !== undefined && auth.issuer === undefined) {
    throw new ConfigError(
      `${at}.clientId needs auth.issuer, the authorization server the client is registered at (its secret and the users' logins go to no other)`,
    );
  }
  if (auth.issuer !== undefined && auth.clientId === undefined) {
    throw new ConfigError(`${at}.issuer needs auth.clientId (the client registered there)`);
  }
  if (auth.clientSecret !== undefined && typeof secrets[auth.clientSecret] !== "string") {
    throw new ConfigError(
      `${at}.clientSecret names the secret ${auth.clientSecret}, which is not set`,
    );
  }
  if (Object.keys(upstream.headers).some((h) => h.toLowerCase() === "authorization")) {
    throw new ConfigError(`${at}: an OAuth upstream cannot also set an Authorization header`);
  }
  const key = secrets.UPSTREAM_TOKEN_KEY;
  if (typeof key !== "string" || key.length < MIN_TOKEN_KEY_CHARS) {
    throw new ConfigError(
      `${at}: OAuth upstreams need the Worker secret UPSTREAM_TOKEN_KEY (at least ${MIN_TOKEN_KEY_CHARS} characters; \`wrangler secret put UPSTREAM_TOKEN_KEY\`), the key tokens are encrypted under`,
    );
  }
  const base = secrets.PUBLIC_URL;
  if (typeof base !== "string" || !isPublicUrl(base)) {
    throw new ConfigError(
      `${at}: OAuth upstreams need the var PUBLIC_URL, this gateway's origin as browsers reach it (e.g. https://mcp.example.com), for the authorization callback`,
    );
  }
}

function isPublicUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "https:" || url.protocol === "http:") && url.pathname === "/";
  } catch {
    return false;
  }
}

/**
 * Two prefixes overlap when one served name could belong to both upstreams:
 * `<P>__x` and `<Q>__y` are the same string whenever `<Q>__` starts with `<P>__`
 * ("sep" and "sep__a": sep's "a__b" and sep__a's "b" are both "sep__a__b"; "a"
 * and "a_": a's "_x" and a_'s "x" are both "a___x"). Routing picks one, so the
 * other upstream's tool would be listed under a name that runs something else.
 */
function refuseOverlappingPrefixes(upstreams: readonly Upstream[]): void {
  for (const shorter of upstreams) {
    for (const longer of upstreams) {
      if (shorter === longer || longer.prefix.length < shorter.prefix.length) continue;
      const head = `${shorter.prefix}${NAME_SEPARATOR}`;
      if (!`${longer.prefix}${NAME_SEPARATOR}`.startsWith(head)) continue;
      const example = `${longer.prefix}${NAME_SEPARATOR}x`;
      throw new ConfigError(
        `UPSTREAMS: the prefixes "${shorter.prefix}" (${shorter.name}) and "${longer.prefix}" (${longer.name}) overlap: a served name such as "${example}" could belong to either; choose prefixes where neither followed by "__" starts the other`,
      );
    }
  }
}

/**
 * UPSTREAMS parsed and checked against the built-in tools and prompts
 * (`builtinNames`): an upstream prefix that would shadow one of them is a
 * ConfigError. Not memoised here: worker/configuration.ts keeps the result.
 */
export function upstreamsFor(
  env: Record<string, unknown>,
  builtinNames: readonly string[],
): Upstream[] {
  const upstreams = parseUpstreams(env.UPSTREAMS, env);
  for (const name of builtinNames) {
    const clash = upstreams.find((u) => name.startsWith(`${u.prefix}${NAME_SEPARATOR}`));
    if (clash) {
      throw new ConfigError(
        `UPSTREAMS (${clash.name}): prefix "${clash.prefix}" would shadow the built-in "${name}"`,
      );
    }
  }
  return upstreams;
}
