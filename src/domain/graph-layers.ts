import { LoomError } from './errors.js';
import { clip, CRITICAL_COLOR, HELD_COLOR, oneLine, STATUS_COLORS } from './graph-dot.js';
import type { GraphPicture, PictureNode } from './graph-picture.js';
import type { TaskStatus } from './task.js';

/**
 * A picture laid out in layers, for graphs too big for Graphviz to lay out
 * while someone waits (the dashboard past LAYERED_FROM nodes; Graphviz as
 * WASM took 8.6 s for 5,000 tasks and sent a 6.7 MB SVG). Each task sits in
 * the column of its longest chain of dependencies (so every arrow runs left
 * to right, as Graphviz's rankdir=LR draws them), rows ordered within a
 * column by the mean row of what it waits for (two sweeps: chains come out
 * straight), and finished epics stay collapsed as in every picture.
 * Linear in nodes and edges: milliseconds for 5,000 tasks, and about
 * 300 bytes of SVG a node (1.6 MB for 5,000 tasks).
 *
 * The SVG keeps what the dashboard relies on in Graphviz's: one
 * `<g class="node ...">` per task with the task id as its id, its shape
 * filled with the status colour, the label's last line the status; and it
 * adds `data-status` and `data-held`, so the page recolours only what
 * changed since. No clusters and no per-node tooltips: an epic is a node
 * (shaped like Graphviz's folder, a tab on top) placed among its tasks.
 */
export const LAYERED_FROM = 1000;
/**
 * The most the layered layout draws: the browser's share grows with the
 * nodes (5,000 took ~0.7 s to parse and paint), so past this a page would
 * take many seconds; one epic at a time is the way then.
 */
export const MAX_LAYERED_NODES = 20_000;

const W = 168;
const H = 46;
const GAP_X = 56;
const GAP_Y = 10;
const TOP = 44;
const LEFT = 8;
/** A column this long is split into side-by-side columns (a graph of loose tasks is not one endless column). */
const MAX_ROWS = 400;
const TITLE_CHARS = 27;

