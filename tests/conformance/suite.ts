/**
 * Runs the official MCP conformance suite (@modelcontextprotocol/conformance,
 * a pinned devDependency, plus the 0.2.0-alpha line under the npm alias
 * `conformance-next`) against a real gateway, and reads its per-check
 * results. Both CLIs need Node >= 22, so they run on the project's own Node
 * (process.execPath under npm scripts).
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { killGroup, spawnGroup, stopGroup } from "../helpers/process-groups";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const STABLE_CLI = join(
  REPO_ROOT,
  "node_modules/@modelcontextprotocol/conformance/dist/index.js",
);
export const NEXT_CLI = join(REPO_ROOT, "node_modules/conformance-next/dist/index.js");

export interface Check {
  id: string;
  name: string;
  status: "SUCCESS" | "FAILURE" | "WARNING" | "INFO" | "SKIPPED";
  errorMessage?: string;
}

export interface SuiteRun {
  exitCode: number;
  output: string;
  /** Scenario name -> its checks, from the CLI's checks.json files. */
  scenarios: Map<string, Check[]>;
}

/** Runs one CLI invocation with a hard time limit; always removes its output dir. */
export async function runSuite(cli: string, args: string[], timeoutMs: number): Promise<SuiteRun> {
  const outDir = await mkdtemp(join(tmpdir(), "dormouse-conformance-"));
  try {
    const { exitCode, output } = await run(
      process.execPath,
      [cli, ...args, "-o", outDir],
      timeoutMs,
    );
    return { exitCode, output, scenarios: await readChecks(outDir) };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

/** Scenario names with at least one FAILURE check, with the failing checks' messages. */
export function failures(run: SuiteRun, only?: Set<string>): string[] {
  const failed: string[] = [];
  for (const [scenario, checks] of run.scenarios) {
    if (only && !only.has(scenario)) continue;
    for (const check of checks) {
      if (check.status === "FAILURE")
        failed.push(`${scenario}: ${check.id}: ${check.errorMessage ?? check.name}`);
    }
  }
  return failed;
}

async function readChecks(outDir: string): Promise<Map<string, Check[]>> {
  const scenarios = new Map<string, Check[]>();
  for (const entry of await readdir(outDir)) {
    // <dir>/server-<scenario>-<timestamp>/checks.json
    const match = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z?$/.exec(entry);
    const scenario = match?.[1] ?? entry;
    try {
      const checks = JSON.parse(
        await readFile(join(outDir, entry, "checks.json"), "utf8"),
      ) as Check[];
      scenarios.set(scenario, [...(scenarios.get(scenario) ?? []), ...checks]);
    } catch {
      // A scenario directory without checks.json: the CLI's exit code still tells.
    }
  }
  return scenarios;
}

function run(
  command: string,
  args: string[],
  timeoutMs: number,
): Promise<{ exitCode: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawnGroup("conformance CLI", command, args, {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout?.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr?.on("data", (chunk) => {
      output += chunk;
    });
    const timer = setTimeout(() => {
      killGroup(child.pid, "SIGKILL");
      reject(new Error(`conformance CLI timed out after ${timeoutMs} ms\n${output.slice(-4000)}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      // Anything the CLI left behind in its group goes with it.
      stopGroup(child.pid).then(() => resolve({ exitCode: code ?? 1, output }), reject);
    });
  });
}

/** One line for the run's log: scenarios, and checks by status. */
export function summary(label: string, run: SuiteRun): string {
  const counts = new Map<string, number>();
  for (const checks of run.scenarios.values()) {
    for (const check of checks) counts.set(check.status, (counts.get(check.status) ?? 0) + 1);
  }
  const checks = [...counts].map(([status, n]) => `${n} ${status}`).join(", ");
  return `${label}: ${run.scenarios.size} scenarios, checks ${checks}, exit ${run.exitCode}`;
}
