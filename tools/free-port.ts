/**
 * A free TCP port on 127.0.0.1 for a server the caller is about to start (a
 * gateway, an upstream MCP server): shared by the tests and the benchmark,
 * which both start servers that must be told their port before they bind it.
 */
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";

const HOST = "127.0.0.1";

/**
 * Where freePort() chooses: below the ports the OS hands out for port 0 and
 * for outgoing connections (Linux's ip_local_port_range, 32768-60999 by
 * default; 49152 and up on macOS and Windows). A port taken from that range
 * and released could be taken by any other process's next bind or connection
 * before the test's server binds it (a fresh-clone CI run lost a file to it);
 * a port below it can only be taken by another explicit choice, one in about
 * ten thousand.
 */
const CHOSEN_PORTS = { low: 20_000, high: 32_000 };
const CHOOSE_ATTEMPTS = 20;

/**
 * A port nothing listens on now, released for the caller's server to bind:
 * one at random from CHOSEN_PORTS, checked by binding it, or where the OS's
 * ephemeral range reaches down into those, one the OS chooses.
 */
export async function freePort(): Promise<number> {
  const high = Math.min(CHOSEN_PORTS.high, await ephemeralLow());
  for (let attempt = 0; attempt < CHOOSE_ATTEMPTS && high - CHOSEN_PORTS.low >= 1_000; attempt++) {
    const port = CHOSEN_PORTS.low + Math.floor(Math.random() * (high - CHOSEN_PORTS.low));
    if (await bindAndRelease(port)) return port;
  }
  const port = await bindAndRelease(0);
  if (!port) throw new Error("no port assigned");
  return port;
}

/** The lowest port of the OS's ephemeral range, where it says (Linux); else the IANA one's. */
async function ephemeralLow(): Promise<number> {
  try {
    const range = await readFile("/proc/sys/net/ipv4/ip_local_port_range", "utf8");
    const low = Number(range.trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : IANA_EPHEMERAL_LOW;
  } catch {
    return IANA_EPHEMERAL_LOW;
  }
}
const IANA_EPHEMERAL_LOW = 49_152;

/** Binds `port` (0: the OS chooses) on HOST and releases it: the port bound, or 0 when it was taken. */
function bindAndRelease(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", (error: NodeJS.ErrnoException) =>
      error.code === "EADDRINUSE" || error.code === "EACCES" ? resolve(0) : reject(error),
    );
    server.listen(port, HOST, () => {
      const address = server.address();
      const bound = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(bound));
    });
  });
}