const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Column of each node: its longest chain of drawn dependencies (Kahn's order; a node left on a cycle goes after the rest). */
function layersOf(p: GraphPicture): Map<string, number> {
  const index = new Map(p.nodes.map((n, i) => [n.id, i]));
  const out = p.nodes.map((): number[] => []);
  const indegree = new Array<number>(p.nodes.length).fill(0);
  for (const [task, dep] of p.edges) {
    const t = index.get(task);
    const d = index.get(dep);
    if (t === undefined || d === undefined) continue;
    out[d]!.push(t);
    indegree[t]!++;
  }
  const layer = new Array<number>(p.nodes.length).fill(0);
  const queue: number[] = [];
  indegree.forEach((deg, i) => deg === 0 && queue.push(i));
  let max = 0;
  for (let head = 0; head < queue.length; head++) {
    const i = queue[head]!;
    max = Math.max(max, layer[i]!);
    for (const t of out[i]!) {
      if (layer[i]! + 1 > layer[t]!) layer[t] = layer[i]! + 1;
      if (--indegree[t]! === 0) queue.push(t);
    }
  }
  const placed = new Set(queue);
  const result = new Map<string, number>();
  p.nodes.forEach((n, i) => result.set(n.id, placed.has(i) ? layer[i]! : max + 1));
  return result;
}

interface Placed {
  node: PictureNode;
  x: number;
  y: number;
}

/** Where each node goes: columns by layer, rows by the mean row of its dependencies. */
export function layeredLayout(p: GraphPicture): { placed: Placed[]; width: number; height: number } {
  const layer = layersOf(p);
  const deps = new Map<string, string[]>();
  for (const [task, dep] of p.edges) (deps.get(task) ?? deps.set(task, []).get(task)!).push(dep);
  const columns: PictureNode[][] = [];
  for (const n of p.nodes) (columns[layer.get(n.id)!] ??= []).push(n);
  const row = new Map<string, number>();
  const slot: Array<{ node: PictureNode; col: number; row: number }> = [];
  let col = 0;
  for (const nodes of columns) {
    if (nodes === undefined) continue;
    // Mean row of what it waits for; a node waiting for nothing drawn keeps its place in view order, after those that wait.
    const key = (n: PictureNode, i: number): number => {
      const rows = (deps.get(n.id) ?? []).map((d) => row.get(d)).filter((r): r is number => r !== undefined);
      return rows.length === 0 ? Number.MAX_SAFE_INTEGER / 2 + i : rows.reduce((a, b) => a + b, 0) / rows.length;
    };
    const ordered = nodes.map((n, i) => ({ n, k: key(n, i) })).sort((a, b) => a.k - b.k).map((e) => e.n);
    ordered.forEach((n, i) => {
      row.set(n.id, i % MAX_ROWS);
      slot.push({ node: n, col: col + Math.floor(i / MAX_ROWS), row: i % MAX_ROWS });
    });
    col += Math.ceil(ordered.length / MAX_ROWS);
  }
  const rows = slot.reduce((m, s) => Math.max(m, s.row + 1), 0);
  const placed = slot.map((s) => ({ node: s.node, x: LEFT + s.col * (W + GAP_X), y: TOP + s.row * (H + GAP_Y) }));
  return { placed, width: LEFT * 2 + Math.max(1, col) * (W + GAP_X) - GAP_X, height: TOP + Math.max(1, rows) * (H + GAP_Y) };
}

function statusLine(n: PictureNode): string {
  return [n.status, ...(n.held ? ['held'] : []), ...(n.status === 'claimed' && n.assignee !== null ? [`by ${oneLine(n.assignee)}`] : [])].join(', ');
}

function nodeSvg(n: PictureNode, x: number, y: number): string {
  const c = STATUS_COLORS[n.status];
  const stroke = n.critical ? CRITICAL_COLOR : n.held ? HELD_COLOR : c.stroke;
  const classes = ['node', 'task', `status-${n.status}`, ...(n.held ? ['held'] : []), ...(n.critical ? ['critical'] : []), ...(n.collapsed !== null ? ['collapsed'] : []), ...(n.epic ? ['epic'] : [])];
  const width = n.critical ? ' stroke-width="3"' : n.held ? ' stroke-width="2"' : '';
  const dash = n.held ? ' stroke-dasharray="5,2"' : n.status === 'cancelled' ? ' stroke-dasharray="1,2"' : '';
  // Coordinates inside a node are its own (a translate on the group): the same few bytes for every node.
  // An epic has a tab on its top left (Graphviz's folder); a collapsed one a second right edge (as box3d).
  const shape = n.epic
    ? `<path d="M0 5h${W}v${H - 5}h${-W}zM0 5v-5h40l4 5${n.collapsed !== null ? `M${W - 3} 5v${H - 8}` : ''}" fill="${c.fill}" stroke="${stroke}"${width}${dash}/>`
    : `<rect width="${W}" height="${H}" rx="4" fill="${c.fill}" stroke="${stroke}"${width}${dash}/>`;
  const title = n.collapsed !== null ? `${clip(oneLine(n.title), TITLE_CHARS - 8)} (${n.collapsed} in)` : clip(oneLine(n.title), TITLE_CHARS);
  return (
    `<g id="${escapeXml(n.id)}" class="${classes.join(' ')}" data-status="${n.status}" data-held="${String(n.held)}" transform="translate(${x} ${y})">${shape}` +
    `<text x="6" y="15">${escapeXml(`${n.id}  ${n.priority}`)}</text>` +
    `<text x="6" y="28">${escapeXml(title)}</text>` +
    `<text x="6" y="41">${escapeXml(statusLine(n))}</text></g>`
  );
}

/**
 * The picture as SVG, laid out in layers (see LAYERED_FROM): the same
 * colours, classes and critical path as the Graphviz picture, a one-line
 * caption and the legend on top.
 */
export function layeredSvg(p: GraphPicture): string {
  if (p.nodes.length > MAX_LAYERED_NODES) {
    throw new LoomError('GRAPH_TOO_LARGE', `the picture would hold ${p.nodes.length} nodes; the dashboard draws at most ${MAX_LAYERED_NODES}`, {
      hint: 'draw one epic (a workflow run, or /dashboard/api/graph.svg?epic=ID); epics that are done are drawn as one node, so finished work does not count',
      details: { nodes: p.nodes.length, max_nodes: MAX_LAYERED_NODES },
    });
  }
  const { placed, width, height } = layeredLayout(p);
  const at = new Map(placed.map((s) => [s.node.id, s]));
  const critical = new Set<string>();
  for (let i = 1; i < p.critical_path.length; i++) critical.add(`${p.critical_path[i]} ${p.critical_path[i - 1]}`);
  const plain: string[] = [];
  const hot: string[] = [];
  for (const [task, dep] of p.edges) {
    const a = at.get(dep);
    const b = at.get(task);
    if (a === undefined || b === undefined) continue;
    const x1 = a.x + W;
    const y1 = a.y + H / 2;
    const x2 = b.x - 1;
    const y2 = b.y + H / 2;
    const mid = Math.round((x1 + x2) / 2);
    // A curve and its arrowhead, one sub-path each: all plain edges are one <path> element.
    const d = y1 === y2 ? `M${x1} ${y1}H${x2}` : `M${x1} ${y1}C${mid} ${y1} ${mid} ${y2} ${x2} ${y2}`;
    (critical.has(`${task} ${dep}`) ? hot : plain).push(`${d}M${x2 - 5} ${y2 - 3}L${x2} ${y2}L${x2 - 5} ${y2 + 3}`);
  }
  const scope = p.epic_id === null ? 'project' : `epic ${p.epic_id}`;
  const collapsed = p.collapsed_tasks > 0 ? `, ${p.collapsed_tasks} in finished epics drawn as one node` : '';
  const caption =
    `${scope}: ${p.tasks} task${p.tasks === 1 ? '' : 's'}${collapsed}; critical path ${p.critical_path.length === 0 ? 'none' : `${p.critical_path.length} tasks`}; ` +
    `${p.nodes.length} nodes laid out in columns of dependency depth (Graphviz draws fewer than ${LAYERED_FROM})`;
  const legend: string[] = [];
  let lx = LEFT;
  const cell = (label: string, fill: string, stroke: string, extra = ''): void => {
    const w = 12 + label.length * 6;
    legend.push(`<rect x="${lx}" y="22" width="${w}" height="15" fill="${fill}" stroke="${stroke}"${extra}/><text x="${lx + 5}" y="33">${label}</text>`);
    lx += w + 4;
  };
  for (const s of Object.keys(STATUS_COLORS) as TaskStatus[]) cell(s, STATUS_COLORS[s].fill, STATUS_COLORS[s].stroke);
  cell('held', '#ffffff', HELD_COLOR, ' stroke-dasharray="5,2"');
  cell('critical path', '#ffffff', CRITICAL_COLOR, ' stroke-width="2"');
  const w = Math.max(width, lx + LEFT);
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}pt" height="${height}pt" viewBox="0 0 ${w} ${height}" class="layered">` +
    `<g id="loom-graph" class="graph" font-family="Helvetica,Arial,sans-serif" font-size="10" fill="#212529">` +
    `<text x="${LEFT}" y="14" font-size="11">${escapeXml(caption)}</text>${legend.join('')}` +
    (plain.length === 0 ? '' : `<path class="edges" fill="none" stroke="#868e96" d="${plain.join('')}"/>`) +
    (hot.length === 0 ? '' : `<path class="edges critical" fill="none" stroke="${CRITICAL_COLOR}" stroke-width="2.5" d="${hot.join('')}"/>`) +
    placed.map((s) => nodeSvg(s.node, s.x, s.y)).join('') +
    `</g></svg>\n`
  );
}
