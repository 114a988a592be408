/**
 * The principal's authorized upstreams (per-principal OAuth to upstream
 * servers): `GET /oauth/authorizations` on the gateway, with the connection's
 * token, and a Revoke button per upstream (`DELETE /oauth/authorizations/<name>`).
 * Never a token: the gateway does not send them to clients.
 */
import type { Connection } from "../connection";
import { h, isRecord, replace } from "../dom";

export function authorizationsPanel(connection: Connection): {
  element: HTMLElement;
  refresh(): Promise<void>;
} {
  const body = h("div", { id: "authorizations" }, h("p", { class: "muted" }, "Not loaded yet."));
  const headers = (): Record<string, string> =>
    connection.token ? { Authorization: `Bearer ${connection.token}` } : {};

  const refresh = async () => {
    try {
      const response = await fetch(`${location.origin}/oauth/authorizations`, {
        headers: headers(),
      });
      if (!response.ok) {
        replace(body, h("p", { class: "muted" }, `Not available (HTTP ${response.status}).`));
        return;
      }
      const data: unknown = await response.json();
      const rows = isRecord(data) && Array.isArray(data.authorizations) ? data.authorizations : [];
      const upstreams = isRecord(data) && Array.isArray(data.upstreams) ? data.upstreams : [];
      replace(
        body,
        h("p", { class: "muted" }, `OAuth upstreams: ${upstreams.join(", ") || "none"}.`),
        rows.length === 0
          ? h("p", { id: "no-authorizations" }, "No upstream is authorized yet.")
          : h(
              "ul",
              { "aria-label": "Authorized upstreams" },
              rows.filter(isRecord).map((row) =>
                h(
                  "li",
                  { "data-upstream": String(row.upstream) },
                  h("strong", {}, String(row.upstream)),
                  ` authorized ${String(row.grantedAt)}`,
                  row.scope ? ` · scope ${String(row.scope)}` : "",
                  row.accessTokenExpiresAt
                    ? ` · token until ${String(row.accessTokenExpiresAt)}`
                    : "",
                  " ",
                  h(
                    "button",
                    {
                      type: "button",
                      onclick: async () => {
                        await fetch(
                          `${location.origin}/oauth/authorizations/${encodeURIComponent(String(row.upstream))}`,
                          { method: "DELETE", headers: headers() },
                        );
                        await refresh();
                      },
                    },
                    `Revoke ${String(row.upstream)}`,
                  ),
                ),
              ),
            ),
      );
    } catch (error) {
      replace(body, h("p", { class: "error" }, `Could not load: ${String(error)}`));
    }
  };

  const element = h(
    "section",
    { class: "authorizations" },
    h("h2", {}, "Authorized upstreams"),
    h(
      "p",
      { class: "muted" },
      "Upstream servers you signed in to through the gateway (OAuth). Their tokens stay in the gateway.",
    ),
    h(
      "button",
      { type: "button", id: "refresh-authorizations", onclick: () => refresh() },
      "Refresh",
    ),
    body,
  );
  connection.onReady(() => void refresh());
  return { element, refresh };
}
