import { decideDependencies, decideUpdate } from '../../domain/deciders.js';
import { dependencyNotFound, LoomError, taskNotFound } from '../../domain/errors.js';
import type { NewEvent } from '../../domain/events.js';
import { cycleError, effectiveDependencies, findCycle, waitsForOrder } from '../../domain/graph.js';
import type { Task } from '../../domain/task.js';
import type { TaskStoreTx } from '../../ports/task-store.js';
import type { UpdateTaskInput } from '../../ports/loom-api.js';
import type { UseCaseDeps } from './deps.js';
import { publicView } from './read-models.js';
import { assertProjectOpen } from './remove-project.js';

export async function updateTask(d: UseCaseDeps, input: UpdateTaskInput): Promise<Task> {
  const p = input.project_id;
  const now = d.clock.now();
  const edits = input.add_depends_on !== undefined || input.remove_depends_on !== undefined;
  if (edits && input.depends_on !== undefined) {
    throw new LoomError('VALIDATION_FAILED', 'invalid updateTask input: depends_on replaces the whole list, so it goes without add_depends_on or remove_depends_on', {
      hint: 'give either the new list (depends_on), or the edges to add and remove. Nothing was written',
      details: { method: 'updateTask' },
    });
  }
  if (input.labels !== undefined && (input.add_labels !== undefined || input.remove_labels !== undefined)) {
    throw new LoomError('VALIDATION_FAILED', 'invalid updateTask input: labels replaces the whole list, so it goes without add_labels or remove_labels', {
      hint: 'give either the new list (labels), or the labels to add and remove. Nothing was written',
      details: { method: 'updateTask', field: 'labels' },
    });
  }
  const { task, events } = await d.store.transaction(async (tx) => {
    const { title, context, priority, done_when, max_attempts, labels, add_labels, remove_labels } = input;
    const patch = Object.fromEntries(
      Object.entries({ title, context, priority, done_when, max_attempts, labels, add_labels, remove_labels }).filter(([, v]) => v !== undefined),
    );
    if (input.depends_on === undefined && !edits) {
      await assertProjectOpen(tx, p);
      const current = await tx.lockTask(p, input.task_id);
      if (current === null) throw taskNotFound(input.task_id);
      const fields = decideUpdate(current, patch, now, null);
      return { task: await tx.updateTask(fields.task), events: await tx.appendEvents(p, fields.events, now) };
    }
    // New edges: the graph lock first, then every task this touches, each after what it waits for.
    await tx.lockGraph(p);
    await assertProjectOpen(tx, p);
    // Edits apply to the edges as they are under the graph lock, so two concurrent `dep add`s both land.
    let own: string[];
    if (input.depends_on !== undefined) {
      own = [...new Set(input.depends_on)];
    } else {
      const edit = await editedDependencies(tx, input.task_id, input.add_depends_on ?? [], input.remove_depends_on ?? []);
      own = edit.own;
      if (!edit.changed && Object.keys(patch).length === 0) {
        // Adding an edge the task has, or removing one it has not: nothing to write, not even an event.
        const [unchanged] = await tx.getTasks(p, [input.task_id]);
        if (unchanged === undefined) throw taskNotFound(input.task_id);
        return { task: unchanged, events: [] };
      }
    }
    const plan = await planRewire(tx, p, input.task_id, own);
    const locked = await tx.lockInOrder(p, plan.order);
    const current = locked.get(input.task_id);
    if (current === undefined) throw taskNotFound(input.task_id);
    const fields = decideUpdate(current, patch, now, null);
    const events: NewEvent[] = [...fields.events];
    const oldDeps = current.depends_on;
    const next = await rewireDependencies(tx, locked, fields.task, own, plan.parent, now, events);
    // An epic passes its dependencies on to its open children, and a child epic on to its own.
    const rewireChildren = async (epic: Task, epicNext: Task): Promise<void> => {
      for (const child of await tx.children(p, epic.id)) {
        if (child.status === 'done' || child.status === 'cancelled') continue;
        const childNext = await rewireDependencies(tx, locked, locked.get(child.id) ?? child, await ownDependencies(tx, child), epicNext, now, events, epic.id);
        await tx.updateTask(childNext);
        if (child.status === 'epic') await rewireChildren(child, childNext);
      }
    };
    if (current.status === 'epic') await rewireChildren(current, next);
    await tx.recomputeWeights(p, [...new Set([...oldDeps, ...next.depends_on])]);
    const saved = await tx.updateTask(next);
    return { task: saved, events: await tx.appendEvents(p, mergeUpdates(current.id, events), now) };
  });
  d.bus.publish(events);
  return publicView(task);
}

