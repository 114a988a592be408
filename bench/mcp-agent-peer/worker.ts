/**
 * The McpAgent peer: the smallest server `agents` 0.32 documents for McpAgent
 * (SDK v1 McpServer, Streamable HTTP at /mcp), exposing `echo {text}` exactly
 * like Dormouse's default toolset so the load generator drives both the same
 * way. Nothing is tuned: this is what a user of the peer gets.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { McpAgent } from "agents/mcp";
import { z } from "zod";

export class EchoMcp extends McpAgent {
  server = new McpServer({ name: "bench-mcp-agent", version: "1.0.0" });

  async init(): Promise<void> {
    this.server.registerTool(
      "echo",
      { description: "Returns the text it is given.", inputSchema: { text: z.string() } },
      async ({ text }) => ({ content: [{ type: "text", text }] }),
    );
  }
}

const mcp = EchoMcp.serve("/mcp");

export default {
  fetch(request: Request, env: unknown, ctx: ExecutionContext): Promise<Response> | Response {
    if (new URL(request.url).pathname === "/healthz") return Response.json({ status: "ok" });
    return mcp.fetch(request, env, ctx);
  },
};
