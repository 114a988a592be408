/**
 * Errors by kind. A load run never throws on a failed session or call: it
 * classifies the failure into a short, stable kind (`connect_timeout`,
 * `upgrade_503`, `rpc_-32603`, `closed_1006`, `net_econnrefused`, ...) and
 * counts it, so a report says what went wrong and how often.
 */

export class LoadError extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
  }
}

/** The kind of any thrown value: a LoadError's own kind, else a Node error code. */
export function errorKind(error: unknown): string {
  if (error instanceof LoadError) return error.kind;
  const code = (error as { code?: unknown; cause?: { code?: unknown } } | null)?.code;
  const causeCode = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  const found = typeof code === "string" ? code : typeof causeCode === "string" ? causeCode : null;
  if (found) return `net_${found.toLowerCase()}`;
  if (error instanceof Error && error.name === "TimeoutError") return "timeout";
  return "unexpected";
}

export class ErrorCounter {
  readonly byKind = new Map<string, number>();
  #total = 0;
  /** The first error's message of each kind, for the report. */
  readonly examples = new Map<string, string>();

  add(error: unknown): string {
    const kind = errorKind(error);
    this.byKind.set(kind, (this.byKind.get(kind) ?? 0) + 1);
    this.#total++;
    if (!this.examples.has(kind)) {
      this.examples.set(kind, error instanceof Error ? error.message.slice(0, 300) : String(error));
    }
    return kind;
  }

  get total(): number {
    return this.#total;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.byKind].sort(([a], [b]) => a.localeCompare(b)));
  }
}

/** Adds counts of several counters (client processes) into one record. */
export function mergeErrorCounts(
  records: readonly Record<string, number>[],
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const record of records) {
    for (const [kind, n] of Object.entries(record)) out[kind] = (out[kind] ?? 0) + n;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}
