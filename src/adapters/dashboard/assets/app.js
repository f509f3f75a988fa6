// The Loom dashboard page: plain ESM, no build step, no dependency. Data
// comes from the JSON API next to it; live changes arrive as server-sent
// events. Everything shown is set with textContent (never parsed as HTML).
const body = document.body;
const BASE = body.dataset.base;
const CSRF = body.dataset.csrf;
const MAX_EVENTS = 200;
/** Recent events shown on opening the page. */
const BACKLOG = 30;
const STATUS_LINE = /^(pending|claimed|blocked|done|failed|cancelled|epic)\b/;

let state = null;
let skewMs = 0;
let drawnIds = '';
let epic = null;
let refreshing = false;
let refreshAgain = false;
let refreshTimer = null;
let zoom = 1;
/** The first graph, asked for alongside the first state (not after it): the page's slowest part starts first. */
let prefetched = null;
/** The task whose details are shown (null: none). */
let selected = null;
/** A layered graph's nodes with their places ({g, x, y, near}), for labelling only those near the view; null for Graphviz's. */
let placed = null;
let labelFrame = 0;

const $ = (sel) => document.querySelector(sel);

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function toast(message, bad) {
  const t = $('#toast');
  t.textContent = message;
  t.className = bad ? 'show bad' : 'show';
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.className = ''), 4000);
}

async function api(path, init) {
  const res = await fetch(BASE + '/api/' + path, { credentials: 'same-origin', ...init });
  if (res.status === 401) {
    location.href = BASE + '/';
    throw new Error('signed out');
  }
  const type = res.headers.get('content-type') || '';
  const data = type.startsWith('application/json') ? await res.json() : await res.text();
  if (!res.ok) throw new Error(data && data.code ? data.code + ': ' + data.message : 'HTTP ' + res.status);
  return data;
}

