import { LoomError } from './errors.js';
import { priorityRank, type Priority, type Task, type TaskStatus } from './task.js';

/** The slice of a task the graph algorithms need. */
export interface GraphNode {
  id: string;
  title: string;
  status: TaskStatus;
  priority: Priority;
  parent_id: string | null;
  depends_on: string[];
  weight: number;
  created_at: string;
  /** Held (`loom hold`): never ready until resumed. */
  held?: boolean;
  /** Since when and why (what pictures show on a click). */
  held_at?: string | null;
  hold_reason?: string | null;
  /** The agent holding the lease (or last holding it); never the lease token. */
  assignee?: string | null;
  blocked_reason?: string | null;
}

export interface GraphView {
  nodes: GraphNode[];
  /** [task, dependency]: the task waits for the dependency. */
  edges: Array<[string, string]>;
  waves: string[][];
  /** Open tasks that can never run because a dependency failed or was cancelled. */
  stuck: string[];
}

export const GRAPH_FORMATS = ['json', 'mermaid', 'summary', 'waves', 'dot'] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

/** Tasks that still have work ahead of them (epics are containers, not work). */
const OPEN_WORK: readonly TaskStatus[] = ['pending', 'blocked', 'claimed'];

/**
 * Finds the cycle that adding `task -> newDeps` would close, given the
 * dependency edges reachable from newDeps. Returns the path
 * [task, dep, ..., task] or null.
 */
export function findCycle(
  taskId: string,
  newDeps: readonly string[],
  dependsOn: ReadonlyMap<string, readonly string[]>,
): string[] | null {
  for (const start of newDeps) {
    if (start === taskId) return [taskId, taskId];
    // Iterative DFS keeping the path, so the error can name the whole cycle.
    const seen = new Set<string>();
    const stack: Array<{ id: string; path: string[] }> = [{ id: start, path: [taskId, start] }];
    while (stack.length > 0) {
      const { id, path } = stack.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      for (const next of dependsOn.get(id) ?? []) {
        if (next === taskId) return [...path, taskId];
        if (!seen.has(next)) stack.push({ id: next, path: [...path, next] });
      }
    }
  }
  return null;
}

/**
 * A cycle anywhere in a graph, found in one depth-first pass (every node and
 * edge visited once, where calling findCycle per node walks the graph once
 * per node): the path [a, b, ..., a] along `dependsOn`, or null when the
 * graph is acyclic. Roots are tried in the order given.
 */
export function findAnyCycle(roots: readonly string[], dependsOn: ReadonlyMap<string, readonly string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>(); // open: on the current path
  for (const root of roots) {
    if (state.has(root)) continue;
    const path: string[] = [root];
    const next: number[] = [0];
    state.set(root, 'open');
    while (path.length > 0) {
      const top = path.length - 1;
      const deps = dependsOn.get(path[top]!) ?? [];
      const i = next[top]!;
      if (i < deps.length) {
        next[top] = i + 1;
        const dep = deps[i]!;
        const s = state.get(dep);
        if (s === 'open') return [...path.slice(path.indexOf(dep)), dep];
        if (s === undefined) {
          state.set(dep, 'open');
          path.push(dep);
          next.push(0);
        }
      } else {
        state.set(path[top]!, 'done');
        path.pop();
        next.pop();
      }
    }
  }
  return null;
}

/**
 * The order in which a writer locks a set of tasks: everything a task waits
 * for (its dependencies; for an epic, its children) before the task itself.
 * Completions lock a task, then its dependents, then its epic:
 * the same direction, so a graph edit and a completion never wait for each
 * other in a circle. Deterministic (roots and edges are visited in id order). `waits` holds the "waits for" edges reachable from
 * `roots` (acyclic: cycles are refused before any edge is written).
 */
export function waitsForOrder(roots: readonly string[], waits: ReadonlyMap<string, readonly string[]>): string[] {
  const order: string[] = [];
  const done = new Set<string>();
  const started = new Set<string>();
  for (const root of [...new Set(roots)].sort()) {
    // Iterative post-order DFS: a task is emitted after everything it waits for.
    const stack: Array<{ id: string; next: string[] }> = [];
    const push = (id: string) => {
      if (done.has(id) || started.has(id)) return;
      started.add(id);
      stack.push({ id, next: [...new Set(waits.get(id) ?? [])].sort().reverse() });
    };
    push(root);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const child = top.next.pop();
      if (child !== undefined) {
        push(child);
        continue;
      }
      stack.pop();
      done.add(top.id);
      order.push(top.id);
    }
  }
  return order;
}

