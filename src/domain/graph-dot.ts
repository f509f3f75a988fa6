import type { GraphPicture, PictureNode } from './graph-picture.js';
import type { TaskStatus } from './task.js';

/** Fill and border of each status: the DOT picture and the HTML page's legend share them. */
export const STATUS_COLORS: Record<TaskStatus, { fill: string; stroke: string }> = {
  pending: { fill: '#e7f5ff', stroke: '#1971c2' },
  claimed: { fill: '#fff3bf', stroke: '#e67700' },
  blocked: { fill: '#f1f3f5', stroke: '#868e96' },
  done: { fill: '#d3f9d8', stroke: '#2b8a3e' },
  failed: { fill: '#ffe3e3', stroke: '#c92a2a' },
  cancelled: { fill: '#f8f9fa', stroke: '#adb5bd' },
  epic: { fill: '#f3f0ff', stroke: '#6741d9' },
};
export const HELD_COLOR = '#d9480f';
export const CRITICAL_COLOR = '#d6336c';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// Controls, and bidi marks that could make a label read differently from what it holds.
const CONTROL = /[\u0000-\u0009\u000B-\u001F\u007F-\u009F\u061C\u200E\u200F\u2028-\u202E\u2066-\u2069]/g;

/** User text as one line: no control characters, no lone surrogates, whitespace runs as one space. */
export const oneLine = (s: string): string => s.replace(LONE_SURROGATE, '\uFFFD').replace(CONTROL, ' ').replace(/\s+/g, ' ').trim();

/** At most `max` characters (code points, so no surrogate pair is cut), with an ellipsis when cut. */
export function clip(s: string, max: number): string {
  const chars = Array.from(s);
  return chars.length <= max ? s : `${chars.slice(0, max - 1).join('')}…`;
}

/**
 * A DOT quoted string. Backslashes are doubled so that Graphviz's own
 * escapes (\N, \G, \l ...) never apply to user text; quotes are escaped;
 * line breaks become the centred-line escape; other controls a space.
 */
export function dotString(s: string): string {
  const body = s
    .replace(LONE_SURROGATE, '\uFFFD')
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\r\n|\r|\n/g, '\\n')
    .replace(CONTROL, ' ');
  return `"${body}"`;
}

const TITLE_CHARS = 40;
const BIG_NODES = 1000;
const BIG_EDGES = 2000;

function nodeLabel(n: PictureNode): string {
  const state = [n.status, ...(n.held ? ['held'] : []), ...(n.status === 'claimed' && n.assignee !== null ? [`by ${oneLine(n.assignee)}`] : [])];
  const lines = [`${n.id}  ${n.priority}`, clip(oneLine(n.title), TITLE_CHARS), state.join(', ')];
  if (n.collapsed !== null) lines.push(`${n.collapsed} task${n.collapsed === 1 ? '' : 's'} inside, all finished`);
  return lines.join('\n');
}

function nodeAttrs(n: PictureNode): string {
  const colors = STATUS_COLORS[n.status];
  const style = ['rounded', 'filled', ...(n.held ? ['dashed'] : []), ...(n.status === 'cancelled' ? ['dotted'] : [])];
  const classes = ['task', `status-${n.status}`, ...(n.held ? ['held'] : []), ...(n.critical ? ['critical'] : []), ...(n.collapsed !== null ? ['collapsed'] : []), ...(n.epic ? ['epic'] : [])];
  const stroke = n.critical ? CRITICAL_COLOR : n.held ? HELD_COLOR : colors.stroke;
  const attrs: Array<[string, string]> = [
    ['id', n.id],
    ['class', classes.join(' ')],
    ['label', nodeLabel(n)],
    ['fillcolor', colors.fill],
    ['color', stroke],
    ['style', style.join(',')],
  ];
  if (n.epic) attrs.push(['shape', n.collapsed !== null ? 'box3d' : 'folder']);
  if (n.critical || n.held) attrs.push(['penwidth', n.critical ? '3' : '2']);
  return attrs.map(([k, v]) => `${k}=${dotString(v)}`).join(', ');
}

