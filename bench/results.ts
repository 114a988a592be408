/**
 * Raw results of a run, one JSON file per measurement under
 * .bench/results/<run>/, for a closer look than BENCHMARKS.md gives (every
 * block of every round, every latency sample). Typed arrays are written as
 * plain arrays.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

export async function saveResult(dir: string, name: string, value: unknown): Promise<void> {
  const file = join(dir, `${name.replace(/[^\w.-]+/g, "_")}.json`);
  const json = JSON.stringify(
    value,
    (_key, v: unknown) => (v instanceof Float64Array ? Array.from(v) : v),
    1,
  );
  await writeFile(file, json);
}
