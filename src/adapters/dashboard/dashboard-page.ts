const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

const head = (base: string, title: string): string =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
  `<title>${escapeHtml(title)}</title><link rel="icon" href="data:,"><link rel="stylesheet" href="${base}/assets/app.css"></head>`;

/** The sign-in page (answered with 401 when no session): the token goes in a POST body, never in an address. */
export function loginPage(base: string, error: string | null): string {
  return (
    `${head(base, 'Loom dashboard: sign in')}<body class="login"><form method="post" action="${base}/login">` +
    `<h1>Loom dashboard</h1><p>Give the token <code>loom serve</code> was started with (LOOM_TOKEN or serve.token), or open the link <code>loom dashboard</code> printed.</p>` +
    (error === null ? '' : `<p class="error" role="alert">${escapeHtml(error)}</p>`) +
    `<label>Token <input type="password" name="token" autocomplete="current-password" required autofocus></label>` +
    `<button type="submit">Sign in</button></form></body></html>`
  );
}

/** The dashboard: panels filled by app.js from the JSON API; no inline script (the CSP forbids it). */
export function dashboardPage(o: { base: string; csrf: string; projectId: string }): string {
  const panel = (id: string, title: string): string => `<section id="${id}" class="panel"><h2>${title} <span class="count"></span></h2><div class="body"></div></section>`;
  return (
    `${head(o.base, `Loom: ${o.projectId}`)}` +
    `<body data-base="${escapeHtml(o.base)}" data-csrf="${escapeHtml(o.csrf)}" data-project="${escapeHtml(o.projectId)}">` +
    `<header><h1>Loom <span id="project-name"></span></h1><div id="counts"></div>` +
    `<div id="scope"></div><span id="live" class="live off" title="live updates">connecting</span></header>` +
    `<main><section id="graph" class="graph"><div id="graph-stage" aria-label="task graph"><p class="muted">drawing the graph...</p></div></section>` +
    `<aside>${panel('escalations', 'Escalations')}${panel('claims', 'Claims')}${panel('ready', 'Ready')}${panel('agents', 'Agents')}` +
    `${panel('dead-letters', 'Dead letters')}${panel('runs', 'Workflow runs')}</aside>` +
    `<section id="events" class="events"><h2>Events</h2><ol id="event-list"></ol></section></main>` +
    `<div id="toast" role="status"></div>` +
    `<script type="module" src="${o.base}/assets/app.js"></script></body></html>`
  );
}
