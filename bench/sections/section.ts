/**
 * What a section of BENCHMARKS.md is to the runner (bench/run.ts): an id (the
 * name `--only` and `--skip` take, and the markers `<!-- <id>:start -->` /
 * `<!-- <id>:end -->` around its part of the file), how it measures, and how
 * it renders. Sections that compare servers on both local paths name the
 * servers they need: the runner starts those for one path at a time and calls
 * `measure` once per path, so every such section shares the same servers. A
 * section without `servers` measures once and starts what it needs itself.
 *
 * A section keeps its own results between `measure` and `render`; a failed
 * `measure` is the runner's to report, and `render` shows whatever was measured.
 */
import type { BenchConfig } from "../config";
import type { BenchPath, ServerConfigs, ServerKind, ServerPool } from "../servers";

export interface SectionContext {
  config: BenchConfig;
  /** Servers of the per-path sections, already started for the path being measured. */
  pool: ServerPool;
  /** Worker configs, for sections that start fresh servers of their own. */
  configs: ServerConfigs;
  /** Raw JSON results go here. */
  resultsDir: string;
  /** Aborted by Ctrl-C: stop between two calls. */
  signal: AbortSignal;
}

export interface RenderContext {
  config: BenchConfig;
  /** The whole command line, e.g. `npm run bench -- --only ws`. */
  command: string;
  startedAt: Date;
  /** The link to a chart this section wrote, relative to BENCHMARKS.md. */
  chartLink(name: string): string;
}

export interface Chart {
  /** Part of the file name: `<out>-<name>.svg`. */
  name: string;
  svg: string;
}

/** One line of the summary against issue 16's targets. */
export interface TargetRow {
  target: string;
  measured: string;
  met: boolean | null;
}

export interface SectionOutput {
  /** The section's markdown, from its `## ` heading on, without markers. */
  markdown: string;
  charts: Chart[];
  targets: TargetRow[];
  /** The markdown already says what wrote it and when (else a partial run stamps it). */
  dated?: boolean;
}

export interface Section {
  id: string;
  /** One line for `--help`. */
  summary: string;
  /** Whether a run without `--only` includes it. */
  byDefault(config: BenchConfig): boolean;
  /** Present for per-path sections: the servers `measure` uses on each path. */
  servers?(config: BenchConfig): readonly ServerKind[];
  /** Per-path sections get each path in turn; the others get null. */
  measure(ctx: SectionContext, path: BenchPath | null): Promise<void>;
  /** `failures`: what went wrong in `measure`, by path ("" for a section without paths). */
  render(ctx: RenderContext, failures: ReadonlyMap<string, string>): SectionOutput;
}