/**
 * What a rewire of `taskId` to depend on `own` (plus what its epic passes on)
 * will touch, in lock order; refuses a cycle before anything is locked. Runs
 * under the graph lock, so the edges it reads stay as they are.
 */
async function planRewire(tx: TaskStoreTx, p: string, taskId: string, own: string[]): Promise<{ order: string[]; parent: Task | null }> {
  const [task] = await tx.getTasks(p, [taskId]);
  if (task === undefined) throw taskNotFound(taskId);
  const parent = task.parent_id === null ? null : ((await tx.getTasks(p, [task.parent_id]))[0] ?? null);
  const effective = effectiveDependencies(own, parent);
  const cycle = findCycle(taskId, effective, await tx.reachableDependencies(p, effective));
  if (cycle !== null) throw cycleError(cycle);
  // From the task: its old dependencies (and, for an epic, its children and theirs); from the new ones: what they wait for.
  const roots = [taskId, ...effective];
  return { order: waitsForOrder(roots, await tx.reachableDependencies(p, roots)), parent };
}

/** The task's own dependencies with these added and those removed (removal wins when an id is in both). */
async function editedDependencies(
  tx: TaskStoreTx,
  taskId: string,
  add: readonly string[],
  remove: readonly string[],
): Promise<{ own: string[]; changed: boolean }> {
  const before = (await tx.dependencyRefs(taskId)).filter((r) => !r.inherited).map((r) => r.id);
  const gone = new Set(remove);
  const own = [...new Set([...before, ...add])].filter((id) => !gone.has(id));
  return { own, changed: own.length !== before.length || own.some((id) => !before.includes(id)) };
}

/** A child's own dependencies are its edges not inherited from its epic. */
async function ownDependencies(tx: TaskStoreTx, task: Task): Promise<string[]> {
  const refs = await tx.dependencyRefs(task.id);
  return refs.filter((r) => !r.inherited).map((r) => r.id);
}

/** Rewires one task whose rows (and its dependencies', old and new) are locked already. */
async function rewireDependencies(
  tx: TaskStoreTx,
  locked: ReadonlyMap<string, Task>,
  task: Task,
  own: string[],
  parent: Task | null,
  now: Date,
  events: NewEvent[],
  via?: string,
): Promise<Task> {
  const p = task.project_id;
  const effective = effectiveDependencies(own, parent);
  if (via !== undefined) {
    // A child inheriting its epic's new dependencies: refuse a cycle through it.
    const cycle = findCycle(task.id, effective, await tx.reachableDependencies(p, effective));
    if (cycle !== null) throw cycleError(cycle);
  }
  const missing = effective.filter((dep) => !locked.has(dep));
  if (missing.length > 0) throw dependencyNotFound(missing);
  const deps = effective.map((dep) => locked.get(dep)!);
  // Old and new dependencies change revision: a completion of one of them that read the edges
  // before this commit decides again, instead of releasing this task on an edge that is gone.
  await tx.addWeight(p, [...new Set([...task.depends_on, ...effective])], 0);
  await tx.replaceDependencies(task.id, effective.map((dep) => ({ id: dep, inherited: !own.includes(dep) })));
  const decision = decideDependencies(task, deps, now, null, via);
  events.push(...decision.events);
  return decision.task;
}

/** One task.updated event for the updated task, listing every changed field. */
function mergeUpdates(taskId: string, events: NewEvent[]): NewEvent[] {
  const own = events.filter((e) => e.type === 'task.updated' && e.task_id === taskId);
  if (own.length < 2) return events;
  const payload = own.reduce<Record<string, unknown>>(
    (acc, e) => ({ ...acc, ...e.payload, changed: [...(acc.changed as string[]), ...(e.payload.changed as string[])] }),
    { changed: [] },
  );
  const merged: NewEvent = { ...own[0]!, payload };
  return [merged, ...events.filter((e) => !own.includes(e))];
}
