/**
 * `resume`: what the WebSocket replay store costs (bench/resume.ts): two
 * gateways from the run's snapshot, identical but for `REPLAY` (on, off),
 * warm echo and counter calls interleaved between them, then the time from a
 * restored connection to its first replayed message. It starts its own
 * gateways under `wrangler dev`. `--resume-only` is `--only resume`.
 */
import { type ResumeResult, runResume } from "../resume";
import { renderResumeSection } from "../resume-markdown";
import { startWranglerDev } from "../targets";
import type { Section } from "./section";

/** Silence before the evicted re-attaches (> 10 s: local workerd evicts after 10 s). */
const EVICTED_IDLE_S = 12.5;

export function resumeSection(): Section {
  let result: ResumeResult | null = null;
  return {
    id: "resume",
    summary: "the replay store's cost: REPLAY on against off, and re-attach times (wrangler dev)",
    byDefault: () => true,
    async measure(ctx) {
      const c = ctx.config;
      const { configs } = ctx;
      result = await runResume(
        {
          levels: c.resumeLevels,
          blocks: c.resumeBlocks,
          blockCalls: c.resumeBlockCalls,
          samples: c.resumeSamples,
          evictedSamples: c.resumeEvicted,
          idleS: EVICTED_IDLE_S,
          signal: ctx.signal,
        },
        (replay) =>
          startWranglerDev(`Dormouse REPLAY=${replay}`, configs.dormouse, {
            ...configs.dormouseVars,
            REPLAY: replay,
          }),
        ctx.resultsDir,
      );
    },
    render(_ctx, failures) {
      return { markdown: renderResumeSection(result, failures.get("")), charts: [], targets: [] };
    },
  };
}