export function cycleError(cycle: readonly string[]): LoomError {
  return new LoomError('DEPENDENCY_CYCLE', `dependency cycle: ${cycle.join(' -> ')}`, {
    hint: 'remove one of these dependencies; the task graph must stay acyclic. Nothing was written',
    details: { cycle: [...cycle] },
  });
}

/** Dependencies of a new or changed task: its own plus those its epic inherits to it, deduplicated. */
export function effectiveDependencies(own: readonly string[], parent: Pick<Task, 'depends_on'> | null): string[] {
  return [...new Set([...own, ...(parent?.depends_on ?? [])])];
}

/** How many of these dependencies are not done yet. */
export function unmetCount(deps: ReadonlyArray<Pick<Task, 'status'>>): number {
  return deps.filter((d) => d.status !== 'done').length;
}

/**
 * A task's status from its dependencies: an epic stays an epic; unmet
 * dependencies block it, and a failed or cancelled one blocks it for a human.
 */
export function initialStatus(
  epic: boolean,
  deps: ReadonlyArray<Pick<Task, 'status'>>,
): { status: TaskStatus; blocked_reason: 'dependencies' | 'dependency_failed' | null } {
  if (epic) return { status: 'epic', blocked_reason: null };
  if (deps.some((d) => d.status === 'failed' || d.status === 'cancelled')) return { status: 'blocked', blocked_reason: 'dependency_failed' };
  return unmetCount(deps) > 0 ? { status: 'blocked', blocked_reason: 'dependencies' } : { status: 'pending', blocked_reason: null };
}

/**
 * Which dependents a completion unblocks: those blocked on dependencies whose
 * only unmet dependency was the completed one.
 */
export function unblockedBy(
  dependents: ReadonlyArray<Pick<Task, 'id' | 'status' | 'blocked_reason' | 'unmet_deps'>>,
): string[] {
  return dependents
    .filter((d) => d.status === 'blocked' && d.blocked_reason === 'dependencies' && d.unmet_deps === 1)
    .map((d) => d.id);
}

/**
 * An epic completes when every child is finished and at least one was done:
 * a cancelled child is work deliberately dropped, not work outstanding. From
 * the children's counts by status (one aggregate in the store, no rows read).
 */
export function epicCompleteByCounts(counts: Partial<Record<TaskStatus, number>>): boolean {
  return (counts.done ?? 0) > 0 && Object.entries(counts).every(([status, n]) => n === 0 || status === 'done' || status === 'cancelled');
}

/**
 * What happens to the open dependents of a task that failed or was cancelled:
 * `cancel` cancels them (and, transitively, theirs); `block` keeps them blocked
 * with a reason a human can see, and raises an escalation.
 */
export function propagateFailure(
  policy: 'block' | 'cancel',
  dependents: ReadonlyArray<Pick<Task, 'id' | 'status'> & Partial<Pick<Task, 'blocked_reason'>>>,
): { cancel: string[]; block: string[] } {
  const open = dependents.filter((d) => d.status === 'pending' || d.status === 'blocked');
  if (policy === 'cancel') return { cancel: open.map((d) => d.id), block: [] };
  // One blocked for a person already waits for one: its reason (and its open escalation) stays.
  return { cancel: [], block: open.filter((d) => d.blocked_reason !== 'escalation').map((d) => d.id) };
}

