/**
 * Bounded loops: a pool of lanes working through a fixed count of tasks, with
 * an optional start schedule (a rate), stopping early when a signal aborts.
 * Every loop in the load generator goes through here or has its own deadline.
 */

/** Resolves after `ms`, or as soon as `signal` aborts (never rejects). */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Runs `task(0..count-1)` on at most `concurrency` lanes. With `ratePerS > 0`
 * task i starts no earlier than i / ratePerS seconds after the first.
 * Returns how many tasks were started.
 */
export async function forEachBounded(
  count: number,
  concurrency: number,
  signal: AbortSignal,
  task: (index: number) => Promise<void>,
  ratePerS = 0,
): Promise<number> {
  let next = 0;
  const start = performance.now();
  const lane = async () => {
    for (;;) {
      if (signal.aborted) return;
      const index = next++;
      if (index >= count) return;
      if (ratePerS > 0) await pause(start + (index * 1000) / ratePerS - performance.now(), signal);
      if (signal.aborted) {
        next = count;
        return;
      }
      await task(index);
    }
  };
  const lanes = Math.max(1, Math.min(concurrency, count));
  await Promise.all(Array.from({ length: lanes }, lane));
  return Math.min(next, count);
}

/** `count` indices spread evenly over `0..total-1` (all of them when count >= total). */
export function spread(count: number, total: number): number[] {
  if (count >= total) return Array.from({ length: total }, (_, i) => i);
  return Array.from({ length: count }, (_, k) => Math.floor((k * total) / count));
}
