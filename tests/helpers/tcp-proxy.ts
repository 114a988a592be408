/**
 * A TCP proxy on loopback that a test controls, to cause the network faults a
 * resumable client must survive, for real:
 *
 * - `cut()`: every open connection is reset (RST, no WebSocket close frame) on
 *   both sides; new connections go through.
 * - `down()`: `cut()`, and new connections are reset as soon as they are
 *   accepted, until `up()` (a network that is gone).
 * - `blackhole()`: nothing is forwarded any more, in either direction, on open
 *   or new connections, which stay open (a NAT that forgot the flow, a laptop
 *   that slept); `up()` lets the held bytes and everything after through.
 * - `retarget(port)`: new connections go to another port (a gateway restarted
 *   on a new port keeps its address for the client).
 *
 * Bytes are forwarded as they come, with backpressure; a side that fails
 * resets its peer, one that ends (FIN) ends it. `close()` resets everything and stops
 * listening; every wait is bounded.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { withTimeout } from "./wait";

const HOST = "127.0.0.1";
const CLOSE_TIMEOUT_MS = 5_000;

type Mode = "up" | "down" | "blackhole";
type Held = Buffer | "end";

interface Pair {
  client: Socket;
  upstream: Socket;
  /** What arrived while black-holed (or before the upstream connected), per direction: chunks, then maybe the end. */
  held: { toUpstream: Held[]; toClient: Held[] };
  connected: boolean;
}

export interface TcpProxy {
  readonly port: number;
  /** `ws://127.0.0.1:<port>` */
  readonly wsUrl: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections open now. */
  readonly open: number;
  cut(): void;
  down(): void;
  blackhole(): void;
  up(): void;
  retarget(port: number): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let target = targetPort;
  let mode: Mode = "up";
  let accepted = 0;
  const pairs = new Set<Pair>();

  const reset = (pair: Pair) => {
    pairs.delete(pair);
    pair.client.resetAndDestroy();
    pair.upstream.resetAndDestroy();
  };

  const forward = (pair: Pair, from: Socket, to: Socket, direction: keyof Pair["held"]) => {
    from.on("data", (chunk: Buffer) => {
      if (mode === "blackhole" || !pair.connected) {
        pair.held[direction].push(chunk);
        return;
      }
      if (!to.write(chunk)) {
        from.pause();
        to.once("drain", () => from.resume());
      }
    });
  };

  const flush = (pair: Pair) => {
    if (!pair.connected) return;
    const pass = (held: Held[], to: Socket) => {
      for (const item of held.splice(0)) {
        if (item === "end") to.end();
        else to.write(item);
      }
    };
    pass(pair.held.toUpstream, pair.upstream);
    pass(pair.held.toClient, pair.client);
  };

  const server: Server = createServer((client) => {
    accepted++;
    if (mode === "down") {
      client.resetAndDestroy();
      return;
    }
    const upstream = tcpConnect({ host: HOST, port: target });
    const pair: Pair = {
      client,
      upstream,
      held: { toUpstream: [], toClient: [] },
      connected: false,
    };
    pairs.add(pair);
    upstream.once("connect", () => {
      pair.connected = true;
      if (mode === "up") flush(pair);
    });
    forward(pair, client, upstream, "toUpstream");
    forward(pair, upstream, client, "toClient");
    // A side that fails takes its peer down with a reset, as the network would;
    // one that ends (FIN) ends its peer once what it sent has been passed on.
    const drop = () => {
      if (pairs.has(pair)) reset(pair);
    };
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      from.on("error", drop);
      from.on("end", () => {
        const held = from === client ? pair.held.toUpstream : pair.held.toClient;
        if (mode === "blackhole" || !pair.connected) held.push("end");
        else to.end();
      });
      from.on("close", () => {
        if (client.destroyed && upstream.destroyed) pairs.delete(pair);
      });
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, HOST, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;

  return {
    port,
    wsUrl: `ws://${HOST}:${port}`,
    get accepted() {
      return accepted;
    },
    get open() {
      return pairs.size;
    },
    cut() {
      for (const pair of [...pairs]) reset(pair);
    },
    down() {
      mode = "down";
      for (const pair of [...pairs]) reset(pair);
    },
    blackhole() {
      mode = "blackhole";
    },
    up() {
      mode = "up";
      for (const pair of pairs) flush(pair);
    },
    retarget(next: number) {
      target = next;
    },
    async close() {
      mode = "down";
      for (const pair of [...pairs]) reset(pair);
      await withTimeout(
        new Promise<void>((resolve) => server.close(() => resolve())),
        CLOSE_TIMEOUT_MS,
        "the TCP proxy to stop listening",
      );
    },
  };
}
