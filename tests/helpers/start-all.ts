/**
 * Starts several things at once for a `beforeAll`, all or nothing: waits for every
 * start to settle (never only the first failure, as `Promise.all` does), and if any
 * failed, stops the ones that started before rethrowing, so a failed setup leaves no
 * process behind even when `afterAll` never learns what started.
 */

/** Anything a test starts and must stop: a gateway, an upstream, a browser. */
export interface Stoppable {
  stop(): Promise<void>;
}

export async function startAll<const T extends readonly Promise<Stoppable>[]>(
  starts: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(starts);
  const failures = settled.flatMap((s) => (s.status === "rejected" ? [s.reason] : []));
  if (failures.length === 0) {
    return settled.map((s) => (s as PromiseFulfilledResult<Stoppable>).value) as {
      -readonly [K in keyof T]: Awaited<T[K]>;
    };
  }
  const started = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const stops = await Promise.allSettled(started.map((thing) => thing.stop()));
  for (const stop of stops) if (stop.status === "rejected") failures.push(stop.reason);
  if (failures.length === 1) throw failures[0];
  throw new AggregateError(
    failures,
    `${failures.length} failures while starting: ${failures.map(message).join("; ")}`,
  );
}

function message(error: unknown): string {
  return error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error);
}
