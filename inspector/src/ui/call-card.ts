/**
 * One tool call as it happens: arguments, a live progress bar fed by
 * notifications/progress, a Cancel button (notifications/cancelled), the
 * round-trip time, and the result rendered by content type, or the error.
 */
import { h, isRecord, replace } from "../dom";
import { type Call, CancelledError, type Progress } from "../rpc/client";
import { RpcError } from "../rpc/messages";
import { jsonBlock, renderContent } from "./content";

export interface CallCard {
  element: HTMLElement;
  onProgress(progress: Progress): void;
  track(call: Call): void;
}

export function callCard(tool: string, args: Record<string, unknown>): CallCard {
  const started = performance.now();
  const state = h("span", { class: "state", "aria-live": "polite" }, "running…");
  const timing = h("span", { class: "timing" });
  const cancel = h(
    "button",
    { type: "button", class: "small danger", "aria-label": `Cancel ${tool}` },
    "Cancel",
  );
  const bar = h("progress", { "aria-label": `Progress of ${tool}` });
  const progressText = h("span", { class: "progress-text" });
  const progress = h("div", { class: "progress", hidden: true }, bar, progressText);
  const result = h("div", { class: "result" });
  const element = h(
    "article",
    { class: "call", "data-tool": tool, "data-status": "running", "aria-label": `Call of ${tool}` },
    h(
      "header",
      {},
      h("strong", {}, tool),
      h("code", { class: "args" }, JSON.stringify(args)),
      state,
      timing,
      cancel,
    ),
    progress,
    result,
  );
  const finish = (status: string, text: string) => {
    element.dataset.status = status;
    replace(state, text);
    replace(timing, `${Math.round(performance.now() - started)} ms`);
    cancel.remove();
  };
  return {
    element,
    onProgress(update) {
      progress.hidden = false;
      if (update.total !== undefined) {
        bar.max = update.total;
        bar.value = update.progress;
      }
      const pct = update.total ? ` (${Math.round((100 * update.progress) / update.total)}%)` : "";
      replace(progressText, `${update.message ?? update.progress}${pct}`);
    },
    track(call) {
      cancel.addEventListener("click", () => call.cancel());
      call.result.then(
        (value) => {
          const isError = value.isError === true;
          finish(isError ? "tool-error" : "done", isError ? "tool error" : "done");
          replace(
            result,
            renderContent(value.content),
            isRecord(value.structuredContent)
              ? jsonBlock("structured content", value.structuredContent)
              : null,
          );
        },
        (error: unknown) => {
          if (error instanceof CancelledError) {
            finish("cancelled", "cancelled");
            replace(
              result,
              h(
                "p",
                { class: "muted" },
                "Cancelled: notifications/cancelled sent; the server sends no reply.",
              ),
            );
          } else if (error instanceof RpcError) {
            finish("error", `error ${error.code}`);
            replace(
              result,
              h("p", { class: "error" }, error.message),
              error.data === undefined ? null : jsonBlock("error data", error.data),
            );
          } else {
            finish("error", "failed");
            replace(
              result,
              h("p", { class: "error" }, error instanceof Error ? error.message : String(error)),
            );
          }
        },
      );
    },
  };
}
