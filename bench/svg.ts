/**
 * The charts BENCHMARKS.md links, written as plain SVG (no library): a
 * latency distribution per server (each percentile's latency: the percentile
 * axis is linear up to p50, then spaced by nines, p90, p99 and p99.9 equally
 * apart as in HdrHistogram's plots, and latency is on a log scale, so the
 * medians and the tails of every server read off one picture) and horizontal
 * bars (memory per idle session).
 *
 * Text is escaped; sizes are fixed; colours come from a small palette that
 * reads in light and dark viewers alike.
 */

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"];
const FONT = 'font-family="system-ui, sans-serif" font-size="12"';
/** Points per curve: enough for a smooth line, few enough for a small file. */
const CURVE_POINTS = 200;
/** The percentile axis ends at p99.9. */
const TOP_Q = 0.999;

export interface CdfSeries {
  label: string;
  /** Samples, any order. */
  samples: ArrayLike<number>;
}

export function cdfChart(input: { title: string; xLabel: string; series: CdfSeries[] }): string {
  const width = 900;
  const height = 380;
  const m = { left: 60, right: 300, top: 36, bottom: 48 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const sorted = input.series.map((s) => Float64Array.from(s.samples).sort());
  const all = sorted.flatMap((s) => (s.length ? [s[0] as number, s[s.length - 1] as number] : []));
  const positive = all.filter((v) => v > 0);
  const lo = positive.length ? Math.min(...positive) : 0.01;
  const hi = positive.length ? Math.max(...positive) : 1;
  const xMin = 10 ** Math.floor(Math.log10(lo));
  const xMax = 10 ** Math.ceil(Math.log10(Math.max(hi, xMin * 10)));
  const x = (v: number) =>
    m.left + ((Math.log10(Math.max(v, xMin)) - Math.log10(xMin)) / Math.log10(xMax / xMin)) * plotW;
  const y = (q: number) => m.top + (1 - percentileUnits(q) / percentileUnits(TOP_Q)) * plotH;
  const out: string[] = [header(width, height, input.title)];
  for (let decade = xMin; decade <= xMax * 1.0001; decade *= 10) {
    const px = x(decade).toFixed(1);
    out.push(
      `<line x1="${px}" y1="${m.top}" x2="${px}" y2="${m.top + plotH}" stroke="#ccc"/>`,
      `<text x="${px}" y="${m.top + plotH + 16}" text-anchor="middle" ${FONT}>${trim(decade)}</text>`,
    );
  }
  for (const [q, name] of [
    [0, "p0"],
    [0.5, "p50"],
    [0.9, "p90"],
    [0.99, "p99"],
    [0.999, "p99.9"],
  ] as const) {
    const py = y(q).toFixed(1);
    out.push(
      `<line x1="${m.left}" y1="${py}" x2="${m.left + plotW}" y2="${py}" stroke="${q === 0.5 ? "#999" : "#e5e5e5"}"/>`,
      `<text x="${m.left - 6}" y="${py}" text-anchor="end" dominant-baseline="middle" ${FONT}>${name}</text>`,
    );
  }
  sorted.forEach((samples, i) => {
    if (samples.length === 0) return;
    const colour = PALETTE[i % PALETTE.length] as string;
    const points: string[] = [];
    for (let k = 0; k <= CURVE_POINTS; k++) {
      // Evenly spaced along the percentile axis, so the tail gets as many points as the body.
      const q = unitsToPercentile((k / CURVE_POINTS) * percentileUnits(TOP_Q));
      const index = Math.min(samples.length - 1, Math.max(0, Math.ceil(q * samples.length) - 1));
      points.push(`${x(samples[index] as number).toFixed(1)},${y(q).toFixed(1)}`);
    }
    out.push(
      `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${points.join(" ")}"/>`,
    );
    const ly = m.top + 10 + i * 20;
    const label = `${input.series[i]?.label ?? ""} (${samples.length.toLocaleString("en")})`;
    out.push(
      `<line x1="${m.left + plotW + 14}" y1="${ly}" x2="${m.left + plotW + 34}" y2="${ly}" stroke="${colour}" stroke-width="3"/>`,
      `<text x="${m.left + plotW + 40}" y="${ly}" dominant-baseline="middle" ${FONT}>${escapeXml(label)}</text>`,
    );
  });
  out.push(
    `<text x="${m.left + plotW / 2}" y="${height - 10}" text-anchor="middle" ${FONT}>${escapeXml(input.xLabel)}</text>`,
    `<text x="14" y="${m.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 14 ${m.top + plotH / 2})" ${FONT}>percentile of calls</text>`,
    "</svg>",
  );
  return `${out.join("\n")}\n`;
}

/** Position on the percentile axis: p0..p50 take one unit, then one unit per nine. */
function percentileUnits(q: number): number {
  const clamped = Math.min(Math.max(q, 0), TOP_Q);
  return clamped <= 0.5 ? 2 * clamped : 1 + Math.log10(0.5 / (1 - clamped));
}

function unitsToPercentile(u: number): number {
  return u <= 1 ? u / 2 : 1 - 0.5 * 10 ** -(u - 1);
}

export interface Bar {
  label: string;
  value: number | null;
}

export function barChart(input: { title: string; unit: string; bars: Bar[] }): string {
  const rowH = 24;
  const width = 760;
  const m = { left: 300, right: 90, top: 36, bottom: 16 };
  const height = m.top + m.bottom + rowH * Math.max(1, input.bars.length);
  const plotW = width - m.left - m.right;
  const max = Math.max(1e-9, ...input.bars.map((b) => b.value ?? 0));
  const out: string[] = [header(width, height, input.title)];
  input.bars.forEach((bar, i) => {
    const top = m.top + i * rowH;
    const w = ((bar.value ?? 0) / max) * plotW;
    const colour = PALETTE[i % PALETTE.length] as string;
    out.push(
      `<text x="${m.left - 8}" y="${top + rowH / 2}" text-anchor="end" dominant-baseline="middle" ${FONT}>${escapeXml(bar.label)}</text>`,
      `<rect x="${m.left}" y="${top + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${colour}"/>`,
      `<text x="${(m.left + w + 6).toFixed(1)}" y="${top + rowH / 2}" dominant-baseline="middle" ${FONT}>${bar.value === null ? "not measured" : `${trim(bar.value)} ${escapeXml(input.unit)}`}</text>`,
    );
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

function header(width: number, height: number, title: string): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-family="system-ui, sans-serif" font-size="14" font-weight="600">${escapeXml(title)}</text>`,
  ].join("\n");
}

function trim(v: number): string {
  if (v >= 100) return Math.round(v).toLocaleString("en");
  if (v >= 1) return String(Number(v.toFixed(1)));
  return String(Number(v.toPrecision(2)));
}

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}
