/**
 * Renders MCP content by type: text (JSON text pretty-printed), images and
 * audio (data: URLs; the page's CSP allows data: for img and media only),
 * embedded resources (text or blob), resource links, and anything unknown as
 * JSON. Server data only ever becomes text nodes or data: URLs.
 */
import { h, isRecord, pretty } from "../dom";

export function renderContent(blocks: unknown): HTMLElement {
  const list = Array.isArray(blocks) ? blocks : [];
  return h(
    "div",
    { class: "content" },
    list.length === 0 ? h("p", { class: "muted" }, "(no content)") : null,
    list.map((block) => renderBlock(block)),
  );
}

export function renderBlock(block: unknown): HTMLElement {
  if (!isRecord(block)) return jsonBlock("value", block);
  switch (block.type) {
    case "text":
      return textBlock(String(block.text ?? ""), "text");
    case "image":
      return mediaBlock("img", block);
    case "audio":
      return mediaBlock("audio", block);
    case "resource":
      return resourceBlock(block.resource);
    case "resource_link":
      return h(
        "figure",
        { class: "block" },
        h("figcaption", {}, "resource link"),
        h(
          "p",
          {},
          h("code", {}, String(block.uri ?? "")),
          block.name ? ` ${String(block.name)}` : "",
        ),
        block.description ? h("p", { class: "muted" }, String(block.description)) : null,
      );
    default:
      return jsonBlock(String(block.type ?? "unknown"), block);
  }
}

/** Text that is really JSON (session_info, resources) is shown pretty-printed. */
export function textBlock(text: string, caption: string, mimeType?: string): HTMLElement {
  const json = parseJsonish(text, mimeType);
  if (json !== undefined) return jsonBlock(`${caption} (JSON)`, json);
  return h(
    "figure",
    { class: "block" },
    h("figcaption", {}, caption),
    h("pre", { class: "text" }, text),
  );
}

export function jsonBlock(caption: string, value: unknown): HTMLElement {
  return h(
    "figure",
    { class: "block" },
    h("figcaption", {}, caption),
    h("pre", { class: "json" }, pretty(value)),
  );
}

function mediaBlock(kind: "img" | "audio", block: Record<string, unknown>): HTMLElement {
  const mime = String(block.mimeType ?? (kind === "img" ? "image/png" : "audio/wav"));
  const src = `data:${mime};base64,${String(block.data ?? "")}`;
  const media =
    kind === "img"
      ? h("img", { src, alt: `Image returned by the tool (${mime})` })
      : h("audio", { src, controls: true, "aria-label": `Audio returned by the tool (${mime})` });
  return h(
    "figure",
    { class: "block" },
    h("figcaption", {}, `${kind === "img" ? "image" : "audio"} · ${mime}`),
    media,
  );
}

export function resourceBlock(resource: unknown): HTMLElement {
  if (!isRecord(resource)) return jsonBlock("resource", resource);
  const uri = String(resource.uri ?? "");
  const mime = typeof resource.mimeType === "string" ? resource.mimeType : undefined;
  const caption = `resource ${uri}${mime ? ` · ${mime}` : ""}`;
  if (typeof resource.text === "string") return textBlock(resource.text, caption, mime);
  if (typeof resource.blob === "string") {
    const src = `data:${mime ?? "application/octet-stream"};base64,${resource.blob}`;
    if (mime?.startsWith("image/"))
      return mediaBlock("img", { mimeType: mime, data: resource.blob });
    if (mime?.startsWith("audio/"))
      return mediaBlock("audio", { mimeType: mime, data: resource.blob });
    return h(
      "figure",
      { class: "block" },
      h("figcaption", {}, caption),
      h(
        "a",
        { href: src, download: uri.split("/").pop() || "resource" },
        `Download (${resource.blob.length} base64 chars)`,
      ),
    );
  }
  return jsonBlock(caption, resource);
}

function parseJsonish(text: string, mimeType?: string): unknown {
  const trimmed = text.trim();
  const looksJson = mimeType?.includes("json") || /^[[{]/.test(trimmed);
  if (!looksJson) return undefined;
  try {
    const value: unknown = JSON.parse(trimmed);
    return typeof value === "object" && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}
