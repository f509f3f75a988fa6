import { CRITICAL_COLOR, HELD_COLOR, STATUS_COLORS } from '../../domain/graph-dot.js';
import type { GraphPicture } from '../../domain/graph-picture.js';
import type { TaskStatus } from '../../domain/task.js';

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** JSON inside a <script> element: no `</script>` (nor `<!--`) can close it early. */
const scriptJson = (value: unknown): string =>
  JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

/** Graphviz's SVG without its XML declaration and doctype, to sit inline in HTML. */
const inlineSvg = (svg: string): string => svg.slice(Math.max(0, svg.indexOf('<svg')));

const STYLE = `
*{box-sizing:border-box}
html,body{margin:0;height:100%;font:13px/1.4 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#212529;background:#fff}
body{display:grid;grid-template-columns:1fr 340px;grid-template-rows:auto 1fr;height:100vh}
header{grid-column:1/3;display:flex;gap:12px;align-items:center;flex-wrap:wrap;padding:6px 10px;border-bottom:1px solid #dee2e6;background:#f8f9fa}
header h1{font-size:15px;margin:0 8px 0 0}
header input{font:inherit;padding:3px 6px;width:220px}
header button{font:inherit;padding:2px 8px}
.legend{display:flex;gap:6px;flex-wrap:wrap}
.legend span{border:1px solid;border-radius:4px;padding:0 6px}
#stage{overflow:hidden;position:relative;cursor:grab;background:#fff}
#stage.dragging{cursor:grabbing}
#stage svg{width:100%;height:100%;display:block}
#details{border-left:1px solid #dee2e6;padding:10px 12px;overflow:auto;background:#fcfcfd}
#details h2{font-size:14px;margin:0 0 6px;word-break:break-word}
#details dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 10px;margin:0 0 8px}
#details dt{color:#868e96}
#details dd{margin:0;word-break:break-word}
#details ul{margin:2px 0 8px;padding-left:18px}
#details a{color:#1971c2;cursor:pointer;text-decoration:underline}
.muted{color:#868e96}
g.node{cursor:pointer}
g.node.selected polygon,g.node.selected path{stroke:#000;stroke-width:4px}
g.node.match polygon,g.node.match path{stroke:#f08c00;stroke-width:4px}
`;