/** Ready order: priority, then critical-path weight (heavier first), then age, then id. */
export function compareReady(
  a: Pick<Task, 'priority' | 'weight' | 'created_at' | 'id'>,
  b: Pick<Task, 'priority' | 'weight' | 'created_at' | 'id'>,
): number {
  return (
    priorityRank(a.priority) - priorityRank(b.priority) ||
    b.weight - a.weight ||
    (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0) ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

/** Ready: pending, every dependency done, and any retry backoff over. */
export function isReady(task: Pick<Task, 'status' | 'unmet_deps' | 'run_after'>, now: Date): boolean {
  return (
    task.status === 'pending' &&
    task.unmet_deps === 0 &&
    (task.run_after === null || Date.parse(task.run_after) <= now.getTime())
  );
}

/**
 * Critical-path weight of every node: the number of distinct transitive
 * dependents that are still open work.
 */
export function criticalPathWeights(nodes: ReadonlyArray<Pick<GraphNode, 'id' | 'status' | 'depends_on'>>): Map<string, number> {
  const dependents = new Map<string, string[]>();
  const status = new Map<string, TaskStatus>();
  for (const n of nodes) {
    status.set(n.id, n.status);
    for (const d of n.depends_on) {
      const list = dependents.get(d) ?? [];
      list.push(n.id);
      dependents.set(d, list);
    }
  }
  const weights = new Map<string, number>();
  for (const n of nodes) {
    const seen = new Set<string>();
    const stack = [...(dependents.get(n.id) ?? [])];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      stack.push(...(dependents.get(id) ?? []));
    }
    let w = 0;
    for (const id of seen) if (OPEN_WORK.includes(status.get(id) ?? 'done')) w++;
    weights.set(n.id, w);
  }
  return weights;
}

/**
 * Waves: the open work grouped into levels that can run in parallel. Wave 0
 * can start now (or is running); wave k waits only on waves < k. Tasks behind
 * a failed or cancelled dependency are `stuck`, never in a wave.
 */
export function computeWaves(nodes: readonly GraphNode[]): { waves: string[][]; stuck: string[] } {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const children = new Map<string, GraphNode[]>();
  for (const n of nodes) {
    if (n.parent_id !== null) {
      const list = children.get(n.parent_id) ?? [];
      list.push(n);
      children.set(n.parent_id, list);
    }
  }
  const open = nodes.filter((n) => OPEN_WORK.includes(n.status));
  const level = new Map<string, number>();
  const STUCK = -1;
  const visiting = new Set<string>();

  /**
   * The wave after which `dep` is out of the way: -Infinity when it is done
   * already, STUCK when it never will be. An open epic is out of the way once
   * its last open child is (it completes itself then).
   */
  const finishes = (dep: GraphNode | undefined): number => {
    if (dep === undefined || dep.status === 'done') return -Infinity;
    if (dep.status === 'failed' || dep.status === 'cancelled') return STUCK;
    if (dep.status !== 'epic') return visit(dep);
    const kids = (children.get(dep.id) ?? []).filter((c) => c.status !== 'cancelled');
    if (kids.length === 0) return STUCK; // an epic with nothing left but cancelled children never completes
    let last = -Infinity;
    for (const c of kids) {
      if (visiting.has(c.id)) continue;
      visiting.add(c.id);
      const l = finishes(c);
      visiting.delete(c.id);
      if (l === STUCK) return STUCK;
      last = Math.max(last, l);
    }
    return last;
  };

  const visit = (n: GraphNode): number => {
    const known = level.get(n.id);
    if (known !== undefined) return known;
    if (visiting.has(n.id)) return STUCK; // a cycle cannot be written, but stay total
    visiting.add(n.id);
    let lvl = 0;
    for (const depId of n.depends_on) {
      const l = finishes(byId.get(depId));
      if (l === STUCK) {
        lvl = STUCK;
        break;
      }
      lvl = Math.max(lvl, l + 1);
    }
    visiting.delete(n.id);
    level.set(n.id, lvl);
    return lvl;
  };

  for (const n of open) visit(n);
  const waves: string[][] = [];
  const ordered = [...open].sort(compareReady);
  for (const n of ordered) {
    const l = level.get(n.id)!;
    if (l !== STUCK) (waves[l] ??= []).push(n.id);
  }
  return { waves: waves.filter((w) => w !== undefined), stuck: ordered.filter((n) => level.get(n.id) === STUCK).map((n) => n.id) };
}

export function buildGraphView(nodes: readonly GraphNode[]): GraphView {
  const edges: Array<[string, string]> = [];
  for (const n of nodes) for (const d of n.depends_on) edges.push([n.id, d]);
  const { waves, stuck } = computeWaves(nodes);
  return { nodes: [...nodes], edges, waves, stuck };
}
