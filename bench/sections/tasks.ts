/**
 * `tasks`: durable tasks (bench/tasks.ts): a zero-length task against the same
 * call made plainly, over 2026-07-28 HTTP and session-era WebSocket, then many
 * tasks left waiting (how many stay awake, RSS and open files). It starts its
 * own Dormouse from the run's snapshot under `wrangler dev`, with
 * MAX_TASKS_PER_PRINCIPAL raised above what it creates. `--tasks-only` is
 * `--only tasks`.
 */
import { startWranglerDev } from "../targets";
import { BLOCK_CALLS, runTasksBench, type TasksBenchResult } from "../tasks";
import { renderTasksSection } from "../tasks-markdown";
import type { Section } from "./section";

export function tasksSection(): Section {
  let result: TasksBenchResult | null = null;
  return {
    id: "tasks",
    summary: "a task against a plain call, and what waiting tasks cost (wrangler dev)",
    byDefault: () => true,
    async measure(ctx) {
      const { tasksBlocks: blocks, tasksWaiting: waiting } = ctx.config;
      const { configs } = ctx;
      // About ten times the tasks the run creates (the waiting ones, two task rows of BLOCK_CALLS per block).
      const cap = 10 * (waiting + 2 * BLOCK_CALLS * blocks);
      result = await runTasksBench({
        startGateway: () =>
          startWranglerDev("Dormouse", configs.dormouse, {
            ...configs.dormouseVars,
            MAX_TASKS_PER_PRINCIPAL: String(cap),
          }),
        blocks,
        waiting,
        resultsDir: ctx.resultsDir,
        signal: ctx.signal,
      });
    },
    render(_ctx, failures) {
      return { markdown: renderTasksSection(result, failures.get("")), charts: [], targets: [] };
    },
  };
}
