/**
 * One formatter for validation issues, valibot's and Standard Schema's alike
 * (both carry a message and a path of keys), so every "Invalid params" and
 * config error reads the same way: `path.to.field: message; other: message`.
 */

export interface IssueLike {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: unknown }> | undefined;
}

/** The issue's path as dotted keys (`arguments.items.0`), or null for the root. */
export function issuePath(issue: IssueLike): string | null {
  if (!issue.path || issue.path.length === 0) return null;
  return issue.path
    .map((segment) => (typeof segment === "object" ? String(segment.key) : String(segment)))
    .join(".");
}

/**
 * `path: message` per issue, joined with "; ". An issue at the root is named
 * `root` when given, or by its message alone.
 */
export function formatIssues(issues: readonly IssueLike[], root?: string): string {
  return issues
    .map((issue) => {
      const path = issuePath(issue) ?? root;
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join("; ");
}
