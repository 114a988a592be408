/**
 * Answers server->client requests in a modal dialog, one at a time:
 * elicitation/create (a form from `requestedSchema`, or a URL to open) and
 * sampling/createMessage (the messages, and a reply the person types).
 * roots/list answers an empty list: a web page has no file roots.
 *
 * The dialog is a native <dialog> opened with showModal(): it traps focus and
 * Escape means "cancel", which is also the elicitation action for it.
 */
import { METHOD_NOT_FOUND } from "../../../shared/errors";
import { h, isRecord, replace } from "../dom";
import { RpcError, type RpcRequest } from "../rpc/messages";
import { renderBlock } from "./content";
import { schemaForm } from "./schema-form";

type Result = Record<string, unknown>;

export interface ServerRequests {
  element: HTMLDialogElement;
  handle(request: RpcRequest): Promise<Result>;
}

export function serverRequests(
  options: {
    /** A URL elicitation the person agreed to open (the page is opened, the answer is accept). */
    onUrlOpened?(params: Record<string, unknown>): void;
  } = {},
): ServerRequests {
  const dialog = h("dialog", { id: "server-request", "aria-labelledby": "server-request-title" });
  let queue: Promise<unknown> = Promise.resolve();

  const show = (
    build: (done: (outcome: () => Result) => void) => HTMLElement,
    onEscape: () => Result,
  ) =>
    new Promise<Result>((resolve, reject) => {
      let settled = false;
      const done = (outcome: () => Result) => {
        if (settled) return;
        settled = true;
        dialog.close();
        try {
          resolve(outcome());
        } catch (error) {
          reject(error);
        }
      };
      dialog.oncancel = (event) => {
        event.preventDefault();
        done(onEscape);
      };
      replace(dialog, build(done));
      dialog.showModal();
    });

  const answer = (request: RpcRequest): Promise<Result> => {
    const params = request.params ?? {};
    switch (request.method) {
      case "elicitation/create":
        return params.mode === "url"
          ? show(
              (done) => urlElicitation(params, done, options.onUrlOpened ?? (() => {})),
              () => ({ action: "cancel" }),
            )
          : show(
              (done) => formElicitation(params, done),
              () => ({ action: "cancel" }),
            );
      case "sampling/createMessage":
        return show((done) => sampling(params, done), rejectSampling);
      case "roots/list":
        return Promise.resolve({ roots: [] });
      default:
        return Promise.reject(
          new RpcError(METHOD_NOT_FOUND, `Method not found: ${request.method}`),
        );
    }
  };

  return {
    element: dialog,
    handle(request) {
      const next = queue.then(() => answer(request));
      queue = next.catch(() => {});
      return next;
    },
  };
}

function rejectSampling(): Result {
  throw new RpcError(-1, "User rejected sampling request");
}

function header(title: string, method: string, message: unknown): HTMLElement[] {
  return [
    h("h2", { id: "server-request-title" }, title),
    h("p", { class: "muted" }, h("code", {}, method), " · a request from the server"),
    typeof message === "string" && message
      ? h("p", { class: "message", id: "server-request-message" }, message)
      : h("span"),
  ];
}

function formElicitation(
  params: Record<string, unknown>,
  done: (outcome: () => Result) => void,
): HTMLElement {
  const fields = schemaForm(params.requestedSchema, "elicit");
  const form = h(
    "form",
    { class: "elicitation", id: "elicitation-form" },
    header("The server asks for input", "elicitation/create", params.message),
    fields.element,
    h(
      "div",
      { class: "buttons" },
      h("button", { type: "submit", class: "primary", id: "elicitation-accept" }, "Accept"),
      h(
        "button",
        {
          type: "button",
          id: "elicitation-decline",
          onclick: () => done(() => ({ action: "decline" })),
        },
        "Decline",
      ),
      h(
        "button",
        {
          type: "button",
          id: "elicitation-cancel",
          onclick: () => done(() => ({ action: "cancel" })),
        },
        "Cancel",
      ),
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (form.reportValidity()) done(() => ({ action: "accept", content: fields.read() }));
  });
  return form;
}

