/**
 * Many resumable sessions through repeated network faults: 100 v1 SDK
 * clients over client/'s transport, each running a stream of `counter` calls
 * through one TCP proxy, while the proxy resets every connection (no close
 * frame) 20 times at random moments over 60 s.
 *
 * What must hold: every call is answered exactly once (a result, or
 * REQUEST_LOST for a request the reset took before the gateway read it: the
 * client cannot tell that apart from a crash, so it does not re-send), no
 * session is reported gone, and each session's final counter equals the calls
 * it saw succeed: no increment lost, none doubled. Each session paces itself
 * far below the per-session rate limit (50 messages/s).
 */
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REQUEST_LOST } from "../../shared/errors";
import { type Gateway, startGateway } from "../helpers/process";
import { openResumableClient, type ResumableClient } from "../helpers/resumable-client";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy";
import { sleep, withTimeout } from "../helpers/wait";

const SESSIONS = 100;
const CUTS = 20;
const RUN_MS = 60_000;
/** Pause between one session's calls: about 3-4 calls/s each, ~350/s in all. */
const PAUSE_MIN_MS = 150;
const PAUSE_SPREAD_MS = 200;
const CALL_TIMEOUT_MS = 30_000;
const OPEN_CONCURRENCY = 10;

interface Tally {
  calls: number;
  results: number;
  lost: number;
  other: string[];
}

let gateway: Gateway;
let proxy: TcpProxy;
const clients: ResumableClient[] = [];

beforeAll(async () => {
  gateway = await startGateway();
  proxy = await startTcpProxy(gateway.port);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await proxy?.close();
  await gateway?.stop();
});

async function openAll(): Promise<void> {
  for (let i = 0; i < SESSIONS; i += OPEN_CONCURRENCY) {
    const batch = Array.from({ length: Math.min(OPEN_CONCURRENCY, SESSIONS - i) }, () =>
      openResumableClient(proxy.wsUrl, {
        backoff: { initialDelayMs: 50, maxDelayMs: 1_000 },
        keepaliveIntervalMs: 5_000,
      }),
    );
    clients.push(...(await Promise.all(batch)));
  }
}

async function stream(client: ResumableClient, until: () => boolean, tally: Tally) {
  while (!until()) {
    tally.calls++;
    try {
      await client.callText("counter", {}, CALL_TIMEOUT_MS);
      tally.results++;
    } catch (error) {
      if (error instanceof McpError && error.code === REQUEST_LOST) tally.lost++;
      else tally.other.push(error instanceof Error ? error.message : String(error));
    }
    await sleep(PAUSE_MIN_MS + Math.random() * PAUSE_SPREAD_MS);
  }
}

describe("100 resumable sessions under 20 connection resets in 60 s", () => {
  it("answers every counter call exactly once and ends each counter at the calls that succeeded", async () => {
    await withTimeout(openAll(), 60_000, `${SESSIONS} sessions to open`);
    const cutAt = Array.from({ length: CUTS }, () => Math.random() * RUN_MS).sort((a, b) => a - b);
    const started = Date.now();
    let stop = false;
    const tallies: Tally[] = clients.map(() => ({ calls: 0, results: 0, lost: 0, other: [] }));
    const streams = clients.map((client, i) => stream(client, () => stop, tallies[i] as Tally));
    let cuts = 0;
    for (const at of cutAt) {
      await sleep(Math.max(0, started + at - Date.now()));
      proxy.cut();
      cuts++;
    }
    await sleep(Math.max(0, started + RUN_MS - Date.now()));
    stop = true;
    await withTimeout(Promise.all(streams), CALL_TIMEOUT_MS + 10_000, "the call streams to end");

    const total = tallies.reduce(
      (sum, t) => ({
        calls: sum.calls + t.calls,
        results: sum.results + t.results,
        lost: sum.lost + t.lost,
        other: [...sum.other, ...t.other],
      }),
      { calls: 0, results: 0, lost: 0, other: [] as string[] },
    );
    const reattached = clients.reduce(
      (n, c) => n + c.events.filter((e) => e.type === "open" && e.reattached).length,
      0,
    );
    process.stderr.write(
      `resume fleet: ${total.calls} calls, ${total.results} results, ${total.lost} REQUEST_LOST, ${cuts} cuts, ${reattached} re-attaches\n`,
    );
    expect(cuts).toBe(CUTS);
    expect(total.other).toEqual([]);
    expect(total.results + total.lost).toBe(total.calls);
    expect(reattached).toBeGreaterThanOrEqual(SESSIONS);
    for (const [i, client] of clients.entries()) {
      const tally = tallies[i] as Tally;
      expect(client.gone()).toBeUndefined();
      expect([...client.answers.values()].every((n) => n === 1)).toBe(true);
      expect(client.answers.size).toBe(tally.calls);
      const final = Number(await client.callText("counter", { by: 0 }, CALL_TIMEOUT_MS));
      expect(final, `session ${i}: counter vs calls that succeeded`).toBe(tally.results);
    }
  }, 240_000);
});
