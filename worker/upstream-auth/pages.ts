/**
 * The few HTML pages a browser sees during an upstream authorization: the
 * confirmation before it leaves for the authorization server (it names the
 * principal and the upstream, so a person sent someone else's link sees whose
 * account the grant would land in: MCP 2025-11-25, client/elicitation,
 * "Phishing"), and the outcome. No script; a CSP that allows only inline
 * styles, the form's own target and the authorization server (Chrome applies
 * form-action to the redirect that follows the POST).
 */
const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#222}
h1{font-size:1.3rem}code{background:#f2f2f2;padding:0 .25rem;border-radius:3px}
button{font:inherit;padding:.5rem 1.2rem;border-radius:6px;border:1px solid #345;background:#2c5282;color:#fff;cursor:pointer}
.muted{color:#666;font-size:.9rem}`;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string, status: number, formTarget?: string): Response {
  const formAction = formTarget ? `'self' ${formTarget}` : "'none'";
  return new Response(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`,
    {
      status,
      headers: {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-store",
        // same-origin, not no-referrer: with no-referrer, Chrome sends `Origin: null` on the
        // form's POST; the start link still never leaves in a Referer to another origin.
        "Referrer-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": `default-src 'none'; style-src 'unsafe-inline'; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
      },
    },
  );
}

export function confirmPage(input: {
  principal: string;
  upstream: string;
  serverOrigin: string;
  flowToken: string;
  action: string;
}): Response {
  return page(
    "Authorize an upstream server",
    `<h1>Authorize <code>${escapeHtml(input.upstream)}</code></h1>
<p>The Dormouse gateway asks to act for <strong>${escapeHtml(input.principal)}</strong> at the upstream server <code>${escapeHtml(input.upstream)}</code>.</p>
<p>You will sign in at <code>${escapeHtml(input.serverOrigin)}</code>. Continue only if you are <strong>${escapeHtml(input.principal)}</strong> and you started this from your own MCP client.</p>
<form method="post" action="${escapeHtml(input.action)}"><input type="hidden" name="flow" value="${escapeHtml(input.flowToken)}"><button type="submit" id="continue">Continue to sign in</button></form>
<p class="muted">This link works once and expires in a few minutes.</p>`,
    200,
    input.serverOrigin,
  );
}

export function outcomePage(
  ok: boolean,
  headline: string,
  detail: string,
  status = ok ? 200 : 400,
): Response {
  return page(
    headline,
    `<h1 id="${ok ? "authorized" : "refused"}">${escapeHtml(headline)}</h1><p>${escapeHtml(detail)}</p>`,
    status,
  );
}