/**
 * MCP 2025-11-25 (client/elicitation, Safe URL Handling): the full URL is shown
 * with its host set apart, nothing is fetched before consent, and the page
 * opens in its own browsing context (noopener) where the inspector cannot read it.
 */
function urlElicitation(
  params: Record<string, unknown>,
  done: (outcome: () => Result) => void,
  onOpened: (params: Record<string, unknown>) => void,
): HTMLElement {
  const url = typeof params.url === "string" ? params.url : "";
  let host = "";
  try {
    const parsed = new URL(url);
    host = parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.host : "";
  } catch {
    host = "";
  }
  return h(
    "div",
    { class: "elicitation" },
    header("The server asks you to open a page", "elicitation/create (url)", params.message),
    host
      ? h("p", {}, "It opens ", h("strong", { id: "elicitation-host" }, host), ":")
      : h("p", { class: "error" }, "The URL is not a web address and cannot be opened."),
    h("p", {}, h("code", { id: "elicitation-url", class: "url" }, url)),
    h(
      "div",
      { class: "buttons" },
      host
        ? h(
            "button",
            {
              type: "button",
              class: "primary",
              id: "elicitation-open",
              onclick: () => {
                window.open(url, "_blank", "noopener,noreferrer");
                onOpened(params);
                done(() => ({ action: "accept" }));
              },
            },
            "Open page",
          )
        : null,
      h(
        "button",
        {
          type: "button",
          id: "elicitation-decline",
          onclick: () => done(() => ({ action: "decline" })),
        },
        "Decline",
      ),
      h(
        "button",
        {
          type: "button",
          id: "elicitation-cancel",
          onclick: () => done(() => ({ action: "cancel" })),
        },
        "Cancel",
      ),
    ),
  );
}

function sampling(
  params: Record<string, unknown>,
  done: (outcome: () => Result) => void,
): HTMLElement {
  const messages = (Array.isArray(params.messages) ? params.messages : []).filter(isRecord);
  const reply = h("textarea", { id: "sampling-reply", rows: 4, required: true });
  const model = h("input", {
    id: "sampling-model",
    type: "text",
    value: "human-in-the-loop",
    required: true,
  });
  const facts = [
    typeof params.maxTokens === "number" ? `at most ${params.maxTokens} tokens` : null,
    isRecord(params.modelPreferences)
      ? `preferences ${JSON.stringify(params.modelPreferences)}`
      : null,
  ].filter(Boolean);
  const form = h(
    "form",
    { class: "sampling", id: "sampling-form" },
    header("The server asks for a model reply", "sampling/createMessage", null),
    facts.length > 0 ? h("p", { class: "muted" }, facts.join(" · ")) : null,
    typeof params.systemPrompt === "string"
      ? h(
          "div",
          { class: "message" },
          h("strong", {}, "system"),
          h("pre", { class: "text" }, params.systemPrompt),
        )
      : null,
    h(
      "ol",
      { class: "messages", "aria-label": "Conversation so far" },
      messages.map((m) =>
        h(
          "li",
          { class: "message" },
          h("strong", {}, String(m.role)),
          (Array.isArray(m.content) ? m.content : [m.content]).map((c) => renderBlock(c)),
        ),
      ),
    ),
    h(
      "div",
      { class: "field" },
      h("label", { for: "sampling-reply" }, "Your reply (as the assistant)"),
      reply,
    ),
    h(
      "div",
      { class: "field" },
      h("label", { for: "sampling-model" }, "Model name to report"),
      model,
    ),
    h(
      "div",
      { class: "buttons" },
      h("button", { type: "submit", class: "primary", id: "sampling-send" }, "Send reply"),
      h(
        "button",
        { type: "button", id: "sampling-reject", onclick: () => done(rejectSampling) },
        "Reject",
      ),
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    done(() => ({
      role: "assistant",
      content: { type: "text", text: reply.value },
      model: model.value,
      stopReason: "endTurn",
    }));
  });
  return form;
}
