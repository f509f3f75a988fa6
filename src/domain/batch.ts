import { decideCreate } from './deciders.js';
import { LoomError } from './errors.js';
import type { NewEvent } from './events.js';
import { effectiveDependencies, findAnyCycle } from './graph.js';
import { expectedWeights } from './graph-walks.js';
import { TASK_ID_PATTERN, type JsonObject, type Origin, type Priority, type Task } from './task.js';

/**
 * Many new tasks written at once (bulk create, decomposition plans, workflow
 * runs): each item is what a single create takes, and its depends_on and
 * parent may name other items of the batch by key or existing tasks by id.
 * Pure: the writer reads the existing graph and passes it in.
 */

/** Most tasks one bulk create may hold: a bigger import is split into several calls. */
export const MAX_BATCH_TASKS = 20_000;
/** Most depends_on entries one bulk create may hold, all items together. */
export const MAX_BATCH_EDGES = 200_000;

/** Most bytes of JSON the items of one bulk create may take together (the daemon carries at most 32 MiB a message). */
export const MAX_BATCH_BYTES = 24 * 1024 * 1024;

/** Keys of bulk-create items (plan keys are a subset); a task id is not a key. */
export const BATCH_KEY_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$';

export interface BatchItem {
  /** Unique in the batch, never shaped like a task id. */
  key: string;
  title: string;
  context: JsonObject;
  /** Keys of the batch and ids of existing tasks, deduplicated. */
  depends_on: readonly string[];
  /** The epic it goes under: the key of an epic item of the batch, or an existing epic's id. */
  parent?: string | null;
  priority?: Priority;
  done_when?: string | null;
  labels?: readonly string[];
  epic?: boolean;
  max_attempts?: number;
  /** Who filed it (default: the batch's origin). */
  origin?: Origin;
}

/** What a batch says by itself, checked. */
export interface BatchShape {
  /** Existing task ids named in depends_on, sorted. */
  external: string[];
  /** Existing task ids named as parents, sorted. */
  parents: string[];
  /** Item positions, every parent before its children. */
  order: number[];
  /** depends_on entries, all items together. */
  edges: number;
}

const isTaskId = (ref: string): boolean => TASK_ID_PATTERN.test(ref);

const list = (keys: readonly string[], max = 10): string =>
  keys.length <= max ? keys.join(', ') : `${keys.slice(0, max).join(', ')} and ${keys.length - max} more`;

/** An item's name in errors: its position, and its key. */
export const itemName = (items: readonly BatchItem[], i: number): string => `tasks[${i}] (${items[i]!.key})`;

/** The same error, said of one item: its message names it and its details carry index and key. */
export function atItem(e: unknown, items: readonly BatchItem[], i: number): unknown {
  if (!LoomError.is(e)) return e;
  return new LoomError(e.code, `${itemName(items, i)}: ${e.message}`, {
    ...(e.hint === undefined ? {} : { hint: e.hint }),
    details: { ...e.details, index: i, key: items[i]!.key },
    cause: e,
  });
}

/**
 * Checks what needs only the batch: unique keys, references, parents that
 * are epics of the batch, and no cycle among its items (dependencies, the
 * dependencies children inherit from their epic, and an epic waiting for
 * its children). Throws a coded error naming the items at fault.
 */
