/**
 * `npm run bench`: measures Dormouse against its floors and writes
 * BENCHMARKS.md (and the charts next to it). What is measured is a list of
 * sections (bench/sections/index.ts); `--only` picks some and replaces just
 * their part of the file.
 *
 * Order: for each path (`wrangler dev`, then `serve:direct`), every server the
 * per-path sections need is started at once and each of those sections
 * measures on them (the interleaved comparisons: ws, http, setup, wake); the
 * path's servers are then stopped. Then the sections that start their own
 * servers (idle memory, the ceiling, federation, the replay store, tasks).
 * Raw results go to .bench/results/<timestamp>/.
 *
 * The first Ctrl-C stops between two calls and writes what was measured (a
 * partial run then leaves the file as it was); a second one quits. Every
 * server is stopped by its process group on any exit (targets.ts).
 */
import { cp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename, dirname, extname, join } from "node:path";
import { type BenchConfig, benchHelp, parseBenchConfig } from "./config";
import {
  type RenderedSection,
  type RunFacts,
  renderDocument,
  spliceSection,
  standaloneSection,
} from "./document";
import { gitRevision, loadAverage } from "./environment";
import { firstLine } from "./format";
import { createSections } from "./sections";
import type { Section, SectionContext, SectionOutput } from "./sections/section";
import { PATH_LABELS, PATHS, type ServerConfigs, type ServerKind, ServerPool } from "./servers";

/**
 * Dormouse is measured from a snapshot of worker/ and shared/ taken when the
 * run starts (one per run, removed at its end): `wrangler dev` rebuilds and
 * restarts the runtime on every source change, which closes every hibernated
 * socket, so an edit made while the benchmark runs would otherwise show up as
 * 2,000 dropped sessions. Inside the repository, so imports still resolve
 * from node_modules.
 */
const SNAPSHOTS_DIR = join(".bench", "snapshots");
/** Snapshotted with the Worker for the same reason: tests/ is edited while benchmarks run. */
const UPSTREAM_SCRIPT = join("tests", "upstreams", "stateful-upstream.ts");
const SNAPSHOT_PATHS = ["worker", "shared", "wrangler.jsonc", UPSTREAM_SCRIPT];

function configsIn(snapshot: string): ServerConfigs {
  return {
    dormouse: join(snapshot, "wrangler.jsonc"),
    floors: "bench/bare-object/wrangler.jsonc",
    mcpagent: "bench/mcp-agent-peer/wrangler.jsonc",
    /**
     * Benchmarks measure the gateway, not its rate limits (worker/config/vars.ts): the
     * per-session one, and the per-principal one of stateless 2026-07-28 requests, which a
     * lane faster than 200 calls/s for longer than its burst of 400 would run into.
     */
    dormouseVars: { RATE_LIMIT_PER_SECOND: "0", STATELESS_RATE_LIMIT_PER_SECOND: "0" },
    upstream: join(snapshot, UPSTREAM_SCRIPT),
  };
}
/** Not section ids, but accepted by --skip. */
const SKIP_WORDS = new Set<string>([...PATHS, "peer", "node"]);

async function main(): Promise<void> {
  const all = createSections();
  const argv = process.argv.slice(2);
  const config = parseBenchConfig(
    argv,
    process.env,
    all.map((s) => s.id),
  );
  if (config === "help") {
    process.stdout.write(benchHelp(all));
    return;
  }
  const selected = select(all, config);
  const command = `npm run bench${argv.length ? ` -- ${argv.join(" ")}` : ""}`;
  const startedAt = new Date();
  const loadAtStart = loadAverage();
  const revision = gitRevision();
  const runId = `${startedAt.toISOString().replace(/[:.]/g, "-")}-${process.pid}`;
  const resultsDir = join(".bench", "results", runId);
  await mkdir(resultsDir, { recursive: true });
  const snapshot = join(SNAPSHOTS_DIR, runId);
  for (const path of SNAPSHOT_PATHS) await cp(path, join(snapshot, path), { recursive: true });
  const configs = configsIn(snapshot);
  const stop = new AbortController();
  process.once("SIGINT", () => {
    stop.abort();
    process.stderr.write("\nbench: stopping after the current call (Ctrl-C again to quit)\n");
    process.once("SIGINT", () => process.exit(130));
  });
  // process.exit runs the exit hooks that kill every server's process group.
  process.once("SIGTERM", () => process.exit(143));
  process.once("SIGHUP", () => process.exit(129));

  const pool = new ServerPool(configs);
  const ctx: SectionContext = { config, pool, configs, resultsDir, signal: stop.signal };
  const failures = new Map<string, Map<string, string>>(selected.map((s) => [s.id, new Map()]));
  try {
    await measureAll(ctx, selected, failures);
  } finally {
    await pool.stopAll();
    await rm(snapshot, { recursive: true, force: true, maxRetries: 3 });
  }

  const facts: RunFacts = {
    config,
    command,
    startedAt,
    finishedAt: new Date(),
    interrupted: stop.signal.aborted,
    load: { start: loadAtStart, end: loadAverage() },
    revision,
    failures: [...failures].flatMap(([id, byPath]) =>
      [...byPath].map(
        ([path, why]) =>
          `${id}${path ? ` (${PATH_LABELS[path as keyof typeof PATH_LABELS]})` : ""}: ${why}`,
      ),
    ),
  };
  const chartLink = (name: string) => chartFile(config.out, name);
  const outputs = selected.map((s): [Section, SectionOutput] => [
    s,
    s.render(
      { config, command, startedAt, chartLink: (name) => `./${basename(chartLink(name))}` },
      failures.get(s.id) ?? new Map(),
    ),
  ]);
  if (config.only && facts.interrupted) {
    process.stderr.write(`bench: interrupted; ${config.out} left as it was\n`);
    process.exitCode = 130;
    return;
  }
  await mkdir(dirname(config.out) || ".", { recursive: true });
  for (const [, output] of outputs)
    for (const chart of output.charts) await writeFile(chartLink(chart.name), chart.svg);
  await writeFile(config.out, await documentFor(config, facts, outputs));
  process.stderr.write(`bench: wrote ${config.out} (raw results in ${resultsDir})\n`);
  if (facts.failures.length > 0) process.exitCode = 1;
}

