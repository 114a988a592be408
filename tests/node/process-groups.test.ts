/**
 * No test leaves a process behind: a setup whose sibling start fails stops what
 * did start (startAll), a group a file forgot is stopped after that file, and a
 * group whose worker died is killed at the end of the run, which then fails naming
 * it. Real processes throughout, checked by PID.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { launchChromium } from "../browser/chromium";
import {
  groupAlive,
  spawnGroup,
  stopAllGroups,
  stopGroup,
  trackGroup,
} from "../helpers/process-groups";
import { startAll } from "../helpers/start-all";
import { withTimeout } from "../helpers/wait";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const VITEST_BIN = join(REPO_ROOT, "node_modules", "vitest", "vitest.mjs");
const LEAKY_CONFIG = join(REPO_ROOT, "tests/node/fixtures/process-groups/vitest.config.ts");
const MISSING_BROWSER = "/nonexistent/chromium";
const READY_TIMEOUT_MS = 10_000;
const NESTED_RUN_TIMEOUT_MS = 90_000;

interface Sleeper {
  pid: number;
  stop(): Promise<void>;
}

/** A real process that idles until stopped; `started` learns its PID before it is ready. */
async function startSleeper(label: string, started: (pid: number) => void): Promise<Sleeper> {
  const child = spawnGroup(
    label,
    process.execPath,
    ["-e", "console.log('ready'); setInterval(() => {}, 1000)"],
    { stdio: ["ignore", "pipe", "ignore"] },
  );
  started(child.pid);
  await withTimeout(
    new Promise((resolve) => child.stdout?.once("data", resolve)),
    READY_TIMEOUT_MS,
    `${label} to start`,
  );
  return { pid: child.pid, stop: () => stopGroup(child.pid) };
}

describe("a setup whose sibling start fails", () => {
  it("startAll stops the sibling that started and rethrows the failure", async () => {
    let pid = 0;
    await expect(
      startAll([
        startSleeper("sleeper beside a failing browser", (p) => {
          pid = p;
        }),
        launchChromium({ executablePath: MISSING_BROWSER }),
      ]),
    ).rejects.toThrow(`no browser at ${MISSING_BROWSER}`);
    expect(pid).toBeGreaterThan(0);
    expect(groupAlive(pid)).toBe(false);
  });

  it("with Promise.all the sibling is orphaned, and stopping the file's groups ends it", async () => {
    let pid = 0;
    const sleeper = startSleeper("sleeper orphaned by Promise.all", (p) => {
      pid = p;
    });
    await expect(
      Promise.all([sleeper, launchChromium({ executablePath: MISSING_BROWSER })]),
    ).rejects.toThrow(`no browser at ${MISSING_BROWSER}`);
    await sleeper; // Still starting after Promise.all gave up on it: the original bug.
    expect(groupAlive(pid)).toBe(true);
    const left = await stopAllGroups();
    expect(left.map((record) => record.label)).toEqual(["sleeper orphaned by Promise.all"]);
    expect(groupAlive(pid)).toBe(false);
  });
});

describe("a run that leaks", () => {
  it("stops a group its file left running, kills one whose worker died, and fails naming both", async () => {
    const pidDir = await mkdtemp(join(tmpdir(), "dormouse-leak-pids-"));
    try {
      const env = Object.fromEntries(
        Object.entries(process.env).filter(([key]) => !key.startsWith("VITEST")),
      );
      const run = spawnGroup(
        "nested vitest run (tests/node/fixtures/process-groups)",
        process.execPath,
        [VITEST_BIN, "run", "--config", LEAKY_CONFIG],
        {
          cwd: REPO_ROOT,
          stdio: ["ignore", "pipe", "pipe"],
          env: { ...env, LEAK_PID_DIR: pidDir, NO_COLOR: "1", FORCE_COLOR: "0" },
        },
      );
      let text = "";
      const output = () => text;
      for (const stream of [run.stdout, run.stderr])
        stream?.on("data", (chunk: Buffer) => {
          text += chunk.toString("utf8");
        });
      const exited = new Promise<number | null>((resolve) => run.once("exit", resolve));
      const code = await withTimeout(exited, NESTED_RUN_TIMEOUT_MS, "the nested vitest run");
      await stopGroup(run.pid);

      const leftover = Number(await readFile(join(pidDir, "leftover.pid"), "utf8"));
      const orphan = Number(await readFile(join(pidDir, "orphan.pid"), "utf8"));
      // Ours to clean up, should the nested run not have.
      trackGroup(leftover, "leftover sleeper from the nested run");
      trackGroup(orphan, "orphan sleeper from the nested run");

      expect(groupAlive(leftover)).toBe(false);
      expect(groupAlive(orphan)).toBe(false);
      expect(code, output()).not.toBe(0);
      expect(output()).toContain(
        `left running after the file's own cleanup, now stopped: leftover sleeper (group ${leftover})`,
      );
      expect(output()).toContain("process groups still running at the end of the run");
      expect(output()).toContain(`orphan sleeper (group ${orphan}) from `);
      expect(output()).not.toContain(`leftover sleeper (group ${leftover}) from `);
    } finally {
      await rm(pidDir, { recursive: true, force: true });
    }
  }, 120_000);
});
