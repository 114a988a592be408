/**
 * Every section of BENCHMARKS.md, in the order a run measures them and the
 * file shows them. To add one (say `cold`), write a Section (section.ts) and
 * list it here: `--only cold` (or `--cold-only`) and `--skip cold` then work,
 * its sizes go in config.ts (with `--quick` ones and a line in `--help`), and
 * its part of the file gets its own markers so a partial run replaces only it.
 *
 * The per-path sections (`servers` set) share one set of servers per path;
 * the others (idle, ceiling, federation, resume, tasks) start their own from
 * the run's snapshot of the Worker (`ctx.configs`).
 */

import { ceilingSection } from "./ceiling";
import { federationSection } from "./federation";
import { httpSection } from "./http";
import { idleSection } from "./idle";
import { resumeSection } from "./resume";
import type { Section } from "./section";
import { setupSection } from "./setup";
import { tasksSection } from "./tasks";
import { wakeSection } from "./wake";
import { wsSection } from "./ws";

export function createSections(): Section[] {
  return [
    wsSection(),
    httpSection(),
    setupSection(),
    wakeSection(),
    idleSection(),
    ceilingSection(),
    federationSection(),
    resumeSection(),
    tasksSection(),
  ];
}