function post(path, payload) {
  return api(path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-loom-csrf': CSRF }, body: JSON.stringify(payload) });
}

// ---- the graph ------------------------------------------------------------

const graphPath = () => 'graph.svg' + (epic ? '?epic=' + encodeURIComponent(epic) : '');

/** The SVG text as an element, not yet in the page (the first graph is parsed as soon as it arrives, while the state may still be on its way). */
function parseSvg(text) {
  const svg = new DOMParser().parseFromString(text, 'image/svg+xml').documentElement;
  if (svg.nodeName !== 'svg') throw new Error('the graph could not be read');
  svg.removeAttribute('width');
  svg.removeAttribute('height');
  return svg;
}

// Up to 1,000 nodes the server draws the graph with Graphviz; past that in
// columns of dependency depth (src/domain/graph-layers.ts), a smaller SVG of
// the same shape: a g.node per task, id = task id, the status line last.
async function loadGraph() {
  const stage = $('#graph-stage');
  try {
    const pending = prefetched;
    prefetched = null;
    const svg = await (pending || api(graphPath()).then(parseSvg));
    // Moved, not copied: a big graph is tens of thousands of elements.
    stage.replaceChildren(document.adoptNode(svg));
    indexLayered(stage.querySelector('svg'));
    applyZoom();
    recolour();
    if (selected) markSelected(selected);
    performance.mark('loom:graph-parsed');
    body.dataset.graph = 'ready';
    // The next frame is the graph on screen (bench:dashboard reads these marks).
    requestAnimationFrame(() => setTimeout(() => performance.mark('loom:graph-painted'), 0));
  } catch (e) {
    stage.replaceChildren(el('p', 'The graph could not be drawn: ' + e.message, 'error'));
    body.dataset.graph = 'failed';
  }
}

function applyZoom() {
  const svg = $('#graph-stage svg');
  if (svg) svg.style.width = zoom === 1 ? '100%' : Math.round(zoom * 100) + '%';
  labelNear();
}

// A layered graph (thousands of nodes) shows the labels of the nodes in and
// near the view only (app.css hides the others): laying out and painting
// 15,000 text runs was most of the time the browser needed for 5,000 tasks.
// Every node keeps its shape, colour and texts in the DOM, so recolouring,
// clicks and the status line work the same; scrolling and zooming label
// what comes into view.
function indexLayered(svg) {
  placed = null;
  if (!svg || !svg.classList.contains('layered')) return;
  placed = [];
  for (const g of svg.querySelectorAll('g.node')) {
    const m = /translate\(([-\d.]+) ([-\d.]+)\)/.exec(g.getAttribute('transform') || '');
    if (m) placed.push({ g, x: Number(m[1]), y: Number(m[2]), near: false });
  }
}

function labelNear() {
  if (!placed) return;
  const stage = $('#graph-stage');
  const svg = stage.querySelector('svg.layered');
  if (!svg) return;
  const box = svg.viewBox.baseVal;
  const scale = svg.getBoundingClientRect().width / (box && box.width ? box.width : 1);
  if (!(scale > 0)) return;
  // Half a view more on each side, so a scroll finds its labels already there.
  const w = stage.clientWidth / scale;
  const h = stage.clientHeight / scale;
  const left = stage.scrollLeft / scale - w / 2;
  const top = stage.scrollTop / scale - h / 2;
  const right = left + 2 * w;
  const bottom = top + 2 * h;
  for (const n of placed) {
    const near = n.x + 200 >= left && n.x <= right && n.y + 60 >= top && n.y <= bottom;
    if (near !== n.near) {
      n.near = near;
      n.g.classList.toggle('near', near);
    }
  }
}

function labelSoon() {
  if (!placed || labelFrame) return;
  labelFrame = requestAnimationFrame(() => {
    labelFrame = 0;
    labelNear();
  });
}

function recolour() {
  if (!state) return;
  for (const g of document.querySelectorAll('#graph-stage g.node')) {
    const n = state.nodes[g.id];
    if (!n) continue;
    if (g.dataset.status === n.status && g.dataset.held === String(n.held)) continue;
    g.dataset.status = n.status;
    g.dataset.held = String(n.held);
    const shape = g.querySelector('rect, polygon, path, ellipse');
    const c = state.colors[n.status];
    if (shape && c) shape.setAttribute('fill', c.fill);
    // The label's status line ("claimed, by alice") was drawn with the old status.
    const texts = g.querySelectorAll('text');
    const last = texts[texts.length - 1];
    if (last && STATUS_LINE.test(last.textContent)) last.textContent = n.status + (n.held ? ', held' : '');
  }
}

// ---- a task's details, on a click on its node ----------------------------

function markSelected(id) {
  for (const g of document.querySelectorAll('#graph-stage g.node.selected')) g.classList.remove('selected');
  const g = id ? document.getElementById(id) : null;
  if (g && g.closest('#graph-stage')) g.classList.add('selected');
  return g;
}

async function showTask(id, scroll) {
  selected = id;
  const g = markSelected(id);
  if (g && scroll) g.scrollIntoView({ block: 'center', inline: 'center' });
  const box = $('#details');
  box.hidden = false;
  // A refresh of the task shown keeps what it shows until the answer comes.
  if (box.dataset.task !== id) box.replaceChildren(el('p', 'reading ' + id + '...', 'muted'));
  box.dataset.task = id;
  let t;
  try {
    t = await api('task?id=' + encodeURIComponent(id));
  } catch (e) {
    box.replaceChildren(el('p', e.message, 'error'));
    return;
  }
  if (selected !== id) return;
  const close = el('button', '\u00d7', 'close');
  close.title = 'close';
  close.addEventListener('click', hideTask);
  const dl = el('dl');
  const row = (k, v) => {
    if (v === null || v === undefined || v === '') return;
    dl.appendChild(el('dt', k));
    dl.appendChild(el('dd', v));
  };
  row('id', t.id);
  row('status', t.status + (t.held ? ', held' + (t.hold_reason ? ': ' + t.hold_reason : '') : ''));
  row('priority', t.priority + ', weight ' + t.weight);
  row('agent', t.assignee);
  row('attempts', t.attempts + '/' + t.max_attempts);
  row('lease until', t.lease_expires_at);
  row('blocked by', t.blocked_reason);
  row('failure', t.failure_reason);
  row('progress', t.progress);
  row('done when', t.done_when);
  row('labels', t.labels.join(', '));
  row('epic', t.parent_id);
  row('inside', t.children ? t.children + ' tasks' : null);
  row('escalations', t.open_escalations ? t.open_escalations + ' open' : null);
  row('updated', new Date(t.updated_at).toLocaleString());
  const list = (title, refs) => {
    const box = el('div');
    box.appendChild(el('h3', title + ' (' + refs.length + ')'));
    const ul = el('ul');
    for (const r of refs.slice(0, 50)) {
      const li = el('li');
      const a = el('button', r.id, 'link');
      a.addEventListener('click', () => void showTask(r.id, true));
      li.appendChild(a);
      li.appendChild(el('span', ' ' + r.status + ': ' + r.title, 'muted'));
      ul.appendChild(li);
    }
    if (refs.length > 50) ul.appendChild(el('li', '... ' + (refs.length - 50) + ' more', 'muted'));
    box.appendChild(ul);
    return box;
  };
  box.replaceChildren(close, el('h3', t.title, 'title'), dl, list('waits for', t.depends_on), list('wanted by', t.dependents));
}

function hideTask() {
  selected = null;
  markSelected(null);
  const box = $('#details');
  box.hidden = true;
  box.replaceChildren();
  delete box.dataset.task;
}

// ---- the panels -----------------------------------------------------------

function fill(id, items, row, empty) {
  const box = $('#' + id + ' .body');
  $('#' + id + ' .count').textContent = '(' + items.length + ')';
  if (items.length === 0) {
    box.replaceChildren(el('p', empty, 'muted'));
    return;
  }
  const ul = el('ul');
  for (const item of items) ul.appendChild(row(item));
  box.replaceChildren(ul);
}

function taskLine(id, title) {
  const li = el('li');
  li.appendChild(el('code', id));
  li.appendChild(el('span', ' ' + title));
  li.dataset.task = id;
  return li;
}

function render() {
  $('#project-name').textContent = state.project.name + (state.project.removed ? ' (removed)' : '');
  const counts = $('#counts');
  counts.replaceChildren();
  for (const [status, n] of Object.entries(state.counts)) {
    if (n === 0) continue;
    const c = el('span', status + ' ' + n, 'pill');
    const colour = state.colors[status];
    if (colour) {
      c.style.background = colour.fill;
      c.style.borderColor = colour.stroke;
    }
    counts.appendChild(c);
  }
  fill('escalations', state.escalations, (e) => {
    const li = taskLine(e.task_id, e.task_title || '');
    li.dataset.escalation = e.id;
    li.appendChild(el('div', e.message, 'note'));
    const actions = el('div', null, 'actions');
    for (const action of ['retry', 'unblock', 'done', 'cancel']) {
      const b = el('button', action);
      b.dataset.action = action;
      b.addEventListener('click', () => resolve(e, action, b));
      actions.appendChild(b);
    }
    li.appendChild(actions);
    return li;
  }, 'No open escalation.');
  fill('claims', state.claims, (c) => {
    const li = taskLine(c.id, c.title);
    const meta = el('div', null, 'note');
    meta.appendChild(el('span', (c.agent || '?') + ', attempt ' + c.attempts + '/' + c.max_attempts + ', lease '));
    const cd = el('span', '', 'countdown');
    cd.dataset.expires = c.lease_expires_at || '';
    meta.appendChild(cd);
    if (c.progress) meta.appendChild(el('div', c.progress, 'muted'));
    li.appendChild(meta);
    return li;
  }, 'Nothing is claimed.');
  fill('ready', state.ready, (t) => {
    const li = taskLine(t.id, t.title);
    li.prepend(el('span', t.priority, 'prio ' + t.priority));
    return li;
  }, 'Nothing is ready.');
  fill('agents', state.agents, (a) => {
    const li = el('li');
    li.appendChild(el('span', a.status, 'agent ' + a.status));
    li.appendChild(el('span', ' ' + a.id));
    li.appendChild(el('span', ' seen ' + ago(a.last_seen) + (a.claims.length ? ', holds ' + a.claims.join(', ') : ''), 'muted'));
    return li;
  }, 'No agent seen yet.');
  fill('dead-letters', state.dead_letters, (t) => {
    const li = taskLine(t.id, t.title);
    li.appendChild(el('div', t.failure_reason || '', 'note'));
    const b = el('button', 'redrive');
    b.addEventListener('click', () => redrive(t, b));
    li.appendChild(el('div', null, 'actions')).appendChild(b);
    return li;
  }, 'No dead letter.');
  fill('runs', state.workflow_runs, (r) => {
    const li = el('li');
    const a = el('button', r.workflow + ' #' + r.run_id, 'link');
    a.title = 'draw this run\u2019s steps';
    a.addEventListener('click', () => setScope(r.epic_id, r.workflow + ' #' + r.run_id));
    li.appendChild(a);
    li.appendChild(el('span', ' ' + r.status + ': ' + r.title, 'muted'));
    return li;
  }, 'No workflow run yet.');
  tick();
}

function setScope(id, label) {
  epic = id;
  const scope = $('#scope');
  scope.replaceChildren();
  if (id) {
    scope.appendChild(el('span', 'showing ' + label + ' '));
    const b = el('button', 'whole project');
    b.addEventListener('click', () => setScope(null, null));
    scope.appendChild(b);
  }
  drawnIds = '';
  void loadGraph();
}

function ago(iso) {
  const s = Math.round((Date.now() + skewMs - Date.parse(iso)) / 1000);
  if (s < 60) return s + ' s ago';
  if (s < 3600) return Math.round(s / 60) + ' min ago';
  return Math.round(s / 3600) + ' h ago';
}

function tick() {
  const now = Date.now() + skewMs;
  for (const cd of document.querySelectorAll('.countdown')) {
    if (!cd.dataset.expires) {
      cd.textContent = 'none';
      continue;
    }
    const left = Math.round((Date.parse(cd.dataset.expires) - now) / 1000);
    cd.textContent = left >= 0 ? Math.floor(left / 60) + ':' + String(left % 60).padStart(2, '0') + ' left' : 'expired ' + -left + ' s ago';
    cd.classList.toggle('late', left < 30);
  }
}

async function resolve(e, action, button) {
  button.disabled = true;
  try {
    const r = await post('resolve', { escalation_id: e.id, action });
    toast('Resolved ' + e.id + ' (' + action + '): ' + r.task_id + ' is ' + r.status);
  } catch (err) {
    toast(err.message, true);
  }
  scheduleRefresh(0);
}

async function redrive(t, button) {
  button.disabled = true;
  try {
    await post('redrive', { task_id: t.id });
    toast('Redrove ' + t.id);
  } catch (err) {
    toast(err.message, true);
  }
  scheduleRefresh(0);
}

// ---- state and the live stream -------------------------------------------

async function refresh() {
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  try {
    state = await api('state');
    skewMs = Date.parse(state.now) - Date.now();
    render();
    // The panels are usable now; a graph to lay out again can take a while longer.
    body.dataset.state = 'ready';
    performance.mark('loom:state-ready');
    const ids = Object.keys(state.nodes).sort().join(',');
    if (ids !== drawnIds) {
      drawnIds = ids;
      await loadGraph();
    } else {
      recolour();
    }
    if (selected && !$('#details').hidden) void showTask(selected, false);
  } catch (e) {
    toast('Could not read the project: ' + e.message, true);
  } finally {
    refreshing = false;
    if (refreshAgain) {
      refreshAgain = false;
      scheduleRefresh(0);
    }
  }
}

function scheduleRefresh(ms) {
  if (refreshTimer !== null) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    void refresh();
  }, ms);
}

