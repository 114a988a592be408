/**
 * The live JSON-RPC log: every message in and out, with the round-trip time
 * of each response, filterable by text and kind, copyable as JSON. Bounded to
 * MAX_TRAFFIC_ENTRIES; message bodies are rendered only when opened.
 */
import { clock, copyText, h, pretty, replace } from "../dom";
import type { TrafficEntry, TrafficKind } from "../rpc/client";

const MAX_TRAFFIC_ENTRIES = 1000;
const ARROWS = { out: "→", in: "←", event: "•" } as const;
const KINDS: { value: "" | TrafficKind; label: string }[] = [
  { value: "", label: "all" },
  { value: "request", label: "requests" },
  { value: "response", label: "responses" },
  { value: "notification", label: "notifications" },
  { value: "error", label: "errors" },
  { value: "event", label: "connection events" },
];

export interface TrafficPanel {
  element: HTMLElement;
  add(entry: TrafficEntry): void;
}

export function trafficPanel(): TrafficPanel {
  const entries: { entry: TrafficEntry; text: string; row: HTMLElement }[] = [];
  const filter = h("input", {
    type: "search",
    id: "traffic-filter",
    placeholder: "method, id or text",
    "aria-label": "Filter messages",
  });
  const kind = h(
    "select",
    { id: "traffic-kind", "aria-label": "Kind of message" },
    KINDS.map((k) => h("option", { value: k.value }, k.label)),
  );
  const count = h("span", { class: "muted", id: "traffic-count", "aria-live": "off" });
  const copy = h("button", { type: "button", class: "small", id: "traffic-copy" }, "Copy");
  const clear = h("button", { type: "button", class: "small" }, "Clear");
  const list = h("ol", {
    class: "traffic-list",
    id: "traffic-list",
    "aria-label": "JSON-RPC messages, newest first",
  });

  const matches = (item: (typeof entries)[number]) => {
    const wanted = kind.value;
    const query = filter.value.trim().toLowerCase();
    return (!wanted || item.entry.kind === wanted) && (!query || item.text.includes(query));
  };
  const refresh = () => {
    let shown = 0;
    for (const item of entries) {
      item.row.hidden = !matches(item);
      if (!item.row.hidden) shown += 1;
    }
    replace(count, `${shown} of ${entries.length}`);
  };
  filter.addEventListener("input", refresh);
  kind.addEventListener("change", refresh);
  clear.addEventListener("click", () => {
    entries.length = 0;
    replace(list);
    refresh();
  });
  copy.addEventListener("click", async () => {
    const visible = entries.filter(matches).map(({ entry }) => ({
      time: new Date(entry.time).toISOString(),
      dir: entry.dir,
      kind: entry.kind,
      ...(entry.durationMs === undefined ? {} : { ms: Math.round(entry.durationMs * 10) / 10 }),
      message: entry.message,
    }));
    await copyText(pretty(visible));
    copy.textContent = `Copied ${visible.length}`;
    setTimeout(() => {
      copy.textContent = "Copy";
    }, 1500);
  });

  const element = h(
    "section",
    { class: "panel traffic", "aria-labelledby": "traffic-heading" },
    h(
      "div",
      { class: "toolbar" },
      h("h2", { id: "traffic-heading" }, "JSON-RPC"),
      filter,
      kind,
      copy,
      clear,
      count,
    ),
    list,
  );

  return {
    element,
    add(entry) {
      const row = entryRow(entry);
      const text = [entry.method, entry.detail, entry.id, JSON.stringify(entry.message)]
        .filter((part) => part !== undefined && part !== null)
        .join(" ")
        .toLowerCase();
      const item = { entry, text, row };
      entries.push(item);
      list.prepend(row);
      if (entries.length > MAX_TRAFFIC_ENTRIES) entries.shift()?.row.remove();
      row.hidden = !matches(item);
      replace(count, `${entries.filter((e) => !e.row.hidden).length} of ${entries.length}`);
    },
  };
}

function entryRow(entry: TrafficEntry): HTMLElement {
  const body = h("pre", { class: "json" });
  const details = h(
    "details",
    {},
    h(
      "summary",
      {},
      h("time", {}, clock(entry.time)),
      h(
        "span",
        {
          class: "dir",
          "aria-label": entry.dir === "out" ? "sent" : entry.dir === "in" ? "received" : "event",
        },
        ARROWS[entry.dir],
      ),
      h("span", { class: `kind kind-${entry.kind}` }, entry.kind),
      h("span", { class: "method" }, entry.method ?? ""),
      entry.detail ? h("span", { class: "detail" }, entry.detail) : null,
      entry.id === undefined || entry.id === null ? null : idLabel(entry.id),
      entry.durationMs === undefined
        ? null
        : h("span", { class: "ms" }, `${formatMs(entry.durationMs)}`),
      entry.dir === "event" ? null : h("span", { class: "bytes muted" }, `${entry.bytes} B`),
    ),
    body,
  );
  details.addEventListener("toggle", () => {
    if (details.open && !body.textContent) body.textContent = pretty(entry.message);
  });
  return h(
    "li",
    {
      class: `traffic-entry dir-${entry.dir}`,
      "data-kind": entry.kind,
      "data-method": entry.method ?? "",
    },
    details,
  );
}

/** Server-minted ids are long UUIDs: show the start, keep the whole id in the tooltip. */
function idLabel(id: string | number): HTMLElement {
  const text = String(id);
  const short = text.length > 16 ? `${text.slice(0, 14)}…` : text;
  return h("span", { class: "id", title: text }, `#${short}`);
}

function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}
