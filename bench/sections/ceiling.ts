/**
 * `ceiling` (`--ceiling`, or `--only ceiling`): the most idle WebSocket
 * sessions each server holds, each fresh and alone, ramping up in steps until
 * the first error. It crashes local workerd on purpose at the end of each search.
 */
import type { LoadReport } from "../../tools/load/report";
import type { BenchConfig } from "../config";
import { errorsOf } from "../format";
import type { LoadRun } from "../load-runner";
import { type BenchPath, PATH_LABELS, type ServerConfigs } from "../servers";
import { type RunningTarget, startWsEcho } from "../targets";
import { onFreshServer, pathName, starter } from "./fresh";
import type { Section, TargetRow } from "./section";

export function ceilingSection(): Section {
  const runs = new Map<string, LoadRun>();
  const failed = new Map<string, string>();
  const plan = (c: BenchConfig) => {
    const list: {
      key: string;
      label: string;
      path: BenchPath | "node";
      start: (cfg: ServerConfigs) => Promise<RunningTarget>;
      protocol: "mcp" | "echo";
    }[] = [];
    for (const path of c.paths) {
      list.push({
        key: `ceiling:dormouse:${path}`,
        label: "Dormouse",
        path,
        start: starter("dormouse", path),
        protocol: "mcp",
      });
      list.push({
        key: `ceiling:bare:${path}`,
        label: "bare object",
        path,
        start: starter("floors", path),
        protocol: "echo",
      });
    }
    if (!c.skip.has("node"))
      list.push({
        key: "ceiling:nodews:node",
        label: "Node ws",
        path: "node",
        start: () => startWsEcho(),
        protocol: "echo",
      });
    return list;
  };
  return {
    id: "ceiling",
    summary:
      "the most idle WebSocket sessions each server holds (--ceiling; crashes local workerd on purpose)",
    byDefault: (c) => c.ceiling,
    async measure(ctx) {
      const c = ctx.config;
      for (const run of plan(c)) {
        if (ctx.signal.aborted) return;
        process.stderr.write(`  ceiling: ${run.label}, ${pathName(run.path)}\n`);
        const args = (url: string) => [
          "--url",
          `${url}/ws`,
          "--protocol",
          run.protocol,
          "--sessions",
          String(c.ceilingMax),
          "--ramp-step",
          String(c.ceilingStep),
          "--ramp-settle",
          "2",
          "--concurrency",
          "32",
          "--idle",
          String(c.idleS),
          "--wake-sample",
          "100",
          "--timeout",
          "30",
        ];
        try {
          runs.set(
            run.key,
            await onFreshServer(
              ctx,
              () => run.start(ctx.configs),
              run.key,
              args,
              c.ceilingMax / 50 + c.idleS + 120,
            ),
          );
        } catch (error) {
          failed.set(
            run.key,
            error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error),
          );
        }
      }
    },
    render(ctx, failures) {
      const out: string[] = [
        "## Ceiling: the most idle sessions held",
        "",
        "Each server fresh and alone, ramping up in steps of `--ceiling-step` WebSocket sessions, each step left to settle, until the first error (`--ceiling`). " +
          "The search ramps as fast as it can: objects connected in the last 10 s have not hibernated yet and hold about two more files each, so it finds less than the steady-state estimate of the idle section.",
        "",
      ];
      const failure = failures.get("");
      if (failure) out.push(`**Failed:** ${failure}`, "");
      for (const [key, why] of failed) out.push(`- **${key} failed:** ${why}`);
      if (failed.size > 0) out.push("");
      const targets: TargetRow[] = [];
      if (runs.size === 0) {
        out.push("Not searched in this run (`npm run bench -- --ceiling`).");
        return { markdown: out.join("\n"), charts: [], targets };
      }
      out.push(
        "| server | path | held, zero errors | first error at | errors then | RSS per session at the last clean step |",
        "|---|---|---|---|---|---|",
      );
      for (const run of plan(ctx.config)) {
        const r = runs.get(run.key)?.report;
        if (!r) continue;
        out.push(
          `| ${run.label} | ${pathName(run.path)} | ${r.ceiling?.heldClean ?? "-"} | ${r.ceiling?.failedAt ?? "not reached"} | ${errorsOf(r.errors)} | ${lastCleanKiB(r)} |`,
        );
      }
      for (const path of ctx.config.paths) {
        const d = runs.get(`ceiling:dormouse:${path}`)?.report.ceiling;
        const b = runs.get(`ceiling:bare:${path}`)?.report.ceiling;
        if (!d || !b) continue;
        targets.push({
          target: `most idle sessions held ≥ the bare object's, no regression (${PATH_LABELS[path]})`,
          measured: `${d.heldClean} vs ${b.heldClean}`,
          met: d.heldClean >= b.heldClean,
        });
      }
      return { markdown: out.join("\n"), charts: [], targets };
    },
  };
}

function lastCleanKiB(r: LoadReport): string {
  const before = r.resources?.samples.find((s) => s.label === "before");
  const clean = r.ceiling?.heldClean ?? 0;
  const at = r.resources?.samples.find((s) => s.label === `ramp ${clean}`);
  if (!before || !at || clean === 0) return "-";
  return `${((at.rssKiB - before.rssKiB) / clean).toFixed(1)} KiB`;
}
