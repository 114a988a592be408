/**
 * The header: transport choice, optional token, the connect/resume/
 * disconnect/end buttons, the status badge and the notice line (a polite live
 * region, so reconnects are announced).
 */
import { type Connection, type ConnectionState, label, shortId } from "../connection";
import { h, replace } from "../dom";
import type { TransportKind } from "../rpc/transport";

const PREFS_KEY = "dormouse.inspector.transport";

const STATUS_TEXT: Record<ConnectionState["status"], string> = {
  disconnected: "Disconnected",
  connecting: "Connecting",
  ready: "Connected",
  reconnecting: "Re-attaching",
  superseded: "Taken over",
  ended: "Session ended",
  failed: "Not connected",
};

export function connectionBar(connection: Connection): HTMLElement {
  const preferred = localStorage.getItem(PREFS_KEY) === "http" ? "http" : "websocket";
  const radios = (["websocket", "http"] as const).map((kind) => {
    const input = h("input", {
      type: "radio",
      name: "transport",
      value: kind,
      id: `transport-${kind}`,
    });
    input.checked = kind === preferred;
    const hint = kind === "websocket" ? " (/ws)" : " (/mcp)";
    return h(
      "span",
      { class: "choice" },
      input,
      h(
        "label",
        { for: `transport-${kind}` },
        label(kind),
        h("span", { class: "muted hint-path" }, hint),
      ),
    );
  });
  const transportGroup = h(
    "fieldset",
    { class: "transport" },
    h("legend", {}, "Transport"),
    radios,
  );
  const token = h("input", {
    id: "token",
    type: "password",
    autocomplete: "off",
    placeholder: "none",
    size: 10,
  });
  const chosen = (): TransportKind =>
    transportGroup.querySelector<HTMLInputElement>("input:checked")?.value === "http"
      ? "http"
      : "websocket";
  const connect = h("button", { type: "submit", class: "primary", id: "connect" }, "Connect");
  const resume = h("button", { type: "button", id: "resume" }, "Resume");
  const disconnect = h("button", { type: "button", id: "disconnect" }, "Disconnect");
  const end = h("button", { type: "button", id: "end-session", class: "danger" }, "End session");
  const badge = h("span", { class: "badge", id: "status" });
  const notice = h("p", { class: "notice", id: "notice", role: "status", "aria-live": "polite" });

  const form = h(
    "form",
    { class: "controls", "aria-label": "Connection" },
    transportGroup,
    h("span", { class: "field inline" }, h("label", { for: "token" }, "Token"), token),
    h("span", { class: "buttons" }, connect, resume, disconnect, end),
    badge,
  );
  // Enter in the token field connects, like the Connect button.
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    localStorage.setItem(PREFS_KEY, chosen());
    void connection.connect(chosen(), token.value.trim());
  });
  resume.addEventListener("click", () => {
    const saved = connection.saved();
    if (saved)
      void connection.resume({ ...saved, token: token.value.trim() || saved.token }, "button");
  });
  disconnect.addEventListener("click", () => connection.disconnect());
  end.addEventListener("click", () => void connection.end());

  const render = (state: ConnectionState) => {
    const live = state.status === "ready" || state.status === "reconnecting";
    const busy = state.status === "connecting";
    const saved = connection.saved();
    connect.disabled = busy;
    connect.textContent = live ? "New session" : "Connect";
    resume.hidden = live || busy || !saved;
    if (saved) resume.textContent = `Resume ${shortId(saved.session.sessionId)}`;
    disconnect.hidden = !live;
    end.hidden = !state.session || state.status === "ended";
    badge.className = `badge status-${state.status}`;
    badge.textContent = STATUS_TEXT[state.status];
    replace(notice, state.notice);
  };
  connection.onChange(render);
  render(connection.state);

  return h(
    "header",
    { class: "topbar" },
    h("h1", {}, "Dormouse ", h("span", { class: "muted" }, "inspector")),
    form,
    notice,
  );
}
