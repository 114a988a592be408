/**
 * The benchmark harness's pure parts (bench/): the interleaving engine's
 * rotation and bookkeeping, the per-round ratio statistics, the document's
 * section splicing, the SVG charts and the options. Structure only: nothing
 * here measures or asserts a speed (issue 16: speed is the benchmark's, not a
 * test's).
 */
import { describe, expect, it } from "vitest";
import { benchHelp, parseBenchConfig } from "../../bench/config";
import {
  endMarker,
  type RunFacts,
  renderDocument,
  spliceSection,
  standaloneSection,
  startMarker,
} from "../../bench/document";
import { type Block, interleave, type Lane, type LaneResult } from "../../bench/interleave";
import { createSections } from "../../bench/sections";
import { distribution, METRICS, pairedRatio, quantile } from "../../bench/stats";
import { barChart, cdfChart } from "../../bench/svg";
import { LoadError } from "../../tools/load/errors";

const never = new AbortController().signal;

function fakeLane(
  name: string,
  log: string[],
  concurrency = 1,
  fail?: (n: number) => boolean,
): Lane {
  return {
    name,
    concurrency,
    cpu: null,
    async call(slot, n) {
      log.push(`${name}:${slot}`);
      if (fail?.(n)) throw new LoadError("wrong_reply", "planned");
    },
  };
}

const OPTIONS = {
  warmupCalls: 0,
  calls: 6,
  blockCalls: 2,
  drainMs: 0,
  calibrateMs: 0,
  maxErrors: 100,
  signal: never,
};

describe("interleave", () => {
  it("rotates the lanes, each round starting one lane later", async () => {
    const log: string[] = [];
    await interleave([fakeLane("a", log), fakeLane("b", log), fakeLane("c", log)], OPTIONS);
    const blocks = log.filter((_, i) => i % 2 === 0).map((entry) => entry.split(":")[0]);
    expect(blocks).toEqual(["a", "b", "c", "b", "c", "a", "c", "a", "b"]);
  });

  it("keeps one block per lane per round, with the round's number, calls and wall time", async () => {
    const results = await interleave([fakeLane("a", []), fakeLane("b", [], 3)], OPTIONS);
    expect(results.map((r) => r.blocks.map((b) => b.round))).toEqual([
      [0, 1, 2],
      [0, 1, 2],
    ]);
    expect(results[1]?.blocks.map((b) => b.calls)).toEqual([6, 6, 6]);
    expect(results[1]?.latency.seen).toBe(18);
    for (const block of results.flatMap((r) => r.blocks)) {
      expect(block.wallMs).toBeGreaterThanOrEqual(0);
      expect(block.cpuNs).toBeNull();
    }
  });

  it("makes the warm-up calls first, on every slot, and leaves them out of the blocks", async () => {
    const log: string[] = [];
    const [result] = await interleave([fakeLane("a", log, 2)], { ...OPTIONS, warmupCalls: 3 });
    expect(log.slice(0, 6).sort()).toEqual(["a:0", "a:0", "a:0", "a:1", "a:1", "a:1"]);
    expect(result?.completed).toBe(6 + 12);
    expect(result?.latency.seen).toBe(12);
  });

  it("counts failed calls by kind and goes on, until the cap", async () => {
    const [result] = await interleave([fakeLane("a", [], 1, (n) => n % 3 === 0)], OPTIONS);
    expect(result?.errors).toEqual({ wrong_reply: 2 });
    expect(result?.blocks.reduce((n, b) => n + b.failed, 0)).toBe(2);
    await expect(
      interleave([fakeLane("a", [], 1, () => true)], { ...OPTIONS, maxErrors: 3 }),
    ).rejects.toThrow(/more than 3 failed calls/);
  });

  it("runs the last round short when the calls are not a multiple of the block", async () => {
    const [result] = await interleave([fakeLane("a", [])], { ...OPTIONS, calls: 5 });
    expect(result?.blocks.map((b) => b.calls)).toEqual([2, 2, 1]);
  });

  it("stops between two calls once the signal aborts", async () => {
    const stop = new AbortController();
    const log: string[] = [];
    const lane = fakeLane("a", log);
    const stopping: Lane = {
      ...lane,
      async call(slot, n) {
        await lane.call(slot, n);
        if (log.length === 3) stop.abort();
      },
    };
    await interleave([stopping], { ...OPTIONS, calls: 100, signal: stop.signal });
    expect(log).toHaveLength(3);
  });

  it("runs a lane's afterBlock after each of its blocks", async () => {
    let after = 0;
    const lane: Lane = {
      ...fakeLane("a", []),
      async afterBlock() {
        after++;
      },
    };
    await interleave([lane], { ...OPTIONS, warmupCalls: 1 });
    expect(after).toBe(1 + 3);
  });
});

