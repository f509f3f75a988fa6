import { checkBatch, type BatchItem } from './batch.js';
import { LoomError } from './errors.js';
import { findCycle } from './graph.js';
import { expectedWeights } from './graph-walks.js';
import { canonicalJson } from './json.js';

export { canonicalJson };
import type { JsonObject, Priority } from './task.js';

/**
 * Decomposition plans: a task graph an agent wrote, checked before anything
 * is stored. Pure: the use case reads the existing graph and passes it in.
 */

/** Most tasks one plan may hold (the plan schema says the same): a bigger goal is split into epics planned one by one. */
export const MAX_PLAN_TASKS = 2000;
/** Most edges one plan may hold (its tasks' depends_on entries together). */
export const MAX_PLAN_EDGES = 20_000;
/** A plan of more tasks than this with no edge at all is refused unless allow_flat. */
export const FLAT_PLAN_LIMIT = 3;

export interface PlannedTask {
  key: string;
  title: string;
  done_when: string | null;
  /** Keys of the plan and ids of existing tasks, deduplicated, in the order given. */
  depends_on: string[];
  priority: Priority;
  context: JsonObject;
  skill: string | null;
  /** Tries before the task is dead-lettered (default: the project's setting). Workflows set it; plans do not. */
  max_attempts?: number;
}

export interface Plan {
  title: string;
  tasks: PlannedTask[];
}

export interface PlanWarningView {
  code: 'no_done_when' | 'duplicate_title' | 'isolated';
  message: string;
  keys: string[];
}

/** What the plan says by itself: its shape, checked. */
export interface PlanShape {
  /** [task key, dependency key or task id]. */
  edges: Array<[string, string]>;
  /** Existing task ids the plan depends on. */
  external: string[];
  /** Wave of each key within the plan (0 = waits for no other plan task). */
  wave: Map<string, number>;
  waves: string[][];
  critical_path: string[];
  warnings: PlanWarningView[];
}

/**
 * A plan that passed the JSON Schema, with its defaults filled in: what the
 * hash covers, so a YAML and a JSON copy of one plan hash alike.
 */
export function normalizePlan(raw: JsonObject): Plan {
  const tasks = (raw.tasks as JsonObject[]).map((t) => ({
    key: t.key as string,
    title: t.title as string,
    done_when: typeof t.done_when === 'string' && t.done_when.trim() !== '' ? t.done_when : null,
    depends_on: [...new Set((t.depends_on as string[] | undefined) ?? [])],
    priority: ((t.priority as Priority | undefined) ?? 'p1'),
    context: (t.context as JsonObject | undefined) ?? {},
    skill: typeof t.skill === 'string' ? t.skill : null,
  }));
  return { title: raw.title as string, tasks };
}

const list = (keys: readonly string[], max = 10): string =>
  keys.length <= max ? keys.join(', ') : `${keys.slice(0, max).join(', ')} and ${keys.length - max} more`;

/**
 * Checks what needs only the plan: unique keys, references, no cycle among
 * its tasks, and edges at all. Throws a coded error naming the keys at fault;
 * returns the plan's edges, waves, critical path and warnings.
 */
export function checkPlan(plan: Plan, options: { allow_flat: boolean }): PlanShape {
  if (plan.tasks.length > MAX_PLAN_TASKS) {
    throw new LoomError('VALIDATION_FAILED', `the plan has ${plan.tasks.length} tasks; a plan holds at most ${MAX_PLAN_TASKS}`, {
      hint: `split the goal into epics of at most ${MAX_PLAN_TASKS} tasks: decompose the top level first, then each epic with loom_decompose {epic_id}. Nothing was written`,
      details: { tasks: plan.tasks.length, limit: MAX_PLAN_TASKS },
    });
  }
  const items = planItems(plan, null);
  const { external } = checkBatch(items, { noun: 'plan', max_tasks: MAX_PLAN_TASKS, max_edges: MAX_PLAN_EDGES });
  const seen = new Set(plan.tasks.map((t) => t.key));
  const edges: Array<[string, string]> = [];
  const inPlan = new Map<string, string[]>();
  for (const t of plan.tasks) {
    for (const ref of t.depends_on) edges.push([t.key, ref]);
    inPlan.set(t.key, t.depends_on.filter((ref) => seen.has(ref)));
  }
  if (edges.length === 0 && plan.tasks.length > FLAT_PLAN_LIMIT && !options.allow_flat) {
    throw new LoomError('PLAN_FLAT', `the plan has ${plan.tasks.length} tasks and no dependency edges`, {
      hint:
        'a plan with no edges lets every agent start at once, on inputs that do not exist yet. For each task ask what it reads that another task writes, and list that task\'s key in its depends_on. ' +
        'Only if the tasks truly share no inputs, send allow_flat: true. Nothing was written',
      details: { tasks: plan.tasks.length },
    });
  }
  const { wave, waves, critical_path } = levels(plan, inPlan);
  return { edges, external, wave, waves, critical_path, warnings: warnings(plan, inPlan) };
}

