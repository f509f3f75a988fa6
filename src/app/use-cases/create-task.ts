import { decideCreate } from '../../domain/deciders.js';
import { dependencyNotFound, LoomError } from '../../domain/errors.js';
import { cycleError, effectiveDependencies, findCycle, waitsForOrder } from '../../domain/graph.js';
import type { Task } from '../../domain/task.js';
import type { CreateTaskInput } from '../../ports/loom-api.js';
import type { UseCaseDeps } from './deps.js';
import { assertProjectOpen } from './remove-project.js';

const ID_ATTEMPTS = 8;

export async function createTask(d: UseCaseDeps, input: CreateTaskInput): Promise<Task> {
  const p = input.project_id;
  const own = [...new Set(input.depends_on ?? [])];
  const linked = input.parent_id !== undefined || own.length > 0;
  for (let attempt = 0; attempt < ID_ATTEMPTS; attempt++) {
    const id = d.ids.taskId();
    const now = d.clock.now();
    const result = await d.store.transaction(async (tx) => {
      let parent: Task | null = null;
      let deps: Task[] = [];
      let ancestors: string[] = [];
      if (linked) {
        // Edges of this project change only under its graph lock: read the graph, then lock
        // what this task will wait for (what they wait for first), and its epic last.
        await tx.lockGraph(p);
        const parentId = input.parent_id;
        const parentRead = parentId === undefined ? null : ((await tx.getTasks(p, [parentId]))[0] ?? null);
        const effective = effectiveDependencies(own, parentRead);
        const waits = await tx.reachableDependencies(p, effective);
        if (parentRead !== null && effective.length > 0) {
          // A new child makes its epic wait for it: refuse a dependency that waits for the epic.
          const withChild = new Map(waits);
          withChild.set(parentRead.id, [...(waits.get(parentRead.id) ?? []), id]);
          const cycle = findCycle(id, effective, withChild);
          if (cycle !== null) throw cycleError(cycle);
        }
        const order = waitsForOrder(effective, waits);
        if (parentId !== undefined && !order.includes(parentId)) order.push(parentId);
        const locked = await tx.lockInOrder(p, order);
        const missing = effective.filter((dep) => !locked.has(dep));
        if (missing.length > 0) throw dependencyNotFound(missing);
        deps = effective.map((dep) => locked.get(dep)!);
        parent = parentId === undefined ? null : (locked.get(parentId) ?? null);
        // Their critical-path weights grow: every task this one waits for through dependencies (not through children).
        ancestors = await tx.lockAncestors(p, effective);
      }
      const open = await assertProjectOpen(tx, p);
      const decision = decideCreate({ ...input, id }, deps, parent, now, { max_attempts: d.settings.max_attempts, budget_stopped: open.budget_stopped });
      if (!(await tx.insertTask(decision.task))) return null; // id taken: try another
      await tx.replaceDependencies(
        id,
        decision.task.depends_on.map((dep) => ({ id: dep, inherited: !own.includes(dep) })),
      );
      // An epic is a container, not work: it adds no weight, but still touches its ancestors' revisions.
      await tx.addWeight(p, ancestors, decision.task.status === 'epic' ? 0 : 1);
      const events = await tx.appendEvents(p, decision.events, now);
      return { task: decision.task, events };
    });
    if (result !== null) {
      d.bus.publish(result.events);
      return result.task;
    }
  }
  throw new LoomError('INTERNAL', 'could not allocate a task id', { hint: 'try again' });
}
