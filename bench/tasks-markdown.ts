/**
 * The tasks section of BENCHMARKS.md, between TASKS_START and TASKS_END, so
 * `npm run bench -- --tasks-only` can replace it in place and leave the rest
 * of the file as the last full run wrote it (the same scheme as the
 * federation section). It carries its own command, date, revision and machine.
 */
import { readFile, writeFile } from "node:fs/promises";
import type { LatencySummary } from "../tools/load/latency";
import { gitRevision, machine, versions } from "./environment";
import {
  BLOCK_CALLS,
  runTasksBench,
  type TaskMode,
  type TasksBenchOptions,
  type TasksBenchResult,
} from "./tasks";

export const TASKS_START = "<!-- tasks:start -->";
export const TASKS_END = "<!-- tasks:end -->";
const INSERT_BEFORE = "## Commands";

const LABELS: Record<TaskMode, [string, string]> = {
  "http-plain": [
    "plain call, 2026-07-28 HTTP",
    "`tools/call sleep {ms: 0}`, no extension declared",
  ],
  "http-task": [
    "task, 2026-07-28 HTTP",
    "`tools/call` answered `resultType: task`, then `tasks/get` back to back until `completed`",
  ],
  "ws-plain": ["plain call, session era WebSocket", "`tools/call sleep {ms: 0}`"],
  "ws-task": [
    "task, session era WebSocket",
    "`tools/call` with `params.task`, then one `tasks/result` that waits for the end",
  ],
};

export function renderTasksSection(
  command: string,
  result: TasksBenchResult | null,
  failure?: string,
): string {
  const out = [TASKS_START, "## Tasks: what a task costs, and what waiting costs", ""];
  const at = result?.startedAt ?? new Date();
  out.push(
    `Written by \`${command}\` on ${at.toISOString().slice(0, 16).replace("T", " ")} UTC; ` +
      `Dormouse ${gitRevision()}. Machine: ${machine()}. Versions: ${versions()}.`,
  );
  if (!result) {
    out.push("", `Not measured in this run${failure ? `: ${failure}` : "."}`, TASKS_END);
    return out.join("\n");
  }
  if (result.interrupted) out.push("", "**This run was interrupted (Ctrl-C).**");
  out.push(
    "",
    "> Measured on a shared 2-core machine where other builds and tests may run: expect tens of",
    "> percent between runs; compare rows of the same run (they are interleaved), not runs.",
  );
  out.push(
    "",
    `A zero-length task (\`sleep {ms: 0}\`) against the same call made plainly, one Dormouse under \`wrangler dev\`, ` +
      `one operation in flight at a time, ${result.blocks} measured blocks of ${BLOCK_CALLS} per row after one unmeasured block, ` +
      "the rows taking turns block by block. A task operation is the whole exchange until the result is in hand. " +
      "Server CPU: every gateway process's threads (`/proc/<pid>/task/*/schedstat`) around each block, per operation.",
    "",
    "| row | what one operation is | n | p50 ms | p90 ms | p99 ms | mean ms | server CPU ms/op | tasks/get per task | errors |",
    "|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const row of result.rows) {
    const [label, what] = LABELS[row.mode];
    const l: LatencySummary | null = row.latencyMs;
    out.push(
      `| ${label} | ${what} | ${l?.count ?? 0} | ${n(l?.p50)} | ${n(l?.p90)} | ${n(l?.p99)} | ${n(l?.mean)} | ${n(row.cpuMsPerOp)} | ${row.pollsPerTask === null ? "" : n(row.pollsPerTask)} | ${row.errors} |`,
    );
  }
  const w = result.waiting;
  if (w) {
    const perTask = (a: number, b: number) => (w.tasks > 0 ? (b - a) / w.tasks : 0);
    out.push(
      "",
      `${w.tasks} \`wait\` tasks (1 h, one step per hour) created at once (${Math.round(w.createMs)} ms, ` +
        `${Math.round((w.tasks * 1000) / w.createMs)}/s), then ${15} s of silence. Objects awake between steps: ` +
        "read once afterwards, a task whose object was not constructed again to answer (wake count unchanged) was still awake.",
      "",
      "| | RSS MiB | open files |",
      "|---|---|---|",
      `| before | ${mib(w.rssKiB.before)} | ${w.openFiles.before} |`,
      `| right after creating | ${mib(w.rssKiB.created)} | ${w.openFiles.created} |`,
      `| after the silence (waiting) | ${mib(w.rssKiB.idle)} | ${w.openFiles.idle} |`,
      `| per waiting task | ${(perTask(w.rssKiB.before, w.rssKiB.idle)).toFixed(1)} KiB | ${perTask(w.openFiles.before, w.openFiles.idle).toFixed(3)} |`,
      "",
      `Objects awake between steps: **${w.awakeBetweenSteps}** of ${w.tasks} (evicted: ${w.evicted}; unreadable: ${w.unreadable}).`,
    );
  }
  out.push(TASKS_END);
  return out.join("\n");
}

/** `document` with its tasks section replaced by `section`, or with it inserted. */
export function spliceTasksSection(document: string, section: string): string {
  const start = document.indexOf(TASKS_START);
  const end = document.indexOf(TASKS_END);
  if (start >= 0 && end > start) {
    return document.slice(0, start) + section + document.slice(end + TASKS_END.length);
  }
  const heading = document.indexOf(INSERT_BEFORE);
  if (heading >= 0) return `${document.slice(0, heading)}${section}\n\n${document.slice(heading)}`;
  const body = document.trimEnd();
  return `${body}${body ? "\n\n" : ""}${section}\n`;
}

/** Runs the tasks rows and writes their section into `out` (the rest of the file is kept). */
export async function writeTasksSection(
  options: TasksBenchOptions,
  command: string,
  out: string,
): Promise<void> {
  let section: string;
  try {
    const result = await runTasksBench(options);
    section = renderTasksSection(command, result);
    process.stderr.write(`${section}\n`);
  } catch (error) {
    section = renderTasksSection(
      command,
      null,
      error instanceof Error ? error.message.split("\n")[0] : String(error),
    );
    process.stderr.write(`bench: tasks failed: ${String(error)}\n`);
  }
  let existing = "";
  try {
    existing = await readFile(out, "utf8");
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ENOENT") throw error;
  }
  await writeFile(out, spliceTasksSection(existing, section));
  process.stderr.write(`bench: wrote the tasks section of ${out}\n`);
}

function n(value: number | null | undefined): string {
  if (value === null || value === undefined) return "";
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

function mib(kib: number): string {
  return (kib / 1024).toFixed(1);
}
