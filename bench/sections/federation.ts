/**
 * `federation`: the added latency of a call relayed to an upstream MCP server
 * against calling that upstream directly, and the first relayed call after
 * hibernation at scale (bench/federation.ts, under `wrangler dev`).
 * `--federation-only` is `--only federation`.
 */
import { type FederationResult, runFederation } from "../federation";
import { describeFederation, renderFederationSection } from "../federation-markdown";
import { startWranglerDev } from "../targets";
import type { Section } from "./section";

export function federationSection(): Section {
  let result: FederationResult | null = null;
  return {
    id: "federation",
    summary: "added latency of a relayed call against calling the upstream directly (wrangler dev)",
    byDefault: () => true,
    async measure(ctx) {
      const c = ctx.config;
      const { configs } = ctx;
      result = await runFederation({
        calls: c.federationCalls,
        warmup: c.federationWarmup,
        wakeSessions: c.federationSessions,
        wakeIdleS: c.federationIdleS,
        connectConcurrency: c.connectConcurrency,
        upstreamScript: configs.upstream,
        startGateway: (upstreams) =>
          startWranglerDev("Dormouse", configs.dormouse, {
            ...configs.dormouseVars,
            UPSTREAMS: upstreams,
          }),
        resultsDir: ctx.resultsDir,
        signal: ctx.signal,
      });
      process.stderr.write(describeFederation(result));
    },
    render(ctx, failures) {
      const markdown = renderFederationSection({
        command: ctx.command,
        startedAt: ctx.startedAt,
        result,
        failure: failures.get(""),
      });
      return { markdown, charts: [], targets: [], dated: true };
    },
  };
}