export function checkBatch(items: readonly BatchItem[], options: { noun?: string; max_tasks?: number; max_edges?: number } = {}): BatchShape {
  const noun = options.noun ?? 'batch';
  const maxTasks = options.max_tasks ?? MAX_BATCH_TASKS;
  if (items.length > maxTasks) throw tooMany(noun, items.length, maxTasks);
  const at = new Map<string, number>();
  const duplicates = new Set<string>();
  items.forEach((t, i) => (at.has(t.key) ? duplicates.add(t.key) : at.set(t.key, i)));
  if (duplicates.size > 0) {
    throw new LoomError('VALIDATION_FAILED', `duplicate ${noun} keys: ${list([...duplicates])}`, {
      hint: `every task of a ${noun} needs its own key; rename the duplicates (and the depends_on entries meant for them). Nothing was written`,
      details: { duplicate_keys: [...duplicates] },
    });
  }
  const external = new Set<string>();
  const parents = new Set<string>();
  const unknown: Array<{ index: number; key: string; ref: string }> = [];
  let edges = 0;
  items.forEach((t, i) => {
    edges += t.depends_on.length;
    for (const ref of t.depends_on) {
      if (at.has(ref)) continue;
      if (isTaskId(ref)) external.add(ref);
      else unknown.push({ index: i, key: t.key, ref });
    }
  });
  const maxEdges = options.max_edges ?? MAX_BATCH_EDGES;
  if (edges > maxEdges) {
    throw new LoomError('VALIDATION_FAILED', `the ${noun} has ${edges} dependency edges; at most ${maxEdges} are allowed`, {
      hint: 'depend on the task that gathers a group (an integration task) rather than on each member; or split the work into several calls. Nothing was written',
      details: { edges, limit: maxEdges },
    });
  }
  if (unknown.length > 0) {
    throw new LoomError('DEPENDENCY_NOT_FOUND', `depends_on names no key of the ${noun}: ${list(unknown.map((u) => `${u.key} -> ${u.ref}`))}`, {
      hint: `a depends_on entry is the key of another task in this ${noun} or the id (loom-…) of an existing task; fix the spelling or add the missing task. Nothing was written`,
      details: { unknown: unknown.slice(0, 100) },
    });
  }
  items.forEach((t, i) => {
    const p = t.parent ?? null;
    if (p === null) return;
    const j = at.get(p);
    if (j !== undefined) {
      if (items[j]!.epic !== true) {
        throw atItem(
          new LoomError('VALIDATION_FAILED', `parent ${p} is not an epic`, {
            hint: `give ${p} epic: true, or leave parent_id out. Nothing was written`,
            details: { parent: p },
          }),
          items,
          i,
        );
      }
    } else if (isTaskId(p)) parents.add(p);
    else {
      throw atItem(
        new LoomError('TASK_NOT_FOUND', `parent_id ${p} names no key of the ${noun} and is not a task id`, {
          hint: `parent_id is the key of an epic in this ${noun} or the id (loom-…) of an existing epic. Nothing was written`,
          details: { parent: p },
        }),
        items,
        i,
      );
    }
  });
  const order = parentsFirst(items, at, noun);
  const cycle = findAnyCycle(
    items.map((t) => t.key),
    waitsFor(items, order, at, () => []),
  );
  if (cycle !== null) throw batchCycle(noun, cycle);
  return { external: [...external].sort(), parents: [...parents].sort(), order, edges };
}

export function tooMany(noun: string, n: number, limit: number): LoomError {
  return new LoomError('VALIDATION_FAILED', `the ${noun} has ${n} tasks; one call creates at most ${limit}`, {
    hint: `split it into calls of at most ${limit} tasks (a later call can depend on the ids an earlier one returned). Nothing was written`,
    details: { tasks: n, limit },
  });
}

function batchCycle(noun: string, cycle: readonly string[]): LoomError {
  return new LoomError('DEPENDENCY_CYCLE', `the ${noun} has a dependency cycle: ${cycle.join(' -> ')}`, {
    hint: 'a task cannot wait, directly or through others, for itself (an epic waits for its children, and they inherit its dependencies): remove one depends_on entry or parent of this cycle. Nothing was written',
    details: { cycle: [...cycle] },
  });
}

/** Positions with every parent of the batch before its children; a parent cycle is DEPENDENCY_CYCLE. */
function parentsFirst(items: readonly BatchItem[], at: ReadonlyMap<string, number>, noun: string): number[] {
  const state = new Uint8Array(items.length); // 0 new, 1 on the chain being walked, 2 placed
  const order: number[] = [];
  for (let i = 0; i < items.length; i++) {
    const chain: number[] = [];
    for (let j: number | undefined = i; j !== undefined && state[j] !== 2; j = at.get(items[j]!.parent ?? '')) {
      if (state[j] === 1) throw batchCycle(noun, [...chain.slice(chain.indexOf(j)), j].map((k) => items[k]!.key));
      state[j] = 1;
      chain.push(j);
    }
    for (let k = chain.length - 1; k >= 0; k--) {
      state[chain[k]!] = 2;
      order.push(chain[k]!);
    }
  }
  return order;
}

/**
 * What each item waits for, by key or id: its effective dependencies (its
 * own and those its epic passes down; `parentDeps` gives an existing epic's),
 * and, for an epic of the batch, its children.
 */
function waitsFor(
  items: readonly BatchItem[],
  order: readonly number[],
  at: ReadonlyMap<string, number>,
  parentDeps: (id: string) => readonly string[],
): Map<string, string[]> {
  const effective = effectiveRefs(items, order, at, parentDeps);
  const waits = new Map<string, string[]>();
  items.forEach((t, i) => waits.set(t.key, [...effective[i]!]));
  for (const t of items) if (t.parent != null && at.has(t.parent)) waits.get(t.parent)!.push(t.key);
  return waits;
}

function effectiveRefs(
  items: readonly BatchItem[],
  order: readonly number[],
  at: ReadonlyMap<string, number>,
  parentDeps: (id: string) => readonly string[],
): string[][] {
  const effective: string[][] = new Array<string[]>(items.length);
  for (const i of order) {
    const t = items[i]!;
    const p = t.parent ?? null;
    const inherited = p === null ? [] : at.has(p) ? effective[at.get(p)!]! : parentDeps(p);
    effective[i] = inherited.length === 0 ? [...t.depends_on] : [...new Set([...t.depends_on, ...inherited])];
  }
  return effective;
}

