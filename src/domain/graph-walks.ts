import type { TaskStatus } from './task.js';

/**
 * Walks over a whole project's graph for `loom fsck`: critical-path weights
 * of the open work and the cycles of the "waits for" relation. Tasks get
 * integer ids and the walks flat arrays and one visit stamp per walk, not a
 * Set per task: 100,000 tasks are walked in well under a second.
 */

/** Open work whose weight is kept (an epic is a container, not work). */
const OPEN_WORK: readonly TaskStatus[] = ['pending', 'blocked', 'claimed'];

export interface WalkTask {
  id: string;
  status: TaskStatus;
  depends_on: readonly string[];
  /** An epic waits for its children; omitted, no child edges. */
  parent_id?: string | null;
}

/** The graph on integer ids (positions in the task list). */
export interface GraphIndex {
  ids: string[];
  open: Uint8Array;
  /** Each task's known dependencies. */
  deps: number[][];
  /** What each task waits for: its dependencies, and, for an epic, its children. */
  waitsFor: number[][];
}

export function indexGraph(tasks: readonly WalkTask[]): GraphIndex {
  const ids = tasks.map((t) => t.id);
  const at = new Map(ids.map((id, i) => [id, i]));
  const children = new Map<number, number[]>();
  tasks.forEach((t, i) => {
    const parent = t.parent_id === null || t.parent_id === undefined ? undefined : at.get(t.parent_id);
    if (parent === undefined) return;
    const kids = children.get(parent);
    if (kids === undefined) children.set(parent, [i]);
    else kids.push(i);
  });
  const deps: number[][] = [];
  const waitsFor: number[][] = [];
  const open = new Uint8Array(tasks.length);
  tasks.forEach((t, i) => {
    const own: number[] = [];
    for (const d of t.depends_on) {
      const j = at.get(d);
      if (j !== undefined) own.push(j);
    }
    deps.push(own);
    const kids = children.get(i);
    waitsFor.push(kids === undefined ? own : [...own, ...kids]);
    open[i] = OPEN_WORK.includes(t.status) ? 1 : 0;
  });
  return { ids, open, deps, waitsFor };
}

/**
 * Critical-path weights of the open work (pending, blocked, claimed), as
 * `criticalPathWeights` (graph.ts) defines them: how many distinct tasks
 * that are open work wait on it, transitively. The unit tests hold the two
 * to the same answers.
 */
export function expectedWeights(tasks: readonly WalkTask[]): Map<string, number> {
  return weightsOf(indexGraph(tasks));
}

export function weightsOf(g: GraphIndex): Map<string, number> {
  const n = g.ids.length;
  // Dependents as one flat array (CSR): those of v are edges[start[v] .. start[v + 1]).
  const start = new Int32Array(n + 1);
  for (const own of g.deps) for (const d of own) start[d + 1]!++;
  for (let v = 0; v < n; v++) start[v + 1]! += start[v]!;
  const fill = start.slice(0, n);
  const edges = new Int32Array(start[n]!);
  g.deps.forEach((own, v) => {
    for (const d of own) edges[fill[d]!++] = v;
  });
  const stamp = new Int32Array(n);
  const stack = new Int32Array(n);
  const weights = new Map<string, number>();
  for (let v = 0; v < n; v++) {
    if (g.open[v] === 0) continue;
    let top = 0;
    let weight = 0;
    for (let e = start[v]!; e < start[v + 1]!; e++) {
      const u = edges[e]!;
      if (stamp[u] !== v + 1) {
        stamp[u] = v + 1;
        stack[top++] = u;
      }
    }
    while (top > 0) {
      const x = stack[--top]!;
      weight += g.open[x]!;
      for (let e = start[x]!; e < start[x + 1]!; e++) {
        const u = edges[e]!;
        if (stamp[u] !== v + 1) {
          stamp[u] = v + 1;
          stack[top++] = u;
        }
      }
    }
    weights.set(g.ids[v]!, weight);
  }
  return weights;
}

/**
 * Every cycle of the "waits for" graph (a task waits for its dependencies,
 * an epic for its children): one per strongly connected component, as the
 * shortest path from its smallest id back to itself ([a, b, ..., a]).
 */
export function findCycles(tasks: readonly WalkTask[]): string[][] {
  return cyclesIn(indexGraph(tasks));
}

export function cyclesIn(g: GraphIndex): string[][] {
  const cycles: string[][] = [];
  for (const component of stronglyConnected(g.waitsFor)) {
    const start = component.reduce((a, b) => (g.ids[b]! < g.ids[a]! ? b : a));
    const self = g.waitsFor[start]!.includes(start);
    if (component.length === 1 && !self) continue;
    const path = self ? [start, start] : shortestCycle(start, new Set(component), g.waitsFor);
    cycles.push(path.map((i) => g.ids[i]!));
  }
  return cycles.sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
}

/** Tarjan's algorithm, iterative (a 100,000-task chain would overflow the stack recursing). */
function stronglyConnected(edges: readonly number[][]): number[][] {
  const n = edges.length;
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  const components: number[][] = [];
  const work: number[] = []; // node, next edge position, node, next edge position, ...
  let next = 0;
  const enter = (v: number): void => {
    index[v] = low[v] = next++;
    stack.push(v);
    onStack[v] = 1;
    work.push(v, 0);
  };
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    enter(root);
    while (work.length > 0) {
      const v = work[work.length - 2]!;
      const i = work[work.length - 1]!;
      const out = edges[v]!;
      if (i < out.length) {
        work[work.length - 1] = i + 1;
        const w = out[i]!;
        if (index[w] === -1) enter(w);
        else if (onStack[w] === 1) low[v] = Math.min(low[v]!, index[w]!);
        continue;
      }
      work.length -= 2;
      if (work.length > 0) {
        const parent = work[work.length - 2]!;
        low[parent] = Math.min(low[parent]!, low[v]!);
      }
      if (low[v] === index[v]) {
        // Most components are one task: skip the array for those.
        if (stack[stack.length - 1] === v) {
          stack.pop();
          onStack[v] = 0;
          if (out.includes(v)) components.push([v]);
          continue;
        }
        const component: number[] = [];
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = 0;
          component.push(w);
        } while (w !== v);
        components.push(component);
      }
    }
  }
  return components;
}

/** Breadth first inside one component, so the reported path is as short as it gets. */
function shortestCycle(start: number, within: ReadonlySet<number>, edges: readonly number[][]): number[] {
  const from = new Map<number, number>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const v = queue[head]!;
    for (const w of edges[v]!) {
      if (!within.has(w)) continue;
      if (w === start) {
        const back: number[] = [];
        for (let x: number | undefined = v; x !== undefined && x !== start; x = from.get(x)) back.push(x);
        return [start, ...back.reverse(), start];
      }
      if (!from.has(w)) {
        from.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start]; // unreachable for a strongly connected component of two or more
}
