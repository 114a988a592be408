/**
 * WAI-ARIA tabs (automatic activation): arrow keys, Home and End move between
 * tabs, only the selected tab is in the tab order, panels are labelled by
 * their tab.
 */
import { h } from "../dom";

export interface TabSpec {
  id: string;
  label: string;
  panel: HTMLElement;
}

export function tabs(label: string, specs: TabSpec[]): HTMLElement {
  const buttons = specs.map((spec) =>
    h(
      "button",
      {
        type: "button",
        role: "tab",
        id: `tab-${spec.id}`,
        "aria-controls": `panel-${spec.id}`,
        "data-tab": spec.id,
      },
      spec.label,
    ),
  );
  const panels = specs.map((spec) => {
    spec.panel.id = `panel-${spec.id}`;
    spec.panel.setAttribute("role", "tabpanel");
    spec.panel.setAttribute("aria-labelledby", `tab-${spec.id}`);
    spec.panel.tabIndex = 0;
    return spec.panel;
  });
  const select = (index: number, focus: boolean) => {
    buttons.forEach((button, i) => {
      const selected = i === index;
      button.setAttribute("aria-selected", String(selected));
      button.tabIndex = selected ? 0 : -1;
      const panel = panels[i];
      if (panel) panel.hidden = !selected;
    });
    if (focus) buttons[index]?.focus();
  };
  const list = h("div", { role: "tablist", "aria-label": label, class: "tablist" }, buttons);
  buttons.forEach((button, index) => {
    button.addEventListener("click", () => select(index, false));
    button.addEventListener("keydown", (event) => {
      const last = buttons.length - 1;
      const next =
        event.key === "ArrowRight"
          ? index === last
            ? 0
            : index + 1
          : event.key === "ArrowLeft"
            ? index === 0
              ? last
              : index - 1
            : event.key === "Home"
              ? 0
              : event.key === "End"
                ? last
                : null;
      if (next === null) return;
      event.preventDefault();
      select(next, true);
    });
  });
  select(0, false);
  return h("div", { class: "tabs" }, list, panels);
}
