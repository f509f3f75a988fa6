import { taskNotFound } from '../../domain/errors.js';
import type { NewEvent } from '../../domain/events.js';
import { waitsForOrder } from '../../domain/graph.js';
import { decideCreate } from '../../domain/deciders.js';
import { checkAgainstGraph, decidePlanTasks, type Plan, type PlanShape } from '../../domain/plan.js';
import type { JsonObject, Origin, Task } from '../../domain/task.js';
import type { TaskStoreTx } from '../../ports/task-store.js';
import type { UseCaseDeps } from './deps.js';
import { assertProjectOpen } from './remove-project.js';

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

/**
 * Writes a checked plan inside the caller's transaction, set-based: the epic
 * (when new), every task in one statement, every edge in one, the weights of
 * the existing tasks it waits for. Takes the project's graph lock, reads and
 * checks what the plan waits for, then locks it (what it waits for first, the
 * epic last), as single creates do. Null when a drawn id is taken (nothing
 * was written yet): draw again.
 */
export async function writePlan(
  d: { ids: Pick<UseCaseDeps['ids'], 'taskId'>; settings: Pick<UseCaseDeps['settings'], 'max_attempts'> },
  tx: TaskStoreTx,
  w: PlanWriteInput,
): Promise<PlanWritten | null> {
  const p = w.project_id;
  await tx.lockGraph(p);
  await assertProjectOpen(tx, p);
  // The existing epic the tasks end up inside: the given one, or the parent of the new one.
  const epicId = 'epic_id' in w.parent ? w.parent.epic_id : (w.parent.parent_id ?? null);
  const parentRead = epicId === null ? null : ((await tx.getTasks(p, [epicId]))[0] ?? null);
  if (epicId !== null && parentRead === null) throw taskNotFound(epicId);
  const external = [...new Set([...w.shape.external, ...(parentRead?.depends_on ?? [])])];
  const waits = await tx.reachableDependencies(p, external);
  const found = await tx.getTasks(p, w.shape.external);
  checkAgainstGraph(w.shape, new Set(found.map((t) => t.id)), parentRead?.id ?? null, waits);
  const order = waitsForOrder(external, waits);
  if (parentRead !== null && !order.includes(parentRead.id)) order.push(parentRead.id);
  const locked = await tx.lockInOrder(p, order);
  const ancestors = await tx.lockAncestors(p, external);

  // Fresh ids for every task (and the epic, when new), checked free under the graph lock.
  const ids = new Map<string, string>();
  const taken = new Set<string>();
  const draw = (): string => {
    let id = d.ids.taskId();
    while (taken.has(id)) id = d.ids.taskId();
    taken.add(id);
    return id;
  };
  for (const t of w.plan.tasks) ids.set(t.key, draw());
  const newEpicId = 'epic_id' in w.parent ? null : draw();
  if ((await tx.getTasks(p, [...taken])).length > 0) return null;

  const defaults = { max_attempts: d.settings.max_attempts };
  const events: NewEvent[] = [];
  let epic: Task;
  if (newEpicId !== null) {
    const spec = w.parent as { title: string; context: JsonObject; parent_id?: string };
    const parent = parentRead === null ? null : (locked.get(parentRead.id) ?? parentRead);
    const inherited = (parent?.depends_on ?? []).map((id) => locked.get(id)).filter((t): t is Task => t !== undefined);
    const decision = decideCreate(
      { id: newEpicId, project_id: p, title: spec.title, origin: w.origin, context: spec.context, epic: true, ...(parent === null ? {} : { parent_id: parent.id }) },
      inherited,
      parent,
      w.now,
      defaults,
    );
    epic = decision.task;
    if (!(await tx.insertTask(epic))) return null; // nothing written yet: the transaction commits empty
    await tx.insertDependencies(epic.depends_on.map((dep) => ({ task_id: epic.id, depends_on: dep, inherited: true })));
    events.push(...decision.events);
  } else {
    epic = locked.get(parentRead!.id) ?? parentRead!;
  }
  const planned = decidePlanTasks(w.plan, ids, epic, locked, w.origin, w.now, defaults);
  // A single create racing in with one of these ids fails the transaction (the ids were free above).
  await tx.insertTasks(planned.tasks);
  await tx.insertDependencies(planned.edges);
  // Tasks the plan waits for gain open dependents: their critical-path weights grow (and revisions move).
  await tx.addWeight(p, ancestors, 0);
  await tx.recomputeWeights(p, ancestors);
  events.push(...planned.events);
  return { epic_id: epic.id, task_ids: Object.fromEntries(ids), edges: planned.edges.length, events, epic };
}