function levels(plan: Plan, inPlan: ReadonlyMap<string, readonly string[]>): { wave: Map<string, number>; waves: string[][]; critical_path: string[] } {
  const wave = new Map<string, number>();
  const via = new Map<string, string | null>();
  // Iterative post-order: the plan is acyclic (checked above), up to MAX_PLAN_TASKS deep.
  for (const t of plan.tasks) {
    const stack: Array<{ key: string; next: number }> = [{ key: t.key, next: 0 }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (wave.has(top.key)) {
        stack.pop();
        continue;
      }
      const deps = inPlan.get(top.key) ?? [];
      if (top.next < deps.length) {
        const dep = deps[top.next++]!;
        if (!wave.has(dep)) stack.push({ key: dep, next: 0 });
        continue;
      }
      let best = -1;
      let from: string | null = null;
      for (const dep of deps) {
        const w = wave.get(dep)!;
        if (w > best) {
          best = w;
          from = dep;
        }
      }
      wave.set(top.key, best + 1);
      via.set(top.key, from);
      stack.pop();
    }
  }
  const waves: string[][] = [];
  for (const t of plan.tasks) (waves[wave.get(t.key)!] ??= []).push(t.key);
  let end: string | null = null;
  for (const t of plan.tasks) if (end === null || wave.get(t.key)! > wave.get(end)!) end = t.key;
  const critical_path: string[] = [];
  for (let k = end; k !== null; k = via.get(k) ?? null) critical_path.unshift(k);
  return { wave, waves, critical_path };
}

function warnings(plan: Plan, inPlan: ReadonlyMap<string, readonly string[]>): PlanWarningView[] {
  const out: PlanWarningView[] = [];
  const noDone = plan.tasks.filter((t) => t.done_when === null).map((t) => t.key);
  if (noDone.length > 0) {
    out.push({
      code: 'no_done_when',
      message: `${noDone.length} task${noDone.length === 1 ? ' has' : 's have'} no done_when (${list(noDone)}): a reviewer cannot check them`,
      keys: noDone,
    });
  }
  const byTitle = new Map<string, string[]>();
  for (const t of plan.tasks) {
    const norm = t.title.trim().toLowerCase().replace(/\s+/g, ' ');
    byTitle.set(norm, [...(byTitle.get(norm) ?? []), t.key]);
  }
  for (const keys of byTitle.values()) {
    if (keys.length > 1) out.push({ code: 'duplicate_title', message: `tasks ${list(keys)} have the same title: one piece of work planned twice?`, keys });
  }
  if (plan.tasks.length > 1) {
    const needed = new Set<string>();
    for (const deps of inPlan.values()) for (const d of deps) needed.add(d);
    const isolated = plan.tasks.filter((t) => t.depends_on.length === 0 && !needed.has(t.key)).map((t) => t.key);
    if (isolated.length > 0) {
      out.push({
        code: 'isolated',
        message: `${list(isolated)} depend${isolated.length === 1 ? 's' : ''} on nothing and nothing depends on ${isolated.length === 1 ? 'it' : 'them'}: a missing edge?`,
        keys: isolated,
      });
    }
  }
  return out;
}

/**
 * The plan against the existing graph: every task id it names exists, and
 * no plan task waits (through existing tasks) for the epic it goes under,
 * which waits for its children. `waits` holds the "waits for" edges
 * reachable from `external` (see TaskStoreTx.reachableDependencies).
 */
export function checkAgainstGraph(
  shape: Pick<PlanShape, 'external' | 'edges'>,
  found: ReadonlySet<string>,
  parentId: string | null,
  waits: ReadonlyMap<string, readonly string[]>,
): void {
  const missing = shape.external.filter((id) => !found.has(id));
  if (missing.length > 0) {
    throw new LoomError('DEPENDENCY_NOT_FOUND', `the plan depends on tasks that are not in this project: ${list(missing)}`, {
      hint: 'depend on existing tasks by their id as loom_ready or loom_status show it, or plan the missing work as tasks of this plan. Nothing was written',
      details: { task_ids: missing },
    });
  }
  if (parentId === null) return;
  const cycle = findCycle(parentId, shape.external, waits);
  if (cycle !== null) {
    const key = shape.edges.find(([, ref]) => ref === cycle[1])?.[0] ?? '?';
    const path = [parentId, `${key} (plan)`, ...cycle.slice(1)];
    throw new LoomError('DEPENDENCY_CYCLE', `the plan closes a cycle through its epic: ${path.join(' -> ')}`, {
      hint: `an epic waits for its tasks, so a task under ${parentId} cannot depend on ${cycle[1]}, which waits for the epic. Remove that depends_on entry. Nothing was written`,
      details: { cycle: path },
    });
  }
}

/** Critical-path weight of each plan task: how many plan tasks wait for it, directly or not. */
export function planWeights(plan: Plan): Map<string, number> {
  // The flat-array walk fsck uses (same answers as criticalPathWeights): a Set per task cost ~140 ms and much GC at 2,000 tasks.
  // Ids of existing tasks are not plan keys: the walk leaves them out.
  return expectedWeights(plan.tasks.map((t) => ({ id: t.key, status: 'pending' as const, depends_on: t.depends_on })));
}

/**
 * A plan's tasks as batch items under `parent` (an epic's id or key, or
 * none): the skill and the plan key go into each task's context.
 */
export function planItems(plan: Plan, parent: string | null): BatchItem[] {
  return plan.tasks.map((t) => ({
    key: t.key,
    title: t.title,
    context: { ...t.context, ...(t.skill === null ? {} : { skill: t.skill }), plan_key: t.key },
    depends_on: t.depends_on,
    parent,
    priority: t.priority,
    done_when: t.done_when,
    ...(t.max_attempts === undefined ? {} : { max_attempts: t.max_attempts }),
  }));
}
