/**
 * The vitest options every project that starts processes shares: register each
 * process group the tests start (tests/helpers/process-groups.ts), stop what a file
 * left running after that file, and fail the run, naming it, if any group is still
 * alive at its end. Paths are relative to the repository root (vitest's `root`).
 */
export const processGroups = {
  globalSetup: ["tests/setup/process-groups.global.ts"],
  setupFiles: ["tests/setup/process-groups.file.ts"],
};
