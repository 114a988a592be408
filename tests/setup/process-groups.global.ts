/**
 * vitest `globalSetup` for the projects that start processes: gives the run a
 * directory in which every started process group is registered (see
 * tests/helpers/process-groups.ts), and at the end of the run kills every registered
 * group still alive and fails the run, naming each one. Per-file cleanup normally
 * leaves nothing for this to do; it catches a worker that died before its cleanup ran.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { reapGroups } from "../helpers/process-groups";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), "dormouse-process-groups-"));
  project.provide("processGroupsDir", dir);
  return async () => {
    try {
      const reaped = await reapGroups(dir);
      if (reaped.length > 0) {
        throw new Error(
          `process groups still running at the end of the run (project ${project.name}):\n` +
            reaped.map((line) => `  - ${line}`).join("\n"),
        );
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
}
