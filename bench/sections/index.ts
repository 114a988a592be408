/**
 * Every section of BENCHMARKS.md, in the order a run measures them and the
 * file shows them. To add one (say `tasks`), write a Section (section.ts) and
 * list it here: `--only tasks` (or `--tasks-only`) and `--skip tasks` then
 * work, and its part of the file gets its own markers so a partial run
 * replaces only it.
 *
 * The per-path sections (`servers` set) share one set of servers per path;
 * the others start their own.
 */

import { ceilingSection } from "./ceiling";
import { federationSection } from "./federation";
import { httpSection } from "./http";
import { idleSection } from "./idle";
import type { Section } from "./section";
import { setupSection } from "./setup";
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
  ];
}
