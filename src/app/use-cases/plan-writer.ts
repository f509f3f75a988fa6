import { atItem, checkBatch, checkBatchAgainstGraph, decideBatch, type BatchItem, type BatchShape } from '../../domain/batch.js';
import { LoomError } from '../../domain/errors.js';
import type { NewEvent } from '../../domain/events.js';
import { waitsForOrder } from '../../domain/graph.js';
import { planItems, type Plan, type PlanShape } from '../../domain/plan.js';
import type { JsonObject, Origin, Task } from '../../domain/task.js';
import type { TaskStoreTx } from '../../ports/task-store.js';
import type { UseCaseDeps } from './deps.js';
import { assertProjectOpen } from './remove-project.js';

type WriterDeps = { ids: Pick<UseCaseDeps['ids'], 'taskId'>; settings: Pick<UseCaseDeps['settings'], 'max_attempts'> };

export interface BatchWriteInput {
  project_id: string;
  items: readonly BatchItem[];
  shape: BatchShape;
  origin: Origin;
  now: Date;
  /** Names the batch in errors ('batch', 'plan'). */
  noun?: string;
}

export interface BatchWritten {
  /** The new tasks, in input order. */
  tasks: Task[];
  edges: number;
  /** One task.created per task, in input order; the caller appends them (with its own). */
  events: NewEvent[];
}

/** Rounds of drawing fresh ids for those found taken (8 hex digits: a round rarely finds any). */
const ID_ROUNDS = 8;

/**
 * The one set-based writer of new tasks (bulk create, decomposition plans,
 * workflow runs), inside the caller's transaction: every task in one
 * statement, every edge in one, the weights of the existing tasks it waits
 * for. Takes the project's graph lock, reads and checks what the batch
 * depends on and goes under (cycles through the existing graph included),
 * then locks it (what it waits for first, epics last), as single creates do.
 */
export async function writeBatch(d: WriterDeps, tx: TaskStoreTx, w: BatchWriteInput): Promise<BatchWritten> {
  const p = w.project_id;
  const { items, shape } = w;
  await tx.lockGraph(p);
  const open = await assertProjectOpen(tx, p);
  const parentsRead = new Map((await tx.getTasks(p, shape.parents)).map((t) => [t.id, t]));
  const missingParent = shape.parents.find((id) => !parentsRead.has(id));
  if (missingParent !== undefined) {
    const i = items.findIndex((t) => t.parent === missingParent);
    throw atItem(
      new LoomError('TASK_NOT_FOUND', `no parent task ${missingParent} in this project`, {
        hint: 'the parent must be an epic of this project (or the key of an epic item of this call). Nothing was written',
        details: { task_id: missingParent },
      }),
      items,
      i,
    );
  }
  const external = [...new Set([...shape.external, ...[...parentsRead.values()].flatMap((t) => t.depends_on)])];
  const waits = external.length === 0 ? new Map<string, string[]>() : await tx.reachableDependencies(p, external);
  const found = new Set((await tx.getTasks(p, shape.external)).map((t) => t.id));
  const missing = shape.external.filter((id) => !found.has(id));
  if (missing.length > 0) {
    const named = items.flatMap((t, i) => t.depends_on.filter((ref) => missing.includes(ref)).map((ref) => ({ index: i, key: t.key, ref }))).slice(0, 100);
    throw new LoomError('DEPENDENCY_NOT_FOUND', `depends_on names tasks that are not in this project: ${named.slice(0, 10).map((u) => `tasks[${u.index}] (${u.key}) -> ${u.ref}`).join(', ')}`, {
      hint: 'depend on existing tasks by their id as loom_ready or loom_status show it, or add the missing work to this call. Nothing was written',
      details: { task_ids: missing.slice(0, 100), unknown: named },
    });
  }
  checkBatchAgainstGraph(items, shape, parentsRead, waits, w.noun);
  const order = waitsForOrder(external, waits);
  const ordered = new Set(order);
  for (const id of shape.parents) if (!ordered.has(id)) order.push(id);
  const locked = await tx.lockInOrder(p, order);
  const ancestors = external.length === 0 ? [] : await tx.lockAncestors(p, external);

  const ids = await drawIds(d, tx, items.map((t) => t.key));
  const decided = decideBatch(items, shape, ids, locked, { project_id: p, origin: w.origin, now: w.now, defaults: { max_attempts: d.settings.max_attempts, budget_stopped: open.budget_stopped } });
  // A create racing in with one of these ids fails the transaction (they were free above).
  await tx.insertTasks(decided.tasks);
  await tx.insertDependencies(decided.edges);
  if (ancestors.length > 0) {
    // Tasks the batch waits for gain open dependents: their critical-path weights grow (and revisions move).
    await tx.addWeight(p, ancestors, 0);
    await tx.recomputeWeights(p, ancestors);
  }
  return { tasks: decided.tasks, edges: decided.edges.length, events: decided.events };
}