function showEvent(e) {
  const list = $('#event-list');
  const li = el('li');
  li.appendChild(el('span', new Date(e.at).toLocaleTimeString(), 'muted'));
  li.appendChild(el('span', ' #' + e.id + ' '));
  li.appendChild(el('b', e.type));
  if (e.task_id) li.appendChild(el('code', ' ' + e.task_id));
  if (e.agent_id) li.appendChild(el('span', ' by ' + e.agent_id, 'muted'));
  list.prepend(li);
  while (list.children.length > MAX_EVENTS) list.lastChild.remove();
}

function follow(since) {
  const live = $('#live');
  const source = new EventSource(BASE + '/api/events?since=' + since);
  source.onopen = () => {
    live.textContent = 'live';
    live.className = 'live on';
  };
  source.onerror = () => {
    // The browser reconnects by itself, sending the last event id it got: the stream resumes from the log.
    live.textContent = 'reconnecting';
    live.className = 'live off';
  };
  source.addEventListener('loom', (m) => {
    const e = JSON.parse(m.data);
    showEvent(e);
    scheduleRefresh(150);
  });
}

async function start() {
  $('#graph').prepend(zoomBar());
  const details = el('div', null, 'details');
  details.id = 'details';
  details.hidden = true;
  $('#graph').appendChild(details);
  $('#graph-stage').addEventListener('scroll', labelSoon, { passive: true });
  window.addEventListener('resize', labelSoon);
  $('#graph-stage').addEventListener('click', (e) => {
    const g = e.target.closest && e.target.closest('g.node');
    if (g && g.id) void showTask(g.id, false);
  });
  prefetched = api(graphPath()).then(parseSvg);
  prefetched.catch(() => undefined);
  await refresh();
  if (state) follow(Math.max(0, state.last_event_id - BACKLOG));
  setInterval(tick, 1000);
}

function zoomBar() {
  const bar = el('div', null, 'zoom');
  const step = (f) => () => {
    zoom = f === 0 ? 1 : Math.min(8, Math.max(1, zoom * f));
    applyZoom();
  };
  for (const [label, f] of [['+', 1.5], ['\u2212', 1 / 1.5], ['fit', 0]]) {
    const b = el('button', label);
    b.addEventListener('click', step(f));
    bar.appendChild(b);
  }
  return bar;
}

void start();
