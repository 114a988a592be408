/**
 * How numbers read in BENCHMARKS.md: milliseconds to two decimals, rates
 * rounded, ratios as `1.23×`, CPU in µs, a per-round ratio distribution as
 * its median with the quartiles and the range.
 */
import type { LatencySummary } from "../tools/load/latency";
import type { Distribution } from "./stats";

export function ms(v: number | null | undefined): string {
  return v === undefined || v === null ? "-" : v.toFixed(2);
}

export function pair(l: LatencySummary | null | undefined): string {
  return l ? `${l.p50.toFixed(2)} / ${l.p99.toFixed(2)}` : "-";
}

export function rate(v: number | null | undefined): string {
  if (v === undefined || v === null) return "-";
  return v >= 100 ? Math.round(v).toLocaleString("en") : v.toFixed(1);
}

export function us(v: number | null | undefined): string {
  return v === undefined || v === null ? "-" : Math.round(v).toLocaleString("en");
}

export function quotient(
  a: number | null | undefined,
  b: number | null | undefined,
): number | null {
  if (a === undefined || a === null || b === undefined || b === null || b <= 0) return null;
  return a / b;
}

export function ratio(a: number | null | undefined, b: number | null | undefined): string {
  const q = quotient(a, b);
  return q === null ? "-" : `${q.toFixed(2)}×`;
}

export function times(q: number | null | undefined): string {
  return q === undefined || q === null ? "-" : `${q.toFixed(2)}×`;
}

/** `1.25× (IQR 1.18–1.31, range 0.95–1.60, 20 rounds)` */
export function spread(d: Distribution | null | undefined, unit: "×" | " µs" = "×"): string {
  if (!d) return "-";
  const f = (v: number) => (unit === "×" ? v.toFixed(2) : Math.round(v).toLocaleString("en"));
  return `${f(d.median)}${unit} (IQR ${f(d.p25)}–${f(d.p75)}, range ${f(d.min)}–${f(d.max)}, ${d.n} rounds)`;
}

export function errorsOf(errors: Record<string, number>): string {
  const entries = Object.entries(errors);
  return entries.length === 0 ? "0" : entries.map(([k, n]) => `${n} ${k}`).join(", ");
}

export function yes(ok: boolean | null): string {
  return ok === null ? "-" : ok ? "yes" : "**no**";
}

export function utc(date: Date): string {
  return date.toISOString().slice(0, 16).replace("T", " ");
}

export function firstLine(error: unknown): string {
  return error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error);
}
