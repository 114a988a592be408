/**
 * URL-mode elicitations (MCP 2025-11-25, client/elicitation) the person
 * agreed to open: each is listed with the host it sends them to, "waiting"
 * until the server sends `notifications/elicitation/complete` for its id,
 * then "completed". Unknown and repeated ids are ignored, as the spec asks.
 */
import { h, isRecord, replace } from "../dom";
import type { RpcNotification } from "../rpc/messages";

export interface UrlElicitations {
  element: HTMLElement;
  opened(params: Record<string, unknown>): void;
  onNotification(notification: RpcNotification): void;
}

export function urlElicitations(): UrlElicitations {
  const list = h("ul", { id: "url-elicitations", "aria-label": "Opened pages" });
  const element = h(
    "section",
    { class: "url-elicitations", role: "status", "aria-live": "polite" },
    list,
  );
  const states = new Map<string, HTMLElement>();
  return {
    element,
    opened(params) {
      const id = typeof params.elicitationId === "string" ? params.elicitationId : null;
      const url = typeof params.url === "string" ? params.url : "";
      let host = url;
      try {
        host = new URL(url).host;
      } catch {
        // Shown as given.
      }
      const state = h("span", { class: "state" }, "waiting for completion…");
      const item = h(
        "li",
        { "data-elicitation": id ?? "" },
        h("strong", {}, host),
        " ",
        typeof params.message === "string" ? params.message : "",
        " · ",
        state,
      );
      list.prepend(item);
      if (id) states.set(id, state);
    },
    onNotification(notification) {
      if (notification.method !== "notifications/elicitation/complete") return;
      const params = isRecord(notification.params) ? notification.params : {};
      const id = typeof params.elicitationId === "string" ? params.elicitationId : null;
      const state = id ? states.get(id) : undefined;
      if (!id || !state) return;
      states.delete(id);
      state.classList.add("done");
      replace(state, "completed");
    },
  };
}
