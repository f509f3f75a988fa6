import { decideDependencies, decideUpdate } from '../../domain/deciders.js';
import { dependencyNotFound, taskNotFound } from '../../domain/errors.js';
import type { NewEvent } from '../../domain/events.js';
import { cycleError, effectiveDependencies, findCycle } from '../../domain/graph.js';
import type { Task } from '../../domain/task.js';
import type { TaskStoreTx } from '../../ports/task-store.js';
import type { UpdateTaskInput } from '../../ports/loom-api.js';
import type { UseCaseDeps } from './deps.js';
import { publicView } from './read-models.js';

export async function updateTask(d: UseCaseDeps, input: UpdateTaskInput): Promise<Task> {
  const p = input.project_id;
  const now = d.clock.now();
  const { task, events } = await d.store.transaction(async (tx) => {
    const current = await tx.lockTask(p, input.task_id);
    if (current === null) throw taskNotFound(input.task_id);
    const { title, context, priority, done_when, max_attempts } = input;
    const patch = Object.fromEntries(Object.entries({ title, context, priority, done_when, max_attempts }).filter(([, v]) => v !== undefined));
    const fields = decideUpdate(current, patch, now, null);
    const events: NewEvent[] = [...fields.events];
    let next = fields.task;
    if (input.depends_on !== undefined) {
      await tx.lockGraph(p); // edges of existing tasks change: serialise cycle checks per project
      const oldDeps = current.depends_on;
      next = await rewireDependencies(tx, next, [...new Set(input.depends_on)], now, events);
      if (current.status === 'epic') {
        for (const child of await tx.children(p, current.id)) {
          if (child.status === 'done' || child.status === 'cancelled') continue;
          const own = await ownDependencies(tx, child);
          await tx.updateTask(await rewireDependencies(tx, child, own, now, events, next));
        }
      }
      await tx.recomputeWeights(p, [...new Set([...oldDeps, ...next.depends_on])]);
    }
    const saved = await tx.updateTask(next);
    return { task: saved, events: await tx.appendEvents(p, mergeUpdates(current.id, events), now) };
  });
  d.bus.publish(events);
  return publicView(task);
}

/** A child's own dependencies are its edges not inherited from its epic. */
async function ownDependencies(tx: TaskStoreTx, task: Task): Promise<string[]> {
  const refs = await tx.dependencyRefs(task.id);
  return refs.filter((r) => !r.inherited).map((r) => r.id);
}

async function rewireDependencies(
  tx: TaskStoreTx,
  task: Task,
  own: string[],
  now: Date,
  events: NewEvent[],
  parentOverride?: Task,
): Promise<Task> {
  const p = task.project_id;
  const parent = parentOverride ?? (task.parent_id === null ? null : ((await tx.lockTasks(p, [task.parent_id]))[0] ?? null));
  const effective = effectiveDependencies(own, parent);
  const cycle = findCycle(task.id, effective, await tx.reachableDependencies(p, effective));
  if (cycle !== null) throw cycleError(cycle);
  const deps = await tx.lockTasks(p, effective);
  const missing = effective.filter((dep) => !deps.some((t) => t.id === dep));
  if (missing.length > 0) throw dependencyNotFound(missing);
  await tx.addWeight(p, effective, 0); // new dependents: optimistic writers of these tasks decide again
  await tx.replaceDependencies(task.id, effective.map((dep) => ({ id: dep, inherited: !own.includes(dep) })));
  const decision = decideDependencies(task, deps, now, null);
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
