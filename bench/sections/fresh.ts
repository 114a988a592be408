/**
 * Fresh servers for the sections that measure one server at a time (idle,
 * ceiling): start it with its own state directory, run the load generator
 * against it as a child process (exactly `npm run load`), stop it.
 */
import { type LoadRun, runLoadTool } from "../load-runner";
import { type BenchPath, PATH_LABELS, type ServerConfigs } from "../servers";
import { type RunningTarget, startDirect, startWranglerDev } from "../targets";
import type { SectionContext } from "./section";

export function starter(kind: "dormouse" | "floors" | "mcpagent", path: BenchPath) {
  return (configs: ServerConfigs) => {
    const config = configs[kind];
    const vars = kind === "dormouse" ? configs.dormouseVars : {};
    return path === "wrangler"
      ? startWranglerDev(kind, config, vars)
      : startDirect(`${kind} direct`, config, vars);
  };
}

/** Runs the load tool against a freshly started server, then stops it. */
export async function onFreshServer(
  ctx: SectionContext,
  start: () => Promise<RunningTarget>,
  label: string,
  args: (url: string) => string[],
  expectedS: number,
): Promise<LoadRun> {
  const target = await start();
  try {
    return await runLoadTool(label, args(target.url), ctx.resultsDir, expectedS);
  } finally {
    await target.stop();
  }
}

export function pathName(path: BenchPath | "node"): string {
  return path === "node" ? "one Node process" : PATH_LABELS[path];
}
