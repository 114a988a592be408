/**
 * Session state: a summary strip always in view (id, transport, era and
 * version, server, wakes, re-attaches, idle time) and a tab with the details
 * (server info, capabilities, instructions, the `session_info` tool's answer).
 *
 * The wake count comes from `session_info`, fetched after every connect,
 * resume and re-attach, and on demand. The idle clock is the page's own: it
 * shows when the session object has probably hibernated (local workerd
 * evicts an idle object after about 10 s), without sending anything.
 */
import { type Connection, label } from "../connection";
import { clock, h, isRecord, pretty, replace } from "../dom";
import { jsonBlock } from "./content";

/** Local workerd evicts an object whose only sockets are hibernatable after ~10 s idle. */
const HIBERNATION_HINT_MS = 10_000;

export interface SessionView {
  summary: HTMLElement;
  panel: HTMLElement;
  refresh(): Promise<void>;
}

export function sessionView(
  connection: Connection,
  onInfo: (info: Record<string, unknown>) => void = () => {},
): SessionView {
  let info: Record<string, unknown> | null = null;
  const item = (name: string, id: string) => {
    const value = h("dd", { id: `summary-${id}` }, "—");
    return { element: h("div", {}, h("dt", {}, name), value), value };
  };
  const items = {
    session: item("Session", "session"),
    transport: item("Transport", "transport"),
    era: item("Era", "era"),
    server: item("Server", "server"),
    wakes: item("Wakes", "wakes"),
    reattached: item("Re-attached", "reattached"),
    idle: item("Idle", "idle"),
  };
  const summary = h(
    "dl",
    { class: "summary", "aria-label": "Session summary" },
    Object.values(items).map((i) => i.element),
  );

  const details = h("div", { class: "details" });
  const updated = h("span", { class: "muted", id: "session-info-updated" });
  const refreshButton = h(
    "button",
    { type: "button", id: "refresh-session" },
    "Refresh session_info",
  );
  const dropButton = h(
    "button",
    { type: "button", id: "drop-socket", title: "Close the WebSocket as a network failure would" },
    "Drop socket",
  );
  const panel = h(
    "section",
    { class: "panel" },
    h("div", { class: "toolbar" }, refreshButton, dropButton, updated),
    h(
      "p",
      { class: "muted" },
      "Drop socket closes the WebSocket as a failing network would: the page re-attaches with ",
      h("code", {}, "?session="),
      " and the session keeps its state.",
    ),
    details,
  );

  const render = () => {
    const state = connection.state;
    const session = state.session;
    replace(
      items.session.value,
      session ? h("code", { title: session.sessionId }, session.sessionId) : "—",
    );
    replace(items.transport.value, session ? label(session.transport) : "—");
    replace(items.era.value, session ? `session era · ${session.protocolVersion}` : "—");
    const server = session?.serverInfo;
    replace(
      items.server.value,
      server ? `${String(server.name ?? "?")} ${String(server.version ?? "")}` : "—",
    );
    replace(items.wakes.value, info && typeof info.wakes === "number" ? String(info.wakes) : "—");
    replace(items.reattached.value, String(state.reattachments));
    dropButton.disabled = !(state.status === "ready" && session?.transport === "websocket");
    refreshButton.disabled = state.status !== "ready";
    replace(
      details,
      session
        ? [
            h(
              "dl",
              { class: "facts" },
              fact("Session id", h("code", {}, session.sessionId)),
              fact("Protocol", `session era (initialize), version ${session.protocolVersion}`),
              fact("Status", state.status),
              fact("Log level", info ? String(info.logLevel ?? "—") : "—"),
              fact("Attach generation", info ? String(info.attachGeneration ?? "—") : "—"),
              fact("Created", info ? String(info.createdAt ?? "—") : "—"),
            ),
            session.instructions ? h("p", { class: "instructions" }, session.instructions) : null,
            jsonBlock("server info", session.serverInfo),
            jsonBlock("server capabilities", session.capabilities),
            info ? jsonBlock("session_info", info) : null,
          ]
        : h("p", { class: "muted" }, "Not connected."),
    );
  };

  const tickIdle = () => {
    const last = connection.state.lastTrafficAt;
    if (connection.state.status !== "ready" || last === null) {
      replace(items.idle.value, "—");
      return;
    }
    const idleMs = Date.now() - last;
    const text = `${Math.floor(idleMs / 1000)} s`;
    replace(
      items.idle.value,
      idleMs >= HIBERNATION_HINT_MS
        ? h(
            "span",
            {
              title:
                "No message for over 10 s: the session object has probably been evicted (hibernated); the next message wakes it.",
            },
            `${text} · probably hibernated`,
          )
        : text,
    );
  };
  setInterval(tickIdle, 1000);
  connection.onChange(tickIdle);

  const refresh = async () => {
    if (connection.state.status !== "ready") return;
    try {
      const result = await connection.client.request("tools/call", {
        name: "session_info",
        arguments: {},
      }).result;
      const content = Array.isArray(result.content) ? result.content[0] : undefined;
      const parsed: unknown = isRecord(content) ? JSON.parse(String(content.text)) : null;
      info = isRecord(parsed) ? parsed : null;
      if (info) onInfo(info);
      replace(updated, `session_info at ${clock(Date.now())}`);
    } catch (error) {
      info = { error: error instanceof Error ? error.message : pretty(error) };
    }
    render();
  };

  refreshButton.addEventListener("click", () => void refresh());
  dropButton.addEventListener("click", () => connection.simulateDrop());
  connection.onChange(render);
  connection.onReady(() => void refresh());
  render();
  return { summary, panel, refresh };
}

function fact(name: string, value: Node | string): HTMLElement {
  return h("div", {}, h("dt", {}, name), h("dd", {}, value));
}