function laneOf(name: string, p50s: (number | null)[]): LaneResult {
  const blocks: Block[] = p50s.map((p50Ms, round) => ({
    round,
    calls: 10,
    failed: 0,
    wallMs: 10,
    p50Ms,
    cpuNs: { workerd: 1_000_000 },
  }));
  return {
    name,
    concurrency: 1,
    latency: { samples: new Float64Array(), seen: 0, max: 0, sum: 0 },
    blocks,
    completed: 0,
    errors: {},
  };
}

describe("per-round ratios", () => {
  it("pairs blocks of the same round and summarises the ratios", () => {
    const a = laneOf("a", [2, 3, 4, null]);
    const b = laneOf("b", [1, 1, 2, 1]);
    expect(pairedRatio(a, b, METRICS.p50)).toEqual({
      n: 3,
      median: 2,
      p25: 2,
      p75: 2.5,
      min: 2,
      max: 3,
    });
  });

  it("turns a block's CPU into µs per call", () => {
    expect(METRICS.cpuPerCall(laneOf("a", [1]).blocks[0] as Block)).toBe(100);
  });

  it("has no distribution without a shared round", () => {
    expect(pairedRatio(laneOf("a", [1]), laneOf("b", []), METRICS.p50)).toBeNull();
    expect(distribution([])).toBeNull();
  });

  it("interpolates quantiles between ranks", () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([5], 0.99)).toBe(5);
  });
});

describe("BENCHMARKS.md", () => {
  it("replaces a section between its markers and leaves the rest", () => {
    const before = `# B\n\nkeep me\n\n${startMarker("ws")}\nold\n${endMarker("ws")}\n\ntail\n`;
    const after = spliceSection(before, "ws", "## new");
    expect(after).toBe(
      `# B\n\nkeep me\n\n${startMarker("ws")}\n## new\n${endMarker("ws")}\n\ntail\n`,
    );
  });

  it("inserts a missing section before the efficiency log, or at the end", () => {
    const withLog = `# B\n\n${startMarker("efficiency")}\nlog\n${endMarker("efficiency")}\n`;
    const spliced = spliceSection(withLog, "tasks", "## t");
    expect(spliced.indexOf(startMarker("tasks"))).toBeGreaterThan(0);
    expect(spliced.indexOf(startMarker("tasks"))).toBeLessThan(
      spliced.indexOf(startMarker("efficiency")),
    );
    expect(spliceSection("# B\n", "tasks", "## t")).toBe(
      `# B\n\n${startMarker("tasks")}\n## t\n${endMarker("tasks")}\n`,
    );
  });

  it("refuses markers out of order", () => {
    const broken = `${endMarker("ws")}\n${startMarker("ws")}\n`;
    expect(() => spliceSection(broken, "ws", "x")).toThrow(/fix the file by hand/);
  });

  it("writes every section between markers, the targets' summary and the efficiency log", () => {
    const config = parseBenchConfig([], {});
    if (config === "help") throw new Error("unexpected help");
    const doc = renderDocument(
      {
        config,
        command: "npm run bench",
        startedAt: new Date(0),
        finishedAt: new Date(60_000),
        interrupted: false,
        failures: ["ws (serve:direct): boom"],
        load: { start: 1, end: 2 },
        revision: "git abc1234",
      },
      [
        {
          id: "ws",
          markdown: "## WS",
          targets: [{ target: "p50 ≤ 1.15×", measured: "1.2×", met: false }],
        },
        { id: "http", markdown: "## HTTP", targets: [] },
      ],
    );
    for (const id of ["ws", "http", "efficiency"]) {
      expect(doc).toContain(startMarker(id));
      expect(doc).toContain(endMarker(id));
    }
    expect(doc).toContain("| p50 ≤ 1.15× | 1.2× | **no** |");
    expect(doc).toContain("- ws (serve:direct): boom");
  });
});

describe("sections that start their own gateways", () => {
  const facts = (): RunFacts => {
    const config = parseBenchConfig(["--only", "resume,tasks"], {}, ["resume", "tasks"]);
    if (config === "help") throw new Error("unexpected help");
    return {
      config,
      command: "npm run bench -- --only resume,tasks",
      startedAt: new Date(0),
      finishedAt: new Date(60_000),
      interrupted: false,
      failures: [],
      load: { start: 1, end: 1 },
      revision: "git abc1234",
    };
  };
  const render = (id: string) => {
    const section = createSections().find((s) => s.id === id);
    if (!section) throw new Error(`no section ${id}`);
    return section.render(
      { config: facts().config, command: "x", startedAt: new Date(0), chartLink: (n) => n },
      new Map([["", "wrangler dev did not start"]]),
    );
  };

  it.each(["resume", "tasks"])("%s renders from its heading, stamped only by the runner", (id) => {
    const output = render(id);
    expect(output.markdown.startsWith("## ")).toBe(true);
    expect(output.markdown).not.toContain("<!--");
    expect(output.markdown).not.toContain("Written by");
    expect(output.markdown).toContain("Not measured in this run: wrangler dev did not start");
    const part = spliceSection(
      "# B\n",
      id,
      standaloneSection(facts(), output.markdown, output.targets, output.dated === true),
    );
    expect(part.match(/Written by `npm run bench -- --only resume,tasks`/g)).toHaveLength(1);
    expect(part).toContain(startMarker(id));
  });
});

