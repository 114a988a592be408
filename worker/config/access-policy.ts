/**
 * ACCESS_POLICY: which principals may use which tools, prompts and resources,
 * from a Worker var holding JSON (a JSON value in wrangler.jsonc, or a string):
 *
 *   { "default": "allow" | "deny",
 *     "rules": [ { "principals": ["oauth:*", "alice"],
 *                  "tools":     { "allow": ["echo", "state__*"], "deny": ["state__slow"] },
 *                  "prompts":   { "deny": ["*"] },
 *                  "resources": { "allow": ["dormouse://*"] } } ] }
 *
 * Names are the served ones: built-ins and namespaced upstream items alike
 * (`<prefix>__<tool>`, `upstream://<prefix>/<uri>`); resource globs match URIs
 * and, in resources/templates/list, URI templates. Globs: `*` any run of
 * characters, `?` one character, everything else literal; principal patterns
 * use the same globs (`oauth:*`, `*`).
 *
 * Decision for (principal, kind, name), over the rules whose principals match:
 * a matching deny wins; else a matching allow; else `default` (allow when
 * absent). So `default: "deny"` with allows is an allow-list, and
 * `default: "allow"` with denies is a block-list. Unset means everything is
 * allowed. A bad policy is a ConfigError naming the field and the reason,
 * and the gateway answers 503 until it is fixed, exactly like a bad UPSTREAMS.
 */
import * as v from "valibot";
import { issuePath } from "../../shared/issues";
import { ConfigError } from "./config-error";

export const ACCESS_KINDS = ["tools", "prompts", "resources"] as const;
export type AccessKind = (typeof ACCESS_KINDS)[number];

const MAX_RULES = 256;
const MAX_PATTERNS = 256;
const MAX_PATTERN_CHARS = 512;

const Pattern = v.pipe(
  v.string(),
  v.minLength(1, "a non-empty glob"),
  v.maxLength(MAX_PATTERN_CHARS, `at most ${MAX_PATTERN_CHARS} characters`),
);
const Patterns = v.pipe(
  v.array(Pattern),
  v.maxLength(MAX_PATTERNS, `at most ${MAX_PATTERNS} patterns`),
);
const ListsSchema = v.strictObject({ allow: v.optional(Patterns), deny: v.optional(Patterns) });

const RuleSchema = v.strictObject({
  principals: v.pipe(Patterns, v.minLength(1, "at least one principal or pattern")),
  tools: v.optional(ListsSchema),
  prompts: v.optional(ListsSchema),
  resources: v.optional(ListsSchema),
});

const PolicySchema = v.strictObject({
  default: v.optional(v.picklist(["allow", "deny"], 'either "allow" or "deny"'), "allow"),
  rules: v.pipe(v.array(RuleSchema), v.maxLength(MAX_RULES, `at most ${MAX_RULES} rules`)),
});

interface CompiledRule {
  principals: RegExp[];
  allow: Record<AccessKind, RegExp[]>;
  deny: Record<AccessKind, RegExp[]>;
}

export class AccessPolicy {
  readonly #rules: CompiledRule[];
  readonly #defaultAllow: boolean;
  /** Rules that apply to a principal, memoised (principals are few; bounded anyway). */
  readonly #byPrincipal = new Map<string, CompiledRule[]>();

  constructor(policy: v.InferOutput<typeof PolicySchema>) {
    this.#defaultAllow = policy.default === "allow";
    this.#rules = policy.rules.map((rule) => ({
      principals: rule.principals.map(globToRegExp),
      allow: compileKinds(rule, "allow"),
      deny: compileKinds(rule, "deny"),
    }));
  }

  /** Whether `principal` may see and use the `kind` item served as `name`. */
  allows(principal: string, kind: AccessKind, name: string): boolean {
    const rules = this.#rulesFor(principal);
    let allowed = false;
    for (const rule of rules) {
      if (rule.deny[kind].some((pattern) => pattern.test(name))) return false;
      if (!allowed && rule.allow[kind].some((pattern) => pattern.test(name))) allowed = true;
    }
    return allowed || this.#defaultAllow;
  }

  #rulesFor(principal: string): CompiledRule[] {
    let rules = this.#byPrincipal.get(principal);
    if (!rules) {
      rules = this.#rules.filter((rule) => rule.principals.some((p) => p.test(principal)));
      if (this.#byPrincipal.size >= 1_024) this.#byPrincipal.clear();
      this.#byPrincipal.set(principal, rules);
    }
    return rules;
  }
}

/** Parses ACCESS_POLICY; null when unset (everything allowed). */
export function parseAccessPolicy(raw: unknown): AccessPolicy | null {
  if (raw === undefined || raw === null || raw === "") return null;
  let value = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new ConfigError(
        'ACCESS_POLICY: not valid JSON (expected an object { "default"?, "rules": [...] })',
      );
    }
  }
  const parsed = v.safeParse(PolicySchema, value);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const path = issue ? issuePath(issue) : null;
    // rules.0.tools.deny.2 -> .rules[0].tools.deny[2]
    const field = path ? `.${path}`.replace(/\.(\d+)(?=\.|$)/g, "[$1]") : "";
    throw new ConfigError(`ACCESS_POLICY${field}: ${issue?.message ?? "invalid"}`);
  }
  return new AccessPolicy(parsed.output);
}

function compileKinds(
  rule: v.InferOutput<typeof RuleSchema>,
  which: "allow" | "deny",
): Record<AccessKind, RegExp[]> {
  const out = {} as Record<AccessKind, RegExp[]>;
  for (const kind of ACCESS_KINDS) out[kind] = (rule[kind]?.[which] ?? []).map(globToRegExp);
  return out;
}

/** `*` any run (including none), `?` one character, everything else literal; anchored. */
export function globToRegExp(glob: string): RegExp {
  let source = "";
  for (const char of glob) {
    if (char === "*") source += "[\\s\\S]*";
    else if (char === "?") source += "[\\s\\S]";
    else source += char.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`, "u");
}