const SCRIPT = `
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('loom-data').textContent);
  var byId = Object.create(null);
  data.nodes.forEach(function (n) { byId[n.id] = n; });
  var stage = document.getElementById('stage');
  var svg = stage.querySelector('svg');
  var panel = document.getElementById('details');
  var selected = null;

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function nodeEl(id) { return svg ? svg.getElementById(id) : null; }
  function taskList(title, ids) {
    var box = document.createDocumentFragment();
    box.appendChild(el('h3', title + ' (' + ids.length + ')'));
    if (ids.length === 0) { box.appendChild(el('div', 'none', 'muted')); return box; }
    var ul = el('ul');
    ids.forEach(function (id) {
      var li = el('li');
      var n = byId[id];
      if (n) {
        var a = el('a', id);
        a.addEventListener('click', function () { select(id, true); });
        li.appendChild(a);
        li.appendChild(el('span', ' ' + n.status + (n.held ? ', held' : '') + ': ' + n.title));
      } else {
        li.appendChild(el('span', id));
        li.appendChild(el('span', ' (not drawn: outside this view or inside a finished epic)', 'muted'));
      }
      ul.appendChild(li);
    });
    box.appendChild(ul);
    return box;
  }
  function show(n) {
    panel.textContent = '';
    panel.appendChild(el('h2', n.title));
    var dl = el('dl');
    function row(k, v) { if (v === null || v === undefined || v === '') return; dl.appendChild(el('dt', k)); dl.appendChild(el('dd', v)); }
    row('id', n.id);
    row('status', n.status + (n.held ? ' (held)' : ''));
    row('priority', n.priority);
    row(n.status === 'claimed' ? 'lease holder' : 'assignee', n.assignee);
    row('epic', n.parent_id);
    row('wave', n.wave);
    row('weight', n.weight + ' open task' + (n.weight === 1 ? '' : 's') + ' wait for it');
    row('critical path', n.critical ? 'yes' : null);
    row('blocked', n.blocked_reason);
    row('stuck', n.stuck ? 'behind a failed or cancelled dependency' : null);
    row('held since', n.held_at);
    row('held because', n.hold_reason);
    row('collapsed', n.collapsed === null ? null : n.collapsed + ' finished task' + (n.collapsed === 1 ? '' : 's') + ' inside (loom graph --expand draws them)');
    panel.appendChild(dl);
    panel.appendChild(taskList('Dependencies', n.depends_on));
    panel.appendChild(taskList('Dependents', n.dependents));
  }
  function select(id, center) {
    var n = byId[id];
    if (!n) return;
    if (selected) { var old = nodeEl(selected); if (old) old.classList.remove('selected'); }
    selected = id;
    var g = nodeEl(id);
    if (g) { g.classList.add('selected'); if (center) centerOn(g); }
    show(n);
  }

  // Pan and zoom by moving the viewBox.
  var box = null;
  if (svg) {
    svg.removeAttribute('width');
    svg.removeAttribute('height');
    var vb = svg.viewBox.baseVal;
    box = { x: vb.x, y: vb.y, w: vb.width, h: vb.height };
  }
  var home = box && { x: box.x, y: box.y, w: box.w, h: box.h };
  function apply() { if (box) svg.setAttribute('viewBox', box.x + ' ' + box.y + ' ' + box.w + ' ' + box.h); }
  function centerOn(g) {
    if (!box) return;
    var b = g.getBBox();
    var gx = b.x + b.width / 2, gy = b.y + b.height / 2;
    var root = svg.querySelector('g.graph');
    var rt = root && root.transform.baseVal.consolidate();
    if (rt) { gx += rt.matrix.e; gy += rt.matrix.f; }
    box.x = gx - box.w / 2; box.y = gy - box.h / 2;
    apply();
  }
  function zoom(f, cx, cy) {
    if (!box) return;
    var r = stage.getBoundingClientRect();
    var px = box.x + (cx - r.left) / r.width * box.w, py = box.y + (cy - r.top) / r.height * box.h;
    box.w *= f; box.h *= f;
    box.x = px - (cx - r.left) / r.width * box.w; box.y = py - (cy - r.top) / r.height * box.h;
    apply();
  }
  stage.addEventListener('wheel', function (e) { e.preventDefault(); zoom(e.deltaY > 0 ? 1.15 : 1 / 1.15, e.clientX, e.clientY); }, { passive: false });
  var drag = null;
  stage.addEventListener('mousedown', function (e) { drag = { x: e.clientX, y: e.clientY, moved: false }; });
  window.addEventListener('mousemove', function (e) {
    if (!drag || !box) return;
    var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
    drag.moved = true; stage.classList.add('dragging');
    var r = stage.getBoundingClientRect();
    box.x -= dx / r.width * box.w; box.y -= dy / r.height * box.h;
    drag.x = e.clientX; drag.y = e.clientY;
    apply();
  });
  window.addEventListener('mouseup', function () { stage.classList.remove('dragging'); setTimeout(function () { drag = null; }, 0); });
  stage.addEventListener('click', function (e) {
    if (drag && drag.moved) return;
    var g = e.target instanceof Element ? e.target.closest('g.node') : null;
    if (g && byId[g.id]) select(g.id, false);
  });
  document.getElementById('fit').addEventListener('click', function () { if (home) { box = { x: home.x, y: home.y, w: home.w, h: home.h }; apply(); } });
  document.getElementById('search').addEventListener('input', function (e) {
    var q = e.target.value.trim().toLowerCase();
    var first = null;
    data.nodes.forEach(function (n) {
      var g = nodeEl(n.id);
      var hit = q !== '' && (n.id.indexOf(q) >= 0 || n.title.toLowerCase().indexOf(q) >= 0);
      if (g) g.classList.toggle('match', hit);
      if (hit && first === null) first = n.id;
    });
    document.getElementById('matches').textContent = q === '' ? '' : (first === null ? 'no match' : '');
    if (first !== null) select(first, true);
  });
})();
`;

/** One self-contained page: no external URL at all (a CSP forbids every fetch), user text only as text. */
export function htmlPage(input: { svg: string; picture: GraphPicture; title: string }): string {
  const p = input.picture;
  const legend = (Object.keys(STATUS_COLORS) as TaskStatus[])
    .map((s) => `<span style="background:${STATUS_COLORS[s].fill};border-color:${STATUS_COLORS[s].stroke}">${s}</span>`)
    .concat([
      `<span style="border:2px dashed ${HELD_COLOR}">held</span>`,
      `<span style="border:3px solid ${CRITICAL_COLOR}">critical path${p.critical_path.length > 0 ? ` (${p.critical_path.length})` : ': none'}</span>`,
    ])
    .join('');
  const counts = `${p.tasks} task${p.tasks === 1 ? '' : 's'}${p.collapsed_tasks > 0 ? `, ${p.collapsed_tasks} inside finished epics (one node each)` : ''}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(input.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(input.title)}</h1>
<span class="muted">${escapeHtml(counts)}</span>
<input id="search" type="search" placeholder="find a task by id or title" autocomplete="off">
<span id="matches" class="muted"></span>
<button id="fit" type="button">fit</button>
<div class="legend">${legend}</div>
</header>
<main id="stage">${inlineSvg(input.svg)}</main>
<aside id="details"><p class="muted">Click a task to see its details. Scroll to zoom, drag to move.</p></aside>
<script type="application/json" id="loom-data">${scriptJson({ epic_id: p.epic_id, critical_path: p.critical_path, nodes: p.nodes })}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
