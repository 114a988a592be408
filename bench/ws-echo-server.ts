/**
 * The Node floor: a plain `ws` server that echoes every text frame, with the
 * `mcp` subprotocol accepted like Dormouse does. Started by the benchmark as
 * its own process (so its memory and open files are measured apart from the
 * load generator); prints `listening <port>` when ready and stops on SIGTERM.
 *
 *   node .bench/dist/ws-echo-server.mjs --port 0
 */
import { parseArgs } from "node:util";
import { WebSocketServer } from "ws";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
  },
});

const server = new WebSocketServer({
  host: values.host,
  port: Number(values.port),
  perMessageDeflate: false,
  clientTracking: false,
  handleProtocols: (offered) => (offered.has("mcp") ? "mcp" : false),
});

server.on("connection", (socket) => {
  socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
  socket.on("error", () => socket.terminate());
});

server.on("listening", () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  process.stdout.write(`listening ${port}\n`);
});

// Clients are not tracked (memory per socket is what we measure), so exit rather than drain.
const stop = () => process.exit(0);
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