describe("charts", () => {
  it("draws one curve per server, with escaped labels", () => {
    const svg = cdfChart({
      title: "a < b",
      xLabel: "ms",
      series: [
        { label: "x & y", samples: [0.1, 0.2, 0.3] },
        { label: "z", samples: [1, 2, 30] },
      ],
    });
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain("<title>a &lt; b</title>");
    expect(svg).toContain("x &amp; y (3)");
  });

  it("draws one bar per row and says which were not measured", () => {
    const svg = barChart({
      title: "memory",
      unit: "KiB",
      bars: [
        { label: "a", value: 300 },
        { label: "b", value: null },
      ],
    });
    expect(svg.match(/<rect /g)).toHaveLength(3);
    expect(svg).toContain("300 KiB");
    expect(svg).toContain("not measured");
  });
});

describe("options", () => {
  const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
    const config = parseBenchConfig(
      argv,
      env,
      createSections().map((s) => s.id),
    );
    if (config === "help") throw new Error("unexpected help");
    return config;
  };

  it("runs every default section on both paths without options", () => {
    const config = parse([]);
    expect(config.only).toBeNull();
    expect(config.paths).toEqual(["wrangler", "direct"]);
    const defaults = createSections()
      .filter((s) => s.byDefault(config))
      .map((s) => s.id);
    expect(defaults).toEqual([
      "ws",
      "http",
      "setup",
      "wake",
      "idle",
      "federation",
      "resume",
      "tasks",
    ]);
  });

  it("makes --<section>-only the same as --only <section>", () => {
    expect([...(parse(["--federation-only"]).only ?? [])]).toEqual(["federation"]);
    expect([...(parse(["--wake-only", "--idle-only"]).only ?? [])]).toEqual(["wake", "idle"]);
    expect([...(parse(["--only", "ws,http"]).only ?? [])]).toEqual(["ws", "http"]);
    expect([...(parse(["--resume-only"]).only ?? [])]).toEqual(["resume"]);
    expect([...(parse(["--tasks-only", "--tasks-waiting", "50"]).only ?? [])]).toEqual(["tasks"]);
  });

  it("sizes the resume and tasks sections from flags or BENCH_*, smaller with --quick", () => {
    const full = parse([]);
    expect([full.tasksBlocks, full.tasksWaiting]).toEqual([10, 1000]);
    expect([full.resumeLevels, full.resumeBlocks, full.resumeSamples]).toEqual([[1, 10], 40, 100]);
    const quick = parse(["--quick"]);
    expect([quick.tasksBlocks, quick.tasksWaiting]).toEqual([2, 100]);
    expect(quick.resumeBlocks).toBeLessThan(full.resumeBlocks);
    expect(quick.resumeSamples).toBeLessThan(full.resumeSamples);
    const given = parse(["--quick", "--tasks-blocks", "3", "--resume-levels", "1,5"], {
      BENCH_TASKS_WAITING: "40",
    });
    expect([given.tasksBlocks, given.tasksWaiting, given.resumeLevels]).toEqual([3, 40, [1, 5]]);
    expect(() => parse(["--tasks-waiting", "0"])).toThrow(/--tasks-waiting/);
    expect(() => parse(["--resume-levels", "1,101"])).toThrow(/--resume-levels/);
  });

  it("shrinks sizes with --quick, and explicit sizes still win", () => {
    const quick = parse(["--quick", "--rounds", "9"]);
    expect(quick.rounds).toBe(9);
    expect(quick.idleSessions).toBeLessThan(parse([]).idleSessions);
  });

  it("leaves a skipped path out, and refuses an unknown one", () => {
    expect(parse(["--skip", "wrangler"]).paths).toEqual(["direct"]);
    expect(parse([], { BENCH_PATHS: "direct" }).paths).toEqual(["direct"]);
    expect(() => parse(["--paths", "production"])).toThrow(/unknown path/);
    expect(() => parse(["--rounds", "0"])).toThrow(/--rounds/);
  });

  it("lists every section in --help", () => {
    const help = benchHelp(createSections());
    for (const s of createSections()) expect(help).toContain(`  ${s.id} `);
  });
});
