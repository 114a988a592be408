/**
 * The federation wake rows: the first call after hibernation on many gateway
 * sessions at once, relayed (`state__recall`) against the built-in `echo`, and
 * proof that each woken session object continued the upstream session it had.
 *
 * Two groups of WebSocket sessions are opened with bounded concurrency. Each
 * relayed session remembers `v<i>` upstream, recalls it, and records which
 * upstream session it holds and its wake count (`session_info.wakes`); each
 * echo session calls `echo` once and records its wake count. Then everything
 * idles, sockets open, past local workerd's 10 s eviction. Each session then
 * makes one timed call, the groups alternating, one call in flight: waking
 * the object, plus for the relayed group the upstream leg.
 *
 * Checks, all untimed after the timed calls: every wake count again (risen =
 * the object was evicted and constructed again), every relayed session's
 * upstream session id against the one before, and the upstream's live-session
 * count before setup, after setup and after the wakes, so an upstream session
 * re-created by a wake would show twice. The upstream session id is the
 * `Mcp-Session-Id` of the gateway's request, read back through the upstream's
 * `header` tool: the load generator's sessions return a reply's text, not its
 * structuredContent (which carries the same id). Every call is bounded.
 */
import { errorKind } from "../tools/load/errors";
import { discoverGateway, sampleProcesses } from "../tools/load/gateway-procs";
import { LatencyRecorder, type LatencySummary, summarize } from "../tools/load/latency";
import { forEachBounded, pause } from "../tools/load/pacing";
import { endpointFor, type Target } from "../tools/load/target";
import { WsSession } from "../tools/load/ws-session";

export type WakeGroup = "relayed" | "echo";

export interface WakeRow {
  group: WakeGroup;
  /** Sessions fully set up before idling (of `sessions`). */
  ready: number;
  latencyMs: LatencySummary | null;
  /** Sessions whose wake count was read before idling and after the timed call. */
  verified: number;
  /** Of those, sessions whose wake count rose: evicted while idle. */
  evicted: number;
  errors: Record<string, number>;
}

export interface WakeResult {
  /** Sessions per group. */
  sessions: number;
  idleS: number;
  rows: WakeRow[];
  /** Relayed sessions holding the same upstream session after the wake as before. */
  upstreamReused: number;
  /** Relayed sessions holding a different one (a re-created upstream session). */
  upstreamChanged: number;
  /** Timed relayed calls that did not recall this session's own value. */
  valueMismatches: number;
  /** The upstream's live sessions at each point; null where it could not be read. */
  upstreamSessions: { before: number | null; afterSetup: number | null; afterWakes: number | null };
  /** Resident memory of the gateway's workerd processes; null when they were not found. */
  rssKiB: { beforeSetup: number; idle: number; afterWakes: number } | null;
  /** Wall time of each phase. */
  phasesS: { setup: number; idle: number; timed: number; verify: number };
}

export interface WakeOptions {
  gatewayUrl: string;
  /** `<prefix>__` names the upstream's tools on the gateway. */
  prefix: string;
  sessions: number;
  idleS: number;
  connectConcurrency: number;
  callTimeoutMs: number;
  /** Past this many failed calls the numbers mean little: stop. */
  maxErrors: number;
  /** The upstream's live-session count, read through a direct client; null if unreadable. */
  upstreamSessions(): Promise<number | null>;
  signal: AbortSignal;
}

interface Member {
  group: WakeGroup;
  session: WsSession;
  /** What its calls must return: the remembered value, or the echoed text. */
  expected: string;
  upstreamId: string | null;
  wakesBefore: number | null;
  ready: boolean;
}

const CLOSE_CONCURRENCY = 64;

export async function measureWakes(options: WakeOptions): Promise<WakeResult> {
  const { signal } = options;
  const tally = new Tally(options.maxErrors);
  const members = openMembers(options, tally);
  const rss = rssProbe(options.gatewayUrl);
  const clock = phaseClock();
  try {
    const before = await options.upstreamSessions();
    const rssBefore = rss();
    await forEachBounded(members.length, options.connectConcurrency, signal, (i) =>
      tally.guard(members[i] as Member, () => setUp(members[i] as Member, options)),
    );
    const afterSetup = await options.upstreamSessions();
    const setupS = clock();
    await pause(options.idleS * 1000, signal);
    const idleS = clock();
    const rssIdle = rss();
    const recorders = { relayed: new LatencyRecorder(), echo: new LatencyRecorder() };
    let valueMismatches = 0;
    for (const m of members) {
      if (signal.aborted) break;
      if (!m.ready) continue;
      await tally.guard(m, async () => {
        const started = performance.now();
        const reply = await m.session.call(...firstCall(m, options.prefix));
        recorders[m.group].record(performance.now() - started);
        if (reply.text === m.expected) return;
        if (m.group === "relayed") valueMismatches++;
        else throw new Error(`echo answered ${String(reply.text).slice(0, 40)}`);
      });
    }
    const timedS = clock();
    const checks = await verify(members, options, tally);
    const afterWakes = await options.upstreamSessions();
    const rssAfter = rss();
    return {
      sessions: options.sessions,
      idleS: options.idleS,
      rows: (["relayed", "echo"] as const).map((group) => ({
        group,
        ready: members.filter((m) => m.group === group && m.ready).length,
        latencyMs: summarize(recorders[group].export()),
        ...checks.eviction[group],
        errors: tally.of(group),
      })),
      upstreamReused: checks.reused,
      upstreamChanged: checks.changed,
      valueMismatches,
      upstreamSessions: { before, afterSetup, afterWakes },
      rssKiB:
        rssBefore === null || rssIdle === null || rssAfter === null
          ? null
          : { beforeSetup: rssBefore, idle: rssIdle, afterWakes: rssAfter },
      phasesS: { setup: setupS, idle: idleS, timed: timedS, verify: clock() },
    };
  } finally {
    const never = new AbortController().signal;
    await forEachBounded(members.length, CLOSE_CONCURRENCY, never, async (i) => {
      await members[i]?.session.close();
    });
  }
}

