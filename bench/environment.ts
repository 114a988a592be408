/**
 * What a benchmark ran on, for the header of every section that reports
 * numbers: the machine, the versions of the runtimes and packages measured,
 * and the git revision of Dormouse (flagging uncommitted changes).
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import { openFileLimit } from "../tools/load/options";

export function machine(): string {
  const cpu = cpus();
  let memoryGiB = (totalmem() / 2 ** 30).toFixed(0);
  if (!memoryGiB) memoryGiB = "?";
  return `${cpu[0]?.model ?? "unknown CPU"}, ${cpu.length} cores, ${memoryGiB} GiB RAM, Linux ${release()}, open-file limit ${openFileLimit()}`;
}

export function versions(): string {
  const names = ["wrangler", "workerd", "miniflare", "agents", "@modelcontextprotocol/sdk", "ws"];
  const found = names.map((name) => `${name} ${packageVersion(name)}`);
  return [`Node ${process.version}`, ...found].join(", ");
}

export function packageVersion(name: string): string {
  try {
    const pkg = JSON.parse(readFileSync(join("node_modules", name, "package.json"), "utf8")) as {
      version?: string;
    };
    return pkg.version ?? "?";
  } catch {
    return "?";
  }
}

export function gitRevision(): string {
  const head = spawnSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" });
  const dirty = spawnSync("git", ["status", "--porcelain", "--untracked-files=no"], {
    encoding: "utf8",
  });
  const sha = head.status === 0 ? head.stdout.trim() : "unknown";
  return `git ${sha}${dirty.stdout.trim() ? " plus uncommitted changes" : ""}`;
}

/** The 1-minute load average now: how busy the machine was, next to the numbers it produced. */
export function loadAverage(): number {
  return Math.round((loadavg()[0] ?? 0) * 100) / 100;
}
