/**
 * `npm run bench -- --resume-only` (the hook in bench/run.ts): starts the two
 * gateways the resume benchmark compares (REPLAY on and off, from one
 * snapshot of the Worker, the per-session rate limit off), measures them
 * (bench/resume.ts) and replaces the resume section of BENCHMARKS.md (or
 * `--out`), leaving the rest of the file as it was. Every server is stopped
 * by its process group, whatever happens.
 */
import { cp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { discoverGateway } from "../tools/load/gateway-procs";
import { log, measureResume, parseResumeOptions, type Server, WARMUP_BLOCKS } from "./resume";
import { renderResumeSection, spliceResumeSection } from "./resume-markdown";
import { startWranglerDev } from "./targets";

/** `wrangler dev` restarts on every source change: measure a copy taken when the run starts. */
const SNAPSHOT_DIR = join(".bench", "snapshot-resume");
const SNAPSHOT_PATHS = ["worker", "shared", "wrangler.jsonc"];
const CONFIG = join(SNAPSHOT_DIR, "wrangler.jsonc");
/** The benchmark measures the gateway, not its per-session rate limit. */
const BASE_VARS = { RATE_LIMIT_PER_SECOND: "0" };

export async function runResumeOnly(argv: readonly string[]): Promise<void> {
  const options = parseResumeOptions(argv);
  const command = `npm run bench -- ${argv.join(" ")}`;
  const startedAt = new Date();
  await rm(SNAPSHOT_DIR, { recursive: true, force: true });
  for (const path of SNAPSHOT_PATHS) await cp(path, join(SNAPSHOT_DIR, path), { recursive: true });
  const servers: Server[] = [];
  try {
    for (const replay of ["on", "off"] as const) {
      log(`starting Dormouse with REPLAY=${replay}`);
      const target = await startWranglerDev(`Dormouse REPLAY=${replay}`, CONFIG, {
        ...BASE_VARS,
        REPLAY: replay,
      });
      servers.push({
        replay,
        target,
        pids: discoverGateway(Number(new URL(target.url).port)).map((p) => p.pid),
      });
    }
    const measured = await measureResume(servers, options);
    const result = { startedAt, options, warmupBlocks: WARMUP_BLOCKS, ...measured };
    await writeSection(options.out, renderResumeSection({ command, result }));
    log(`wrote the resume section of ${options.out}`);
  } finally {
    await Promise.all(servers.map((s) => s.target.stop()));
  }
}

async function writeSection(out: string, section: string): Promise<void> {
  let existing = "";
  try {
    existing = await readFile(out, "utf8");
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ENOENT") throw error;
    await mkdir(dirname(out), { recursive: true });
  }
  await writeFile(out, spliceResumeSection(existing, section));
}