function select(all: readonly Section[], config: BenchConfig): Section[] {
  const ids = new Set(all.map((s) => s.id));
  for (const id of config.only ?? [])
    if (!ids.has(id)) throw new Error(`--only: no section "${id}" (${[...ids].join(", ")})`);
  for (const word of config.skip)
    if (!ids.has(word) && !SKIP_WORDS.has(word))
      throw new Error(
        `--skip: "${word}" is neither a section nor one of ${[...SKIP_WORDS].join(", ")}`,
      );
  return all.filter(
    (s) => (config.only ? config.only.has(s.id) : s.byDefault(config)) && !config.skip.has(s.id),
  );
}

/** Path by path the per-path sections on shared servers, then the others. */
async function measureAll(
  ctx: SectionContext,
  selected: readonly Section[],
  failures: Map<string, Map<string, string>>,
): Promise<void> {
  const fail = (s: Section, path: string, error: unknown) => {
    failures.get(s.id)?.set(path, firstLine(error));
    process.stderr.write(`bench: ${s.id}${path ? ` on ${path}` : ""} failed: ${String(error)}\n`);
  };
  const perPath = selected.filter((s) => s.servers);
  for (const path of ctx.config.paths) {
    if (perPath.length === 0 || ctx.signal.aborted) break;
    const kinds = [
      ...new Set(perPath.flatMap((s) => s.servers?.(ctx.config) ?? [])),
    ] as ServerKind[];
    process.stderr.write(`bench: ${PATH_LABELS[path]}: starting ${kinds.join(", ")}\n`);
    try {
      await ctx.pool.use(path, kinds);
    } catch (error) {
      for (const s of perPath) fail(s, path, error);
      continue;
    }
    for (const s of perPath) {
      if (ctx.signal.aborted) break;
      process.stderr.write(`bench: ${s.id} on ${PATH_LABELS[path]}\n`);
      try {
        await s.measure(ctx, path);
      } catch (error) {
        fail(s, path, error);
      }
    }
  }
  await ctx.pool.stopAll();
  for (const s of selected.filter((x) => !x.servers)) {
    if (ctx.signal.aborted) break;
    process.stderr.write(`bench: ${s.id}\n`);
    try {
      await s.measure(ctx, null);
    } catch (error) {
      fail(s, "", error);
    }
  }
}

/** The whole file for a full run; the existing file with this run's sections spliced in otherwise. */
async function documentFor(
  config: BenchConfig,
  facts: RunFacts,
  outputs: readonly [Section, SectionOutput][],
): Promise<string> {
  if (!config.only) {
    const sections: RenderedSection[] = outputs.map(([s, o]) => ({
      id: s.id,
      markdown: o.markdown,
      targets: o.targets,
    }));
    return renderDocument(facts, sections);
  }
  let document = "";
  try {
    document = await readFile(config.out, "utf8");
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ENOENT") throw error;
  }
  for (const [s, o] of outputs)
    document = spliceSection(
      document,
      s.id,
      standaloneSection(facts, o.markdown, o.targets, o.dated === true),
    );
  return document;
}

/** `BENCHMARKS.md` + `ws-wrangler` → `BENCHMARKS-ws-wrangler.svg`, next to it. */
function chartFile(out: string, name: string): string {
  return join(dirname(out), `${basename(out, extname(out))}-${name}.svg`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
