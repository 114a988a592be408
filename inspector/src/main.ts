/**
 * The Dormouse inspector: a single page served by the gateway at `/` and
 * `/inspector`, talking to the same gateway over WebSocket or Streamable HTTP.
 * This module only composes: the connection, the panels, the dialogs for
 * server->client requests, and a small debug hook for tests
 * (`window.dormouseInspector`).
 */
import { Connection } from "./connection";
import { h } from "./dom";
import { authorizationsPanel } from "./ui/authorizations-panel";
import { connectionBar } from "./ui/connection-bar";
import { logsPanel } from "./ui/logs-panel";
import { promptsPanel } from "./ui/prompts-panel";
import { resourcesPanel } from "./ui/resources-panel";
import { schemaForm } from "./ui/schema-form";
import { serverRequests } from "./ui/server-requests";
import { sessionView } from "./ui/session-panel";
import { tabs } from "./ui/tabs";
import { type Task, tasksPanel } from "./ui/tasks-panel";
import { toolsPanel } from "./ui/tools-panel";
import { trafficPanel } from "./ui/traffic-panel";
import { urlElicitations } from "./ui/url-elicitations";

const traffic = trafficPanel();
const opened = urlElicitations();
const requests = serverRequests({ onUrlOpened: (params) => opened.opened(params) });
const logs = logsPanel();
let tools: ReturnType<typeof toolsPanel> | null = null;
let tasks: ReturnType<typeof tasksPanel> | null = null;
const connection = new Connection({
  traffic: (entry) => traffic.add(entry),
  notification: (notification) => {
    logs.onNotification(notification);
    tools?.onNotification(notification);
    opened.onNotification(notification);
    tasks?.onNotification(notification);
  },
  serverRequest: (request) => requests.handle(request),
});
tasks = tasksPanel(connection);
const taskList = tasks;
tools = toolsPanel(connection, (task) => taskList.started(task as unknown as Task));
logs.bind(connection);
const session = sessionView(connection, (info) => logs.showLevel(info.logLevel));
// The principal's authorized upstreams sit with the session's details (a tab more would not
// fit a narrow window).
const authorizations = authorizationsPanel(connection);
session.panel.append(authorizations.element);

const root = document.getElementById("app") ?? document.body;
root.replaceChildren(
  h("a", { href: "#main", class: "skip" }, "Skip to the inspector"),
  connectionBar(connection),
  session.summary,
  h(
    "main",
    { id: "main", class: "layout" },
    h(
      "div",
      { class: "primary" },
      tabs("Inspector views", [
        { id: "tools", label: "Tools", panel: tools.element },
        { id: "resources", label: "Resources", panel: resourcesPanel(connection) },
        { id: "prompts", label: "Prompts", panel: promptsPanel(connection) },
        { id: "tasks", label: "Tasks", panel: tasks.element },
        { id: "session", label: "Session", panel: session.panel },
      ]),
    ),
    h("div", { class: "side" }, opened.element, logs.element, traffic.element),
  ),
  requests.element,
);

declare global {
  interface Window {
    /** For tests and demos: drop the socket, read the state, build a schema form. Not an API. */
    dormouseInspector: {
      connection: Connection;
      dropSocket(): boolean;
      schemaForm: typeof schemaForm;
    };
  }
}
window.dormouseInspector = {
  connection,
  dropSocket: () => connection.simulateDrop(),
  schemaForm,
};

// A reload resumes this tab's last session (sessionStorage survives reloads, not new tabs).
const saved = connection.saved();
if (saved) void connection.resume(saved, "reload");
