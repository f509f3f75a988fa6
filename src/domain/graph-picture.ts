import { LoomError } from './errors.js';
import type { GraphNode, GraphView } from './graph.js';
import type { TaskStatus } from './task.js';

/**
 * What `loom graph --format dot|svg|html` draws: the graph view (or one
 * epic's subtree of it) with finished epics collapsed into one node each and
 * the critical path marked. Pure: the DOT text and the pictures are made
 * from this.
 */
export interface PictureNode extends Pick<GraphNode, 'id' | 'title' | 'status' | 'priority' | 'weight'> {
  /** Its epic when that is drawn too, else null. */
  parent_id: string | null;
  /** Every dependency of the task, drawn or not (details list them all). */
  depends_on: string[];
  /** Tasks that wait for it, drawn or not. */
  dependents: string[];
  /** An epic: a status `epic`, or it has children. */
  epic: boolean;
  held: boolean;
  held_at: string | null;
  hold_reason: string | null;
  /** Who holds the lease (claimed) or last held it; never the lease token. */
  assignee: string | null;
  blocked_reason: string | null;
  /** 1-based wave of open work, null when not open work or stuck. */
  wave: number | null;
  stuck: boolean;
  critical: boolean;
  /** A finished epic drawn as one node: how many tasks it holds (null: not collapsed). */
  collapsed: number | null;
}

export interface GraphPicture {
  /** The epic whose subtree this is, or null for the whole project. */
  epic_id: string | null;
  nodes: PictureNode[];
  /** [task, dependency] between drawn nodes (through collapsed epics), without duplicates. */
  edges: Array<[string, string]>;
  /** The longest chain of open work, first task first (empty when no chain of two exists). */
  critical_path: string[];
  /** Tasks in the view, drawn or collapsed. */
  tasks: number;
  /** Tasks hidden inside collapsed epics. */
  collapsed_tasks: number;
}

/**
 * The most a picture may hold to be rendered (svg, html): Graphviz as WASM
 * lays out 5,000 nodes in seconds (npm run bench:graph); far past that it
 * takes minutes and hundreds of MB. The DOT text has no limit (render it
 * with a system Graphviz, `sfdp` for instance).
 */
export const MAX_PICTURE_NODES = 6000;
export const MAX_PICTURE_EDGES = 20000;

const FINISHED: readonly TaskStatus[] = ['done', 'cancelled'];

/** The epic and everything below it, with edges and waves kept inside. */
export function subtreeView(view: GraphView, epicId: string): GraphView {
  const children = childrenOf(view.nodes);
  const keep = new Set<string>([epicId]);
  const stack = [epicId];
  while (stack.length > 0) {
    for (const c of children.get(stack.pop()!) ?? []) {
      if (!keep.has(c)) {
        keep.add(c);
        stack.push(c);
      }
    }
  }
  return {
    nodes: view.nodes.filter((n) => keep.has(n.id)),
    edges: view.edges.filter(([t, d]) => keep.has(t) && keep.has(d)),
    waves: view.waves.map((w) => w.filter((id) => keep.has(id))).filter((w) => w.length > 0),
    stuck: view.stuck.filter((id) => keep.has(id)),
  };
}

export const isEpicNode = (view: GraphView, id: string): boolean =>
  view.nodes.some((n) => n.id === id && n.status === 'epic') || view.nodes.some((n) => n.parent_id === id);

function childrenOf(nodes: readonly GraphNode[]): Map<string, string[]> {
  const children = new Map<string, string[]>();
  for (const n of nodes) {
    if (n.parent_id === null) continue;
    const list = children.get(n.parent_id);
    if (list === undefined) children.set(n.parent_id, [n.id]);
    else list.push(n.id);
  }
  return children;
}