/** A fresh task id for every key, none taken by any task of the database (checked under the graph lock). */
async function drawIds(d: WriterDeps, tx: TaskStoreTx, keys: readonly string[]): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  const used = new Set<string>();
  const draw = (): string => {
    let id = d.ids.taskId();
    while (used.has(id)) id = d.ids.taskId();
    used.add(id);
    return id;
  };
  for (const key of keys) ids.set(key, draw());
  let check = [...ids.values()];
  for (let round = 0; round < ID_ROUNDS; round++) {
    const taken = new Set(await tx.takenTaskIds(check));
    if (taken.size === 0) return ids;
    check = [];
    for (const [key, id] of ids) {
      if (!taken.has(id)) continue;
      const fresh = draw();
      ids.set(key, fresh);
      check.push(fresh);
    }
  }
  throw new LoomError('INTERNAL', 'could not allocate task ids', { hint: 'try again; nothing was written' });
}

export interface PlanWriteInput {
  project_id: string;
  plan: Plan;
  shape: PlanShape;
  /** Under an existing open epic, or a new one with this title and context (itself under `parent_id` when given). */
  parent: { epic_id: string } | { title: string; context: JsonObject; parent_id?: string };
  origin: Origin;
  now: Date;
}

export interface PlanWritten {
  epic_id: string;
  /** Plan key -> task id. */
  task_ids: Record<string, string>;
  edges: number;
  /** The task.created events (the new epic's first); the caller adds its own and appends them. */
  events: NewEvent[];
  epic: Task;
}

/** The key of a plan's new epic among its items: plan keys start with a letter or digit. */
const EPIC_KEY = '#epic';

/**
 * Writes a checked plan under its epic (an existing one, or a new one
 * written with it) through `writeBatch`. Null is kept for callers that
 * retry: ids are now checked and drawn again inside the writer.
 */
export async function writePlan(d: WriterDeps, tx: TaskStoreTx, w: PlanWriteInput): Promise<PlanWritten | null> {
  const existingEpic = 'epic_id' in w.parent ? w.parent.epic_id : null;
  const epicRef = existingEpic ?? EPIC_KEY;
  const items = planItems(w.plan, epicRef);
  if (!('epic_id' in w.parent)) {
    items.unshift({ key: EPIC_KEY, title: w.parent.title, context: w.parent.context, depends_on: [], parent: w.parent.parent_id ?? null, epic: true });
  }
  const shape = checkBatch(items, { noun: 'plan', max_tasks: items.length, max_edges: Number.MAX_SAFE_INTEGER });
  const written = await writeBatch(d, tx, { project_id: w.project_id, items, shape, origin: w.origin, now: w.now, noun: 'plan' });
  const epic = existingEpic === null ? written.tasks[0]! : null;
  const planned = epic === null ? written.tasks : written.tasks.slice(1);
  const epicId = epic?.id ?? existingEpic!;
  return {
    epic_id: epicId,
    task_ids: Object.fromEntries(w.plan.tasks.map((t, i) => [t.key, planned[i]!.id])),
    edges: written.edges - (epic?.depends_on.length ?? 0),
    events: written.events,
    epic: epic ?? (await tx.getTasks(w.project_id, [epicId]))[0]!,
  };
}