/** The legend, as Graphviz's HTML-like graph label: only Loom's own words, no user text. */
function legend(p: GraphPicture): string {
  const cell = (text: string, fill: string, stroke: string, dashed = false): string =>
    `<td bgcolor="${fill}" color="${stroke}" border="1"${dashed ? ' style="dashed"' : ''}>${text}</td>`;
  const cells = (Object.keys(STATUS_COLORS) as TaskStatus[]).map((s) => cell(s, STATUS_COLORS[s].fill, STATUS_COLORS[s].stroke));
  cells.push(cell('held', '#ffffff', HELD_COLOR, true), cell('critical path', '#ffffff', CRITICAL_COLOR));
  const scope = p.epic_id === null ? 'project' : `epic ${p.epic_id}`;
  const collapsed = p.collapsed_tasks > 0 ? `, ${p.collapsed_tasks} in finished epics drawn as one node` : '';
  const caption = `${scope}: ${p.tasks} task${p.tasks === 1 ? '' : 's'}${collapsed}; critical path ${p.critical_path.length === 0 ? 'none' : `${p.critical_path.length} tasks`}`;
  // The scope names only ids (loom-xxxxxxxx): safe in markup as it is.
  return `<<table border="0" cellspacing="4" cellpadding="3"><tr><td colspan="${cells.length}" align="left">${caption}</td></tr><tr>${cells.join('')}</tr></table>>`;
}

/**
 * Graphviz DOT of a picture: arrows point from a dependency to the task
 * that waits for it; an epic that is drawn with its children is a cluster
 * holding its own node; the critical path is thick and coloured.
 */
export function toDot(p: GraphPicture): string {
  // Big pictures: fewer crossing-reduction and ranking passes (measured 2-3x faster, npm run bench:graph), a little less tidy.
  const big = p.nodes.length > BIG_NODES || p.edges.length > BIG_EDGES ? ' mclimit=0.2, nslimit=1, nslimit1=1, searchsize=10, remincross=false,' : '';
  const lines = [
    'digraph loom {',
    `  graph [id="loom-graph",${big} rankdir=LR, fontname="Helvetica", fontsize=11, nodesep=0.2, ranksep=0.45, labelloc=t, labeljust=l, label=${legend(p)}];`,
    '  node [shape=box, fontname="Helvetica", fontsize=10, margin="0.12,0.05"];',
    '  edge [color="#868e96", arrowsize=0.6];',
  ];
  const kids = new Map<string | null, PictureNode[]>();
  for (const n of p.nodes) (kids.get(n.parent_id) ?? kids.set(n.parent_id, []).get(n.parent_id)!).push(n);
  // Iterative, so a deep chain of epics cannot overflow the stack.
  const stack: Array<{ node: PictureNode; depth: number } | { close: number }> = (kids.get(null) ?? []).map((node) => ({ node, depth: 1 })).reverse();
  while (stack.length > 0) {
    const item = stack.pop()!;
    if ('close' in item) {
      lines.push(`${'  '.repeat(item.close)}}`);
      continue;
    }
    const { node, depth } = item;
    const pad = '  '.repeat(depth);
    const below = kids.get(node.id) ?? [];
    if (below.length === 0) {
      lines.push(`${pad}${dotString(node.id)} [${nodeAttrs(node)}];`);
      continue;
    }
    const c = STATUS_COLORS.epic;
    lines.push(
      `${pad}subgraph ${dotString(`cluster_${node.id}`)} {`,
      `${pad}  graph [id=${dotString(`cluster-${node.id}`)}, class="epic-cluster", label=${dotString(clip(oneLine(node.title), 60))}, style="rounded,dashed", color=${dotString(node.held ? HELD_COLOR : c.stroke)}, fontcolor="${c.stroke}"];`,
      `${pad}  ${dotString(node.id)} [${nodeAttrs(node)}];`,
    );
    stack.push({ close: depth });
    for (let i = below.length - 1; i >= 0; i--) stack.push({ node: below[i]!, depth: depth + 1 });
  }
  const critical = new Set<string>();
  for (let i = 1; i < p.critical_path.length; i++) critical.add(`${p.critical_path[i]} ${p.critical_path[i - 1]}`);
  for (const [task, dep] of p.edges) {
    const hot = critical.has(`${task} ${dep}`);
    const attrs = [`id=${dotString(`edge-${dep}-${task}`)}`, ...(hot ? [`class="critical"`, `color="${CRITICAL_COLOR}"`, 'penwidth=2.5'] : [])];
    lines.push(`  ${dotString(dep)} -> ${dotString(task)} [${attrs.join(', ')}];`);
  }
  lines.push('}');
  return lines.join('\n');
}
