/**
 * Upstream MCP servers to federate (issue #4), from the Worker var UPSTREAMS:
 * a JSON array (given as a JSON value in wrangler.jsonc or as a string holding
 * JSON, e.g. from `--var`) of `{ name, url, prefix, timeoutMs?, allowTools?,
 * denyTools?, headers? }`. Header values name Worker secrets (`{ "Authorization":
 * "UPSTREAM_TOKEN" }`), never literal credentials, and every named secret must
 * exist. A bad config is a ConfigError naming the upstream, the field and the
 * reason, raised on the first request (and by /healthz), not at the first call.
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
  }
  return upstreams;
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
