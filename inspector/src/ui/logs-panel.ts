/**
 * Log messages (notifications/message) and the level selector, which sends
 * logging/setLevel: the server then drops messages below that level. The
 * selector shows the session's level from session_info after a (re)connect.
 */
import { LOG_LEVELS } from "../../../shared/protocol-constants";
import type { Connection } from "../connection";
import { clock, h, pretty, replace } from "../dom";
import type { RpcNotification } from "../rpc/messages";

const MAX_LOG_ENTRIES = 500;

export interface LogsPanel {
  element: HTMLElement;
  /** Wires the level selector to a connection (logging/setLevel). */
  bind(connection: Connection): void;
  onNotification(notification: RpcNotification): void;
  showLevel(level: unknown): void;
}

export function logsPanel(): LogsPanel {
  let connection: Connection | null = null;
  const select = h(
    "select",
    { id: "log-level" },
    LOG_LEVELS.map((level) => h("option", { value: level }, level)),
  );
  select.value = "info";
  const status = h("span", { class: "muted", id: "log-level-status", "aria-live": "polite" });
  const list = h("ol", { class: "log-list", id: "log-list", "aria-label": "Log messages" });
  const clear = h("button", { type: "button", class: "small" }, "Clear");
  clear.addEventListener("click", () => replace(list));

  select.addEventListener("change", async () => {
    const level = select.value;
    if (!connection) return;
    replace(status, "setting…");
    try {
      await connection.client.request("logging/setLevel", { level }).result;
      replace(status, `server sends ${level} and above`);
    } catch (error) {
      replace(
        status,
        `logging/setLevel failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  });

  const element = h(
    "section",
    { class: "panel logs", "aria-labelledby": "logs-heading" },
    h(
      "div",
      { class: "toolbar" },
      h("h2", { id: "logs-heading" }, "Log messages"),
      h("label", { for: "log-level" }, "Level"),
      select,
      clear,
      status,
    ),
    list,
  );

  return {
    element,
    bind(target) {
      connection = target;
    },
    onNotification(notification) {
      if (notification.method !== "notifications/message") return;
      const params = notification.params ?? {};
      const level = String(params.level ?? "info");
      const data = params.data;
      list.prepend(
        h(
          "li",
          { class: `log level-${level}`, "data-level": level },
          h("time", {}, clock(Date.now())),
          h("span", { class: "level" }, level),
          params.logger ? h("span", { class: "logger" }, String(params.logger)) : null,
          h("span", { class: "data" }, typeof data === "string" ? data : pretty(data)),
        ),
      );
      while (list.children.length > MAX_LOG_ENTRIES) list.lastElementChild?.remove();
    },
    showLevel(level) {
      if (typeof level === "string" && (LOG_LEVELS as readonly string[]).includes(level)) {
        select.value = level;
        replace(status, `session level: ${level}`);
      }
    },
  };
}