/** Both groups, interleaved (relayed 0, echo 0, relayed 1, ...): the order of the timed calls. */
function openMembers(options: WakeOptions, tally: Tally): Member[] {
  const target: Target = {
    endpoint: endpointFor(options.gatewayUrl, "ws"),
    transport: "ws",
    protocol: "mcp",
    token: undefined,
    timeoutMs: options.callTimeoutMs,
  };
  const member = (group: WakeGroup, i: number): Member => ({
    group,
    session: new WsSession(target, (error) => tally.add(group, error)),
    expected: group === "relayed" ? `v${i}` : `e${i}`,
    upstreamId: null,
    wakesBefore: null,
    ready: false,
  });
  return Array.from({ length: options.sessions }, (_, i) => [
    member("relayed", i),
    member("echo", i),
  ]).flat();
}

async function setUp(m: Member, options: WakeOptions): Promise<void> {
  await m.session.open();
  if (m.group === "relayed") {
    // Opens this gateway session's upstream session and gives recall a value to check.
    await m.session.call(`${options.prefix}__remember`, { value: m.expected });
    expectText(m, (await m.session.call(`${options.prefix}__recall`, {})).text);
    m.upstreamId = await upstreamSessionOf(m, options.prefix);
  } else {
    expectText(m, (await m.session.call("echo", { text: m.expected })).text);
  }
  m.wakesBefore = await wakesOf(m);
  m.ready = true;
}

function firstCall(m: Member, prefix: string): [string, Record<string, unknown>] {
  return m.group === "relayed" ? [`${prefix}__recall`, {}] : ["echo", { text: m.expected }];
}

/** Wake counts and upstream session ids after the timed calls, for every session set up. */
async function verify(
  members: Member[],
  options: WakeOptions,
  tally: Tally,
): Promise<{
  eviction: Record<WakeGroup, { verified: number; evicted: number }>;
  reused: number;
  changed: number;
}> {
  const eviction = { relayed: { verified: 0, evicted: 0 }, echo: { verified: 0, evicted: 0 } };
  let reused = 0;
  let changed = 0;
  await forEachBounded(members.length, options.connectConcurrency, options.signal, (i) => {
    const m = members[i] as Member;
    if (!m.ready) return Promise.resolve();
    return tally.guard(m, async () => {
      if (m.group === "relayed") {
        const id = await upstreamSessionOf(m, options.prefix);
        if (id !== null && id === m.upstreamId) reused++;
        else changed++;
      }
      const wakes = await wakesOf(m);
      if (wakes === null || m.wakesBefore === null) return;
      eviction[m.group].verified++;
      if (wakes > m.wakesBefore) eviction[m.group].evicted++;
    });
  });
  return { eviction, reused, changed };
}

/** The `Mcp-Session-Id` the gateway sent upstream for this session, or null when it sent none. */
async function upstreamSessionOf(m: Member, prefix: string): Promise<string | null> {
  const reply = await m.session.call(`${prefix}__header`, { name: "mcp-session-id" });
  return reply.text && reply.text !== "(absent)" ? reply.text : null;
}

async function wakesOf(m: Member): Promise<number | null> {
  const reply = await m.session.call("session_info", {});
  const wakes = (JSON.parse(reply.text ?? "{}") as { wakes?: unknown }).wakes;
  return typeof wakes === "number" ? wakes : null;
}

function expectText(m: Member, text: string | undefined): void {
  if (text !== m.expected)
    throw new Error(`${m.group}: expected ${m.expected}, got ${String(text).slice(0, 40)}`);
}

/** Failed calls and lost sockets by group and kind; `guard` stops the run past the cap. */
class Tally {
  #counts: Record<WakeGroup, Map<string, number>> = { relayed: new Map(), echo: new Map() };
  #total = 0;
  #last = "";

  constructor(private readonly max: number) {}

  add(group: WakeGroup, error: unknown): void {
    const kind = errorKind(error);
    this.#counts[group].set(kind, (this.#counts[group].get(kind) ?? 0) + 1);
    this.#total++;
    this.#last = String(error);
  }

  /** Runs `body`; a failure is counted against the member's group, not thrown, up to the cap. */
  async guard(m: Member, body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (error) {
      this.add(m.group, error);
    }
    if (this.#total > this.max)
      throw new Error(`more than ${this.max} failed wake-row calls; the last: ${this.#last}`);
  }

  of(group: WakeGroup): Record<string, number> {
    return Object.fromEntries(this.#counts[group]);
  }
}

/** Seconds since the previous reading, to one decimal. */
function phaseClock(): () => number {
  let last = performance.now();
  return () => {
    const now = performance.now();
    const seconds = Math.round((now - last) / 100) / 10;
    last = now;
    return seconds;
  };
}

/** Total RSS of the gateway's workerd processes, found once by its port; null when not found. */
function rssProbe(gatewayUrl: string): () => number | null {
  const procs = discoverGateway(Number(new URL(gatewayUrl).port));
  return () => (procs.length === 0 ? null : sampleProcesses("wake", 0, procs).rssKiB);
}
