/**
 * BENCHMARKS.md as one run writes it. A full run writes the whole file: what
 * ran where (command, date, machine, versions, revision, sizes), the summary
 * against issue 16's targets collected from every section, each section
 * between its markers `<!-- <id>:start -->` / `<!-- <id>:end -->`, and the
 * efficiency log. A partial run (`--only`) replaces only its sections'
 * markers in the existing file, each stamped with its own command and date,
 * and leaves every other byte as it was (a section not in the file yet goes
 * before the efficiency log, else at the end).
 */
import type { BenchConfig } from "./config";
import { EFFICIENCY_LOG } from "./efficiency-log";
import { machine, versions } from "./environment";
import { utc, yes } from "./format";
import type { TargetRow } from "./sections/section";

export interface RenderedSection {
  id: string;
  markdown: string;
  targets: TargetRow[];
}

export interface RunFacts {
  config: BenchConfig;
  command: string;
  startedAt: Date;
  finishedAt: Date;
  interrupted: boolean;
  /** One line per section (and path) that failed. */
  failures: string[];
  /** The 1-minute load average when the run started and when it ended. */
  load: { start: number; end: number };
  /** Dormouse's git revision when the run took its snapshot (environment.ts). */
  revision: string;
}

const HISTORY_ID = "efficiency";

export function startMarker(id: string): string {
  return `<!-- ${id}:start -->`;
}

export function endMarker(id: string): string {
  return `<!-- ${id}:end -->`;
}

function wrap(id: string, markdown: string): string {
  return `${startMarker(id)}\n${markdown.trimEnd()}\n${endMarker(id)}`;
}

export function renderDocument(facts: RunFacts, sections: readonly RenderedSection[]): string {
  const minutes = ((facts.finishedAt.getTime() - facts.startedAt.getTime()) / 60_000).toFixed(1);
  const out: string[] = ["# Benchmarks", ""];
  out.push(
    `Written by \`${facts.command}\` on ${utc(facts.startedAt)} UTC (${minutes} min). ` +
      "One run on one machine: read the ratios (Dormouse ÷ its floor, measured in the same rounds) and their spread rather than the absolute numbers. " +
      "Nothing here is asserted by a test.",
  );
  if (facts.config.quick)
    out.push(
      "",
      "**A `--quick` run: small sizes, for checking the harness. Do not quote these numbers.**",
    );
  if (facts.interrupted)
    out.push("", "**This run was interrupted (Ctrl-C): some tables are incomplete.**");
  if (facts.failures.length > 0)
    out.push("", "**What failed in this run:**", "", ...facts.failures.map((f) => `- ${f}`));
  out.push("", "| | |", "|---|---|", ...factsTable(facts));
  out.push("", ...summary(sections));
  for (const s of sections) out.push("", wrap(s.id, s.markdown));
  out.push("", wrap(HISTORY_ID, EFFICIENCY_LOG), "");
  return out.join("\n");
}

function factsTable(facts: RunFacts): string[] {
  const c = facts.config;
  return [
    `| machine | ${machine()} |`,
    `| load average (1 min) | ${facts.load.start} at the start, ${facts.load.end} at the end (other work on the machine shares its cores with every server measured) |`,
    `| versions | ${versions()} |`,
    `| Dormouse | ${facts.revision} |`,
    `| paths | ${c.paths.map((p) => (p === "wrangler" ? "`wrangler dev` (`npm start`)" : "`serve:direct` (Miniflare, no proxy)")).join("; ")} |`,
    `| settings | local observability off (\`X_LOCAL_OBSERVABILITY=false\`) for every server; Dormouse with \`RATE_LIMIT_PER_SECOND=0\` and \`STATELESS_RATE_LIMIT_PER_SECOND=0\` (rate limits off); ` +
      `interleaved comparisons: ${c.rounds} rounds, blocks of ${c.block} calls per session (fewer with many sessions), ${c.warmup} warm-up calls per lane, ` +
      `${c.drainMs} ms drain before each block's CPU sample, ${c.payloadBytes}-byte \`echo\` text; WebSocket levels ${c.warmLevels.join(", ")}; HTTP levels ${c.httpLevels.join(", ")}; ` +
      `wake: ${c.wakePairs} pairs of ${c.wakeSessions} sessions per lane, ${c.idleS} s idle |`,
  ];
}

function summary(sections: readonly RenderedSection[]): string[] {
  const rows = sections.flatMap((s) => s.targets);
  const out = [
    "## Against issue 16's targets",
    "",
    "The targets are goals for the optimisation work; this table is where Dormouse stands now. " +
      "A ratio is the median of the per-round ratios, with their quartiles and range over the rounds (see each section).",
    "",
  ];
  if (rows.length === 0) return [...out, "No section with a target ran."];
  out.push("| target | measured | met |", "|---|---|---|");
  for (const row of rows) out.push(`| ${row.target} | ${row.measured} | ${yes(row.met)} |`);
  return out;
}

/** A section as a partial run writes it: stamped with its own provenance, and its targets. */
export function standaloneSection(
  facts: RunFacts,
  markdown: string,
  targets: readonly TargetRow[],
  dated: boolean,
): string {
  const lines = markdown.trimEnd().split("\n");
  const [heading, ...rest] = lines;
  const out = [heading ?? ""];
  if (!dated)
    out.push(
      "",
      `Written by \`${facts.command}\` on ${utc(facts.startedAt)} UTC; Dormouse ${facts.revision}. Machine: ${machine()}; load average ${facts.load.start} at the start, ${facts.load.end} at the end. Versions: ${versions()}.` +
        (facts.config.quick ? " **A `--quick` run: do not quote these numbers.**" : ""),
    );
  out.push(...rest);
  if (targets.length > 0) {
    out.push(
      "",
      "Against issue 16's targets, this run:",
      "",
      "| target | measured | met |",
      "|---|---|---|",
    );
    for (const row of targets) out.push(`| ${row.target} | ${row.measured} | ${yes(row.met)} |`);
  }
  return out.join("\n");
}

/**
 * `document` with section `id` replaced by `markdown` (markers added), or
 * inserted before the efficiency log (else at the end) when it has none.
 */
export function spliceSection(document: string, id: string, markdown: string): string {
  const section = wrap(id, markdown);
  const start = document.indexOf(startMarker(id));
  const end = document.indexOf(endMarker(id));
  if (start !== -1 || end !== -1) {
    if (start === -1 || end === -1 || end < start)
      throw new Error(
        `${startMarker(id)} and ${endMarker(id)} must both appear, in that order; fix the file by hand`,
      );
    return document.slice(0, start) + section + document.slice(end + endMarker(id).length);
  }
  const history = document.indexOf(startMarker(HISTORY_ID));
  if (history !== -1)
    return `${document.slice(0, history)}${section}\n\n${document.slice(history)}`;
  const body = document.replace(/\n*$/, "");
  return `${body}${body ? "\n\n" : ""}${section}\n`;
}
