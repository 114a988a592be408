/**
 * Latency samples and their summary. Samples are kept in milliseconds; past
 * MAX_SAMPLES a recorder switches to reservoir sampling (Algorithm R), so
 * memory stays bounded however long a run lasts while percentiles stay
 * unbiased. Percentiles use the nearest-rank definition.
 */

export const MAX_SAMPLES = 250_000;

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export class LatencyRecorder {
  #samples: number[] = [];
  #seen = 0;
  #max = 0;
  #sum = 0;

  record(ms: number): void {
    this.#seen++;
    this.#sum += ms;
    if (ms > this.#max) this.#max = ms;
    if (this.#samples.length < MAX_SAMPLES) {
      this.#samples.push(ms);
      return;
    }
    const slot = Math.floor(Math.random() * this.#seen);
    if (slot < MAX_SAMPLES) this.#samples[slot] = ms;
  }

  get count(): number {
    return this.#seen;
  }

  /** The raw state, for merging across client processes. */
  export(): RecorderState {
    return {
      samples: Float64Array.from(this.#samples),
      seen: this.#seen,
      max: this.#max,
      sum: this.#sum,
    };
  }
}

export interface RecorderState {
  samples: Float64Array;
  seen: number;
  max: number;
  sum: number;
}

export function emptyRecorderState(): RecorderState {
  return { samples: new Float64Array(0), seen: 0, max: 0, sum: 0 };
}

/** Merges recorder states (samples are concatenated; fine for the shard counts used here). */
export function mergeRecorders(states: readonly RecorderState[]): RecorderState {
  const total = states.reduce((n, s) => n + s.samples.length, 0);
  const samples = new Float64Array(total);
  let offset = 0;
  for (const s of states) {
    samples.set(s.samples, offset);
    offset += s.samples.length;
  }
  return {
    samples,
    seen: states.reduce((n, s) => n + s.seen, 0),
    max: states.reduce((m, s) => Math.max(m, s.max), 0),
    sum: states.reduce((n, s) => n + s.sum, 0),
  };
}

export function summarize(state: RecorderState): LatencySummary | null {
  if (state.seen === 0 || state.samples.length === 0) return null;
  const sorted = Float64Array.from(state.samples).sort();
  const at = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
  return {
    count: state.seen,
    p50: round3(at(50)),
    p90: round3(at(90)),
    p99: round3(at(99)),
    max: round3(state.max),
    mean: round3(state.sum / state.seen),
  };
}

export function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
