/**
 * The tasks section of BENCHMARKS.md (sections/tasks.ts), from its heading
 * on: the runner adds the markers and, on a partial run, the stamp saying what
 * wrote it and when.
 */
import type { LatencySummary } from "../tools/load/latency";
import { BLOCK_CALLS, type TaskMode, type TasksBenchResult } from "./tasks";

export const TASKS_HEADING = "## Tasks: what a task costs, and what waiting costs";

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

/** `failure`: why there is no result, when there is none. */
export function renderTasksSection(result: TasksBenchResult | null, failure?: string): string {
  if (!result)
    return `${TASKS_HEADING}\n\nNot measured in this run${failure ? `: ${failure}` : "."}`;
  const out = [TASKS_HEADING];
  if (result.interrupted) out.push("", "**This run was interrupted (Ctrl-C).**");
  out.push(
    "",
    "> Expect tens of percent between runs on a busy machine; compare rows of the same run (they",
    "> are interleaved), not runs.",
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
  return out.join("\n");
}

function n(value: number | null | undefined): string {
  if (value === null || value === undefined) return "";
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

function mib(kib: number): string {
  return (kib / 1024).toFixed(1);
}
