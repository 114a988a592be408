/**
 * The resources tab: resources and resource templates from resources/list and
 * resources/templates/list; Read runs resources/read and renders the contents.
 */
import type { Connection } from "../connection";
import { h, isRecord, replace, uid } from "../dom";
import { RpcError } from "../rpc/messages";
import { resourceBlock } from "./content";

export function resourcesPanel(connection: Connection): HTMLElement {
  const list = h("div", { class: "resource-list", id: "resource-list" });
  const output = h("div", {
    class: "resource-output",
    id: "resource-output",
    "aria-live": "polite",
  });

  const read = async (uri: string) => {
    replace(output, h("p", { class: "muted" }, `Reading ${uri}…`));
    try {
      const result = await connection.client.request("resources/read", { uri }).result;
      const contents = Array.isArray(result.contents) ? result.contents : [];
      replace(
        output,
        h("h3", {}, uri),
        contents.map((c) => resourceBlock(c)),
      );
    } catch (error) {
      const text = error instanceof RpcError ? `${error.code}: ${error.message}` : String(error);
      replace(output, h("p", { class: "error" }, `resources/read failed: ${text}`));
    }
  };

  const load = async () => {
    const [resources, templates] = await Promise.all([
      listOf(connection, "resources/list", "resources"),
      listOf(connection, "resources/templates/list", "resourceTemplates"),
    ]);
    replace(
      list,
      h("h2", {}, `Resources (${resources.length})`),
      h(
        "ul",
        { class: "items" },
        resources.map((r) =>
          h(
            "li",
            {},
            h(
              "button",
              { type: "button", class: "small", onclick: () => void read(String(r.uri)) },
              "Read",
            ),
            " ",
            h("code", {}, String(r.uri)),
            r.mimeType ? h("span", { class: "muted" }, ` · ${String(r.mimeType)}`) : null,
            r.description ? h("div", { class: "muted" }, String(r.description)) : null,
          ),
        ),
      ),
      templates.length > 0 ? h("h2", {}, `Templates (${templates.length})`) : null,
      h(
        "ul",
        { class: "items" },
        templates.map((t) => templateRow(t, read)),
      ),
    );
  };

  connection.onReady((reason) => {
    if (reason !== "reattached") void load();
  });
  replace(list, h("p", { class: "muted" }, "Connect to list resources."));
  return h("section", { class: "panel two-column" }, list, output);
}

function templateRow(
  template: Record<string, unknown>,
  read: (uri: string) => Promise<void>,
): HTMLElement {
  const id = uid("tpl");
  const input = h("input", {
    id,
    type: "text",
    value: String(template.uriTemplate ?? ""),
    size: 30,
  });
  return h(
    "li",
    {},
    h("label", { for: id }, String(template.name ?? template.uriTemplate)),
    " ",
    input,
    " ",
    h("button", { type: "button", class: "small", onclick: () => void read(input.value) }, "Read"),
    template.description ? h("div", { class: "muted" }, String(template.description)) : null,
  );
}

export async function listOf(
  connection: Connection,
  method: string,
  key: string,
): Promise<Record<string, unknown>[]> {
  try {
    const result = await connection.client.request(method).result;
    const items = result[key];
    return Array.isArray(items) ? items.filter(isRecord) : [];
  } catch {
    return [];
  }
}
