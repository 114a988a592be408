/**
 * Changes made for speed, each kept only because a measurement showed it
 * helped. History, not a run's output: each entry names how it was measured.
 * Every full run of `npm run bench` writes it at the end of BENCHMARKS.md;
 * add an entry here when a change is kept (or rejected) on the numbers.
 */
export const EFFICIENCY_LOG = [
  "## Efficiency work",
  "",
  "Where the time goes, from `npm run profile` (a V8 CPU profile of the runtime isolate during warm calls and wakes):",
  "",
  "- **Wake** (first message after an eviction): the idle-TTL activity write (a SQLite UPDATE plus `setAlarm`) was about 24% of the isolate's busy time, the wake counter in the constructor about 16%.",
  "- **Warm call**: the per-request deadline timer about 15%, frame decoding with valibot about 10%, closures created per call (esbuild's `__name` wrapper) about 6%, `AbortController` about 4%.",
  "",
  "| change | measured with | before | after | kept |",
  "|---|---|---|---|---|",
  "| the socket attachment carries when activity was last written, so a wake within a minute of it writes nothing for the idle TTL | wake p50 on `serve:direct`, patched copy vs unpatched, same run | 4.27 ms | 3.64 ms | yes |",
  "| no per-request deadline timer | warm echo at 1 session, `serve:direct`, two rounds (before the interleaved harness) | p50 0.20 ms, 4,102 and 4,356 calls/s | p50 0.19 ms, 3,973 and 4,780 calls/s | no: within noise at 1 session, and the deadline is a security limit |",
].join("\n");