/** Depth of each node below the top of the view (its epic chain, iteratively: chains can be long). */
function depths(nodes: readonly GraphNode[], byId: ReadonlyMap<string, GraphNode>): Map<string, number> {
  const depth = new Map<string, number>();
  for (const n of nodes) {
    const chain: GraphNode[] = [];
    let cur: GraphNode | undefined = n;
    const seen = new Set<string>();
    while (cur !== undefined && !depth.has(cur.id) && !seen.has(cur.id)) {
      seen.add(cur.id);
      chain.push(cur);
      cur = cur.parent_id === null ? undefined : byId.get(cur.parent_id);
    }
    let d = cur === undefined ? -1 : (depth.get(cur.id) ?? -1);
    for (let i = chain.length - 1; i >= 0; i--) depth.set(chain[i]!.id, ++d);
  }
  return depth;
}

/**
 * The picture of a view. With `collapse`, an epic that is done or cancelled
 * with every task below it done or cancelled is drawn as one node (the
 * outermost such epic), and edges to what it holds go to it.
 */
export function buildPicture(view: GraphView, options: { collapse: boolean; epic_id?: string | null }): GraphPicture {
  const byId = new Map(view.nodes.map((n) => [n.id, n]));
  const children = childrenOf(view.nodes);
  const depth = depths(view.nodes, byId);
  const deepestFirst = [...view.nodes].sort((a, b) => depth.get(b.id)! - depth.get(a.id)!);
  const finished = new Map<string, boolean>();
  const inside = new Map<string, number>();
  for (const n of deepestFirst) {
    let all = FINISHED.includes(n.status);
    let count = 0;
    for (const c of children.get(n.id) ?? []) {
      all &&= finished.get(c)!;
      count += inside.get(c)! + 1;
    }
    finished.set(n.id, all);
    inside.set(n.id, count);
  }
  // rep: the collapsed epic that stands for a node (itself included).
  const rep = new Map<string, string>();
  if (options.collapse) {
    for (const n of [...deepestFirst].reverse()) {
      const parentRep = n.parent_id === null ? undefined : rep.get(n.parent_id);
      if (parentRep !== undefined) rep.set(n.id, parentRep);
      else if (finished.get(n.id) === true && inside.get(n.id)! > 0) rep.set(n.id, n.id);
    }
  }
  const drawn = view.nodes.filter((n) => (rep.get(n.id) ?? n.id) === n.id);
  const edges: Array<[string, string]> = [];
  const seenEdge = new Set<string>();
  for (const [t, d] of view.edges) {
    const a = rep.get(t) ?? t;
    const b = rep.get(d) ?? d;
    if (a === b || !byId.has(a) || !byId.has(b)) continue;
    const key = `${a} ${b}`;
    if (seenEdge.has(key)) continue;
    seenEdge.add(key);
    edges.push([a, b]);
  }
  const dependents = new Map<string, string[]>();
  for (const n of view.nodes) for (const d of n.depends_on) (dependents.get(d) ?? dependents.set(d, []).get(d)!).push(n.id);
  const wave = new Map<string, number>();
  view.waves.forEach((w, i) => w.forEach((id) => wave.set(id, i + 1)));
  const stuck = new Set(view.stuck);
  const path = criticalPath(drawn, edges, wave, children, rep);
  const onPath = new Set(path);
  const nodes = drawn.map((n): PictureNode => {
    const collapsed = rep.get(n.id) === n.id;
    return {
      id: n.id,
      title: n.title,
      status: n.status,
      priority: n.priority,
      parent_id: n.parent_id !== null && byId.has(n.parent_id) ? n.parent_id : null,
      depends_on: [...n.depends_on],
      dependents: dependents.get(n.id) ?? [],
      weight: n.weight,
      epic: n.status === 'epic' || children.has(n.id),
      held: n.held === true,
      held_at: n.held_at ?? null,
      hold_reason: n.hold_reason ?? null,
      assignee: n.assignee ?? null,
      blocked_reason: n.blocked_reason ?? null,
      wave: wave.get(n.id) ?? null,
      stuck: stuck.has(n.id),
      critical: onPath.has(n.id),
      collapsed: collapsed ? inside.get(n.id)! : null,
    };
  });
  return {
    epic_id: options.epic_id ?? null,
    nodes,
    edges,
    critical_path: path,
    tasks: view.nodes.length,
    collapsed_tasks: view.nodes.length - drawn.length,
  };
}