/**
 * The batch against the existing graph: no item waits, through existing
 * tasks, for itself (an existing epic waits for the items put under it).
 * `waits` holds the "waits for" edges reachable from what the items depend
 * on and from their existing epics' dependencies (TaskStoreTx.reachableDependencies).
 */
export function checkBatchAgainstGraph(
  items: readonly BatchItem[],
  shape: BatchShape,
  parents: ReadonlyMap<string, Pick<Task, 'depends_on'>>,
  waits: ReadonlyMap<string, readonly string[]>,
  noun = 'batch',
): void {
  const at = new Map(items.map((t, i) => [t.key, i]));
  const graph = new Map<string, readonly string[]>(waits);
  for (const [key, refs] of waitsFor(items, shape.order, at, (id) => parents.get(id)?.depends_on ?? [])) graph.set(key, refs);
  for (const t of items) {
    if (t.parent == null || at.has(t.parent)) continue;
    graph.set(t.parent, [...(graph.get(t.parent) ?? []), t.key]);
  }
  const cycle = findAnyCycle(
    items.map((t) => t.key),
    graph,
  );
  if (cycle !== null) throw batchCycle(noun, cycle);
}

export interface BatchWrite {
  /** In input order. */
  tasks: Task[];
  edges: Array<{ task_id: string; depends_on: string; inherited: boolean }>;
  /** One task.created per task, in input order. */
  events: NewEvent[];
}

/**
 * The tasks and edges a checked batch becomes, each decided as a single
 * create would be: inherited epic dependencies, blocked while anything it
 * waits for is open, blocked for a human when an existing dependency failed
 * or was cancelled, held under a held epic. `existing` holds the (locked)
 * tasks the batch depends on or goes under.
 */
export function decideBatch(
  items: readonly BatchItem[],
  shape: BatchShape,
  ids: ReadonlyMap<string, string>,
  existing: ReadonlyMap<string, Task>,
  context: { project_id: string; origin: Origin; now: Date; defaults: { max_attempts: number; budget_stopped?: boolean } },
): BatchWrite {
  const decided = new Array<Task>(items.length);
  const events = new Array<NewEvent[]>(items.length);
  const owns = new Array<Set<string>>(items.length);
  const byId = new Map<string, Task>();
  const fresh = new Set(ids.values());
  for (const i of shape.order) {
    const t = items[i]!;
    const id = ids.get(t.key)!;
    const ref = (r: string): string => ids.get(r) ?? r;
    const own = [...new Set(t.depends_on.map(ref))];
    const parentId = t.parent == null ? null : ref(t.parent);
    const parent = parentId === null ? null : (byId.get(parentId) ?? existing.get(parentId) ?? null);
    try {
      const deps = effectiveDependencies(own, parent).map((dep) => {
        const known = existing.get(dep);
        if (known !== undefined) return known;
        if (fresh.has(dep)) return { id: dep, status: 'pending' as const }; // a new task of this batch: open
        throw new LoomError('DEPENDENCY_NOT_FOUND', `unknown dependency ${dep}`, { hint: 'depend on tasks of this project', details: { task_ids: [dep] } });
      });
      const decision = decideCreate(
        {
          id,
          project_id: context.project_id,
          title: t.title,
          origin: t.origin ?? context.origin,
          context: t.context,
          depends_on: own,
          ...(t.priority === undefined ? {} : { priority: t.priority }),
          ...(parentId === null ? {} : { parent_id: parentId }),
          ...(t.done_when == null ? {} : { done_when: t.done_when }),
          ...(t.labels === undefined ? {} : { labels: [...t.labels] }),
          ...(t.epic === true ? { epic: true } : {}),
          ...(t.max_attempts === undefined ? {} : { max_attempts: t.max_attempts }),
        },
        deps,
        parent,
        context.now,
        context.defaults,
      );
      decided[i] = decision.task;
      events[i] = decision.events;
      owns[i] = new Set(own);
      byId.set(id, decision.task);
    } catch (e) {
      throw atItem(e, items, i);
    }
  }
  // Critical-path weights among the new tasks (existing tasks never wait for new ones).
  const weights = expectedWeights(decided);
  const tasks = decided.map((t) => ({ ...t, weight: weights.get(t.id) ?? 0 }));
  const edges: BatchWrite['edges'] = [];
  tasks.forEach((t, i) => {
    for (const dep of t.depends_on) edges.push({ task_id: t.id, depends_on: dep, inherited: !owns[i]!.has(dep) });
  });
  return { tasks, edges, events: events.flat() };
}
