/**
 * Runs in every test file of the projects that start processes (vitest `setupFiles`):
 * points the process-group registry at this run's directory, and after the file's own
 * `afterAll` hooks (hooks run as a stack, so this one runs last) stops whatever the
 * file left running and fails the file, naming it.
 */
import { afterAll, expect, inject } from "vitest";
import { configureProcessGroups, stopAllGroups } from "../helpers/process-groups";

declare module "vitest" {
  export interface ProvidedContext {
    /** Set by tests/setup/process-groups.global.ts. */
    processGroupsDir: string;
  }
}

configureProcessGroups({
  runDir: inject("processGroupsDir"),
  testFile: expect.getState().testPath,
});

afterAll(async () => {
  const left = await stopAllGroups();
  if (left.length > 0) {
    const names = left.map((record) => `${record.label} (group ${record.pid})`).join(", ");
    throw new Error(`left running after the file's own cleanup, now stopped: ${names}`);
  }
});
