/**
 * Runs the load generator as a child process (exactly what `npm run load`
 * runs) and reads its JSON report, so every number in BENCHMARKS.md can be
 * reproduced by one command line, which is kept next to the report.
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { LoadReport } from "../tools/load/report";
import { bundle } from "./bundles";

const LOAD_BUNDLE = bundle("load");
const EXTRA_TIMEOUT_S = 120;

export interface LoadRun {
  label: string;
  args: string[];
  report: LoadReport;
}

export async function runLoadTool(
  label: string,
  args: string[],
  resultsDir: string,
  expectedS: number,
): Promise<LoadRun> {
  const file = join(resultsDir, `${label.replace(/[^\w.-]+/g, "_")}.json`);
  const full = [
    ...args,
    "--quiet",
    "--json",
    file,
    "--max-runtime",
    String(Math.ceil(expectedS + EXTRA_TIMEOUT_S)),
  ];
  process.stderr.write(`  load: ${label}: npm run load -- ${args.join(" ")}\n`);
  const child = spawn(process.execPath, [LOAD_BUNDLE, ...full], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
  if (code !== 0) throw new Error(`load run "${label}" exited ${code}\n${output}`);
  const report = JSON.parse(await readFile(file, "utf8")) as LoadReport;
  const errors = Object.entries(report.errors);
  const summary =
    errors.length === 0 ? "no errors" : errors.map(([k, n]) => `${k} ${n}`).join(", ");
  process.stderr.write(`        ${summary}\n`);
  return { label, args, report };
}
