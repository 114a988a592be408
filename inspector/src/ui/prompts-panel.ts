/**
 * The prompts tab: prompts/list, a form of each prompt's arguments with
 * suggestions from completion/complete, and prompts/get rendered as messages.
 */
import type { Connection } from "../connection";
import { h, isRecord, replace, uid } from "../dom";
import { RpcError } from "../rpc/messages";
import { renderBlock } from "./content";
import { listOf } from "./resources-panel";

/** Pause after typing before asking completion/complete, so one word is one request. */
const SUGGEST_DELAY_MS = 250;

export function promptsPanel(connection: Connection): HTMLElement {
  const list = h("div", { class: "prompt-list", id: "prompt-list" });
  const output = h("div", { class: "prompt-output", id: "prompt-output", "aria-live": "polite" });

  const load = async () => {
    const prompts = await listOf(connection, "prompts/list", "prompts");
    replace(
      list,
      h("h2", {}, `Prompts (${prompts.length})`),
      prompts.map((p) => promptForm(connection, p, output)),
    );
  };
  connection.onReady((reason) => {
    if (reason !== "reattached") void load();
  });
  replace(list, h("p", { class: "muted" }, "Connect to list prompts."));
  return h("section", { class: "panel two-column" }, list, output);
}

function promptForm(
  connection: Connection,
  prompt: Record<string, unknown>,
  output: HTMLElement,
): HTMLElement {
  const name = String(prompt.name);
  const args = (Array.isArray(prompt.arguments) ? prompt.arguments : []).filter(isRecord);
  const inputs = args.map((arg) => {
    const id = uid("p");
    const listId = `${id}-options`;
    const input = h("input", {
      id,
      type: "text",
      required: arg.required === true,
      list: listId,
      autocomplete: "off",
    });
    const options = h("datalist", { id: listId });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ask = () => {
      clearTimeout(timer);
      timer = setTimeout(
        () => void suggest(connection, name, String(arg.name), input.value, options),
        SUGGEST_DELAY_MS,
      );
    };
    input.addEventListener("input", ask);
    input.addEventListener("focus", ask);
    return {
      arg,
      input,
      element: h(
        "div",
        { class: "field" },
        h(
          "label",
          { for: id },
          String(arg.name),
          arg.required ? h("span", { class: "required", "aria-hidden": "true" }, " *") : null,
        ),
        input,
        options,
        arg.description ? h("small", { class: "help" }, String(arg.description)) : null,
      ),
    };
  });
  const form = h(
    "form",
    { class: "prompt", "aria-label": `Prompt ${name}` },
    h("h3", {}, h("code", {}, name)),
    prompt.description ? h("p", { class: "muted" }, String(prompt.description)) : null,
    inputs.map((i) => i.element),
    h("button", { type: "submit" }, "Get prompt"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    const values = Object.fromEntries(
      inputs.filter((i) => i.input.value !== "").map((i) => [String(i.arg.name), i.input.value]),
    );
    try {
      const result = await connection.client.request("prompts/get", { name, arguments: values })
        .result;
      const messages = (Array.isArray(result.messages) ? result.messages : []).filter(isRecord);
      replace(
        output,
        h("h3", {}, `prompts/get ${name}`),
        result.description ? h("p", { class: "muted" }, String(result.description)) : null,
        messages.map((m) =>
          h("div", { class: "message" }, h("strong", {}, String(m.role)), renderBlock(m.content)),
        ),
      );
    } catch (error) {
      const text = error instanceof RpcError ? `${error.code}: ${error.message}` : String(error);
      replace(output, h("p", { class: "error" }, `prompts/get failed: ${text}`));
    }
  });
  return form;
}

async function suggest(
  connection: Connection,
  prompt: string,
  argument: string,
  value: string,
  options: HTMLDataListElement,
) {
  if (!isRecord(connection.state.session?.capabilities.completions)) return;
  try {
    const result = await connection.client.request("completion/complete", {
      ref: { type: "ref/prompt", name: prompt },
      argument: { name: argument, value },
    }).result;
    const completion = isRecord(result.completion) ? result.completion : {};
    const values = Array.isArray(completion.values) ? completion.values : [];
    replace(
      options,
      values.map((v) => h("option", { value: String(v) })),
    );
  } catch {
    // Suggestions are a convenience: a failure leaves the field as typed.
  }
}
