import { decideCreate } from '../../domain/deciders.js';
import { dependencyNotFound, LoomError } from '../../domain/errors.js';
import { cycleError, effectiveDependencies, findCycle } from '../../domain/graph.js';
import type { Task } from '../../domain/task.js';
import type { CreateTaskInput } from '../../ports/loom-api.js';
import type { UseCaseDeps } from './deps.js';

const ID_ATTEMPTS = 8;

export async function createTask(d: UseCaseDeps, input: CreateTaskInput): Promise<Task> {
  const p = input.project_id;
  const own = [...new Set(input.depends_on ?? [])];
  for (let attempt = 0; attempt < ID_ATTEMPTS; attempt++) {
    const id = d.ids.taskId();
    const now = d.clock.now();
    const result = await d.store.transaction(async (tx) => {
      const parent = input.parent_id === undefined ? null : ((await tx.lockTasks(p, [input.parent_id]))[0] ?? null);
      const effective = effectiveDependencies(own, parent);
      // Lock every ancestor in id order: their weights change, and a dependency
      // completing concurrently must either be seen done or see this new edge.
      const ancestors = await tx.lockAncestors(p, effective);
      const deps = await tx.lockTasks(p, effective);
      const missing = effective.filter((dep) => !deps.some((t) => t.id === dep));
      if (missing.length > 0) throw dependencyNotFound(missing);
      if (parent !== null && effective.length > 0) {
        // A new child makes its epic wait for it: refuse a dependency that waits for the epic.
        const waits = await tx.reachableDependencies(p, effective);
        waits.set(parent.id, [...(waits.get(parent.id) ?? []), id]);
        const cycle = findCycle(id, effective, waits);
        if (cycle !== null) throw cycleError(cycle);
      }
      const decision = decideCreate({ ...input, id }, deps, parent, now, { max_attempts: d.settings.max_attempts });
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