/**
 * The longest chain of open work along "waits for" edges: a task counts 1,
 * an open epic 0 (it waits for its children and finishes with the last).
 * Only tasks in a wave count (stuck ones never finish). Iterative, in
 * topological order; ties go to the first in view order.
 */
function criticalPath(
  drawn: readonly GraphNode[],
  edges: ReadonlyArray<[string, string]>,
  wave: ReadonlyMap<string, number>,
  children: ReadonlyMap<string, string[]>,
  rep: ReadonlyMap<string, string>,
): string[] {
  const member = new Map<string, number>(); // id -> its count (1 work, 0 epic)
  for (const n of drawn) {
    if (wave.has(n.id)) member.set(n.id, 1);
    else if (n.status === 'epic') member.set(n.id, 0);
  }
  const waits = new Map<string, string[]>();
  const add = (from: string, to: string): void => {
    if (!member.has(from) || !member.has(to)) return;
    (waits.get(from) ?? waits.set(from, []).get(from)!).push(to);
  };
  for (const [t, d] of edges) add(t, d);
  for (const n of drawn) if (n.status === 'epic') for (const c of children.get(n.id) ?? []) if (!rep.has(c)) add(n.id, c);
  const dist = new Map<string, number>();
  const via = new Map<string, string | null>();
  const onStack = new Set<string>();
  for (const n of drawn) {
    if (!member.has(n.id) || dist.has(n.id)) continue;
    const stack: Array<{ id: string; next: number }> = [{ id: n.id, next: 0 }];
    onStack.add(n.id);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const out = waits.get(top.id) ?? [];
      if (top.next < out.length) {
        const w = out[top.next++]!;
        if (!dist.has(w) && !onStack.has(w)) {
          onStack.add(w);
          stack.push({ id: w, next: 0 });
        }
        continue;
      }
      let best = 0;
      let from: string | null = null;
      for (const w of out) {
        const dw = dist.get(w);
        if (dw !== undefined && dw > best) {
          best = dw;
          from = w;
        }
      }
      dist.set(top.id, best + member.get(top.id)!);
      via.set(top.id, from);
      onStack.delete(top.id);
      stack.pop();
    }
  }
  let end: string | null = null;
  for (const n of drawn) if (dist.has(n.id) && (end === null || dist.get(n.id)! > dist.get(end)!)) end = n.id;
  if (end === null || dist.get(end)! < 2) return [];
  const path: string[] = [];
  // Epics are waypoints (an epic finishes with its last child), not work: the path lists tasks.
  for (let k: string | null = end; k !== null; k = via.get(k) ?? null) if (member.get(k) === 1) path.push(k);
  return path.reverse();
}

/** Refuses a picture too big to lay out in WASM, saying how to draw less. */
export function assertDrawable(picture: GraphPicture): void {
  if (picture.nodes.length <= MAX_PICTURE_NODES && picture.edges.length <= MAX_PICTURE_EDGES) return;
  throw new LoomError(
    'GRAPH_TOO_LARGE',
    `the picture would hold ${picture.nodes.length} nodes and ${picture.edges.length} edges; svg and html draw at most ${MAX_PICTURE_NODES} nodes and ${MAX_PICTURE_EDGES} edges`,
    {
      hint:
        'draw one epic with --epic ID (loom list --status epic lists them); epics that are done are drawn as one node, so finished work does not count; ' +
        'or write --format dot and render it with a system Graphviz (sfdp -Tsvg), or use --format json',
      details: { nodes: picture.nodes.length, edges: picture.edges.length, max_nodes: MAX_PICTURE_NODES, max_edges: MAX_PICTURE_EDGES },
    },
  );
}
