/**
 * The tools tab: the tool list (filterable), a form generated from the chosen
 * tool's input schema (or raw JSON arguments), and the calls made, newest
 * first, each with progress, cancel and its rendered result. Upstream servers
 * the gateway could not reach are named above the list (from the result's
 * `_meta["dormouse/unavailableUpstreams"]`), and a `tools/list_changed`
 * notification reloads the list. A tool with `execution.taskSupport` can run
 * as a durable task (`params.task`); the task then lives in the Tasks tab.
 */
import { META_UNAVAILABLE_UPSTREAMS } from "../../../shared/protocol-constants";
import type { Connection } from "../connection";
import { h, isRecord, pretty, replace } from "../dom";
import type { RpcNotification } from "../rpc/messages";
import { callCard } from "./call-card";
import { schemaForm } from "./schema-form";

const MAX_CALLS_SHOWN = 50;

interface Tool {
  name: string;
  title?: string;
  description?: string;
  inputSchema?: unknown;
  annotations?: Record<string, unknown>;
  execution?: { taskSupport?: string };
}

export interface ToolsPanel {
  element: HTMLElement;
  onNotification(notification: RpcNotification): void;
}

export function toolsPanel(
  connection: Connection,
  onTaskStarted: (task: Record<string, unknown>) => void,
): ToolsPanel {
  let tools: Tool[] = [];
  let selected: string | null = null;
  const filter = h("input", {
    type: "search",
    id: "tool-filter",
    placeholder: "Filter tools",
    "aria-label": "Filter tools",
  });
  const list = h("ul", { class: "tool-list", id: "tool-list", "aria-label": "Tools" });
  const unavailable = h("div", { id: "unavailable-upstreams", role: "status" });
  const detail = h("div", { class: "tool-detail", id: "tool-detail" });
  const calls = h("div", { class: "calls", id: "calls", "aria-label": "Calls", role: "region" });

  const renderList = () => {
    const query = filter.value.trim().toLowerCase();
    replace(
      list,
      tools
        .filter((tool) => !query || tool.name.toLowerCase().includes(query))
        .map((tool) =>
          h(
            "li",
            {},
            h(
              "button",
              {
                type: "button",
                class: "tool",
                "data-tool": tool.name,
                "aria-pressed": String(tool.name === selected),
                onclick: () => select(tool.name),
              },
              tool.name,
            ),
          ),
        ),
    );
  };

  const select = (name: string) => {
    selected = name;
    renderList();
    const tool = tools.find((t) => t.name === name);
    if (tool) replace(detail, toolForm(tool));
    detail.querySelector<HTMLElement>("input, select, textarea, button[type=submit]")?.focus();
  };

  const toolForm = (tool: Tool): HTMLElement => {
    const generated = schemaForm(tool.inputSchema, "");
    const progress = h("input", { type: "checkbox", id: "opt-progress" });
    progress.checked = true;
    const raw = h("input", { type: "checkbox", id: "opt-raw" });
    const taskSupport = tool.execution?.taskSupport;
    const asTask = h("input", { type: "checkbox", id: "opt-task" });
    asTask.checked = taskSupport === "required";
    asTask.disabled = taskSupport === "required";
    const rawArea = h("textarea", {
      id: "raw-args",
      rows: 6,
      spellcheck: "false",
      hidden: true,
      "aria-label": "Arguments as JSON",
    });
    raw.addEventListener("change", () => {
      rawArea.hidden = !raw.checked;
      generated.element.hidden = raw.checked;
      // Hidden required fields would otherwise block the submit (they cannot be focused).
      for (const control of generated.element.querySelectorAll<HTMLInputElement>(
        "input, select, textarea",
      )) {
        control.disabled = raw.checked;
      }
      if (raw.checked) rawArea.value = pretty(generated.read());
    });
    const form = h(
      "form",
      {
        class: "tool-form",
        id: "tool-form",
        "aria-label": `Arguments of ${tool.name}`,
        novalidate: false,
      },
      h("h2", {}, tool.title ? `${tool.title} ` : "", h("code", {}, tool.name)),
      tool.description ? h("p", { class: "description" }, tool.description) : null,
      annotationBadges(tool.annotations),
      generated.element,
      rawArea,
      h(
        "div",
        { class: "options" },
        h(
          "span",
          { class: "choice" },
          progress,
          h("label", { for: "opt-progress" }, "Ask for progress (progressToken)"),
        ),
        h(
          "span",
          { class: "choice" },
          raw,
          h("label", { for: "opt-raw" }, "Edit arguments as JSON"),
        ),
        taskSupport === "optional" || taskSupport === "required"
          ? h(
              "span",
              { class: "choice" },
              asTask,
              h(
                "label",
                { for: "opt-task" },
                taskSupport === "required" ? "Runs as a task (required)" : "Run as a task",
              ),
            )
          : null,
      ),
      h("button", { type: "submit", class: "primary", id: "call-tool" }, `Call ${tool.name}`),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!form.reportValidity()) return;
      let args: Record<string, unknown>;
      try {
        const parsed: unknown = raw.checked ? JSON.parse(rawArea.value || "{}") : generated.read();
        if (!isRecord(parsed)) throw new Error("Arguments must be a JSON object");
        args = parsed;
      } catch (error) {
        rawArea.setCustomValidity(error instanceof Error ? error.message : "Invalid JSON");
        rawArea.reportValidity();
        rawArea.setCustomValidity("");
        return;
      }
      const card = callCard(tool.name, args);
      calls.prepend(card.element);
      while (calls.children.length > MAX_CALLS_SHOWN) calls.lastElementChild?.remove();
      const call = connection.client.request(
        "tools/call",
        { name: tool.name, arguments: args, ...(asTask.checked ? { task: {} } : {}) },
        progress.checked ? { onProgress: (p) => card.onProgress(p) } : {},
      );
      if (!asTask.checked) {
        card.track(call);
        return;
      }
      card.track({
        ...call,
        result: call.result.then((result) => {
          const task = isRecord(result.task) ? result.task : {};
          onTaskStarted(task);
          return {
            content: [
              {
                type: "text",
                text: `Started as task ${String(task.taskId)}: follow it in the Tasks tab.`,
              },
            ],
          };
        }),
      });
    });
    return form;
  };

  const load = async () => {
    try {
      const result = await connection.client.request("tools/list").result;
      tools = (Array.isArray(result.tools) ? result.tools : []).filter(
        (t): t is Tool => isRecord(t) && typeof t.name === "string",
      );
      showUnavailable(
        isRecord(result._meta) ? result._meta[META_UNAVAILABLE_UPSTREAMS] : undefined,
      );
    } catch (error) {
      tools = [];
      showUnavailable(undefined);
      replace(detail, h("p", { class: "error" }, `tools/list failed: ${String(error)}`));
    }
    renderList();
    if (selected && tools.some((t) => t.name === selected)) select(selected);
    else if (!selected)
      replace(
        detail,
        h("p", { class: "muted" }, `${tools.length} tools. Choose one to build its call.`),
      );
  };

  const showUnavailable = (entries: unknown) => {
    const down = (Array.isArray(entries) ? entries : []).filter(
      (e): e is { upstream: string; reason: string } =>
        isRecord(e) && typeof e.upstream === "string" && typeof e.reason === "string",
    );
    replace(
      unavailable,
      down.length === 0
        ? null
        : h(
            "p",
            { class: "error" },
            "Unavailable upstreams (their tools are not listed): ",
            down.map((e, i) => [i > 0 ? "; " : "", h("strong", {}, e.upstream), ` ${e.reason}`]),
          ),
    );
  };

  filter.addEventListener("input", renderList);
  connection.onReady((reason) => {
    if (reason !== "reattached") void load();
  });
  replace(detail, h("p", { class: "muted" }, "Connect to list the gateway's tools."));

  return {
    element: h(
      "section",
      { class: "panel tools" },
      h("div", { class: "tool-picker" }, filter, unavailable, list),
      h("div", { class: "tool-main" }, detail, h("h2", { class: "calls-heading" }, "Calls"), calls),
    ),
    onNotification(notification) {
      if (notification.method === "notifications/tools/list_changed") void load();
    },
  };
}

function annotationBadges(annotations: Record<string, unknown> | undefined): HTMLElement | null {
  if (!annotations) return null;
  const hints = Object.entries(annotations).filter(([, value]) => value === true);
  if (hints.length === 0) return null;
  return h(
    "p",
    { class: "hints" },
    hints.map(([name]) => h("span", { class: "hint" }, name.replace(/Hint$/, ""))),
  );
}
