import { decideCancel, decideEscalate } from '../../domain/deciders.js';
import { taskNotFound } from '../../domain/errors.js';
import type { Escalation } from '../../domain/escalation.js';
import type { NewEvent } from '../../domain/events.js';
import type { Task } from '../../domain/task.js';
import type { UseCaseDeps } from './deps.js';
import { completeEpics, propagateFailureToDependents } from './propagation.js';
import { assertProjectOpen } from './remove-project.js';

/** Escalate and cancel: a person (or an agent asking for one) steps in. */

export async function escalateTask(
  d: UseCaseDeps,
  input: { project_id: string; task_id: string; message: string; agent_id?: string },
): Promise<{ task: Task; escalation: Escalation }> {
  const now = d.clock.now();
  const r = await d.store.transaction(async (tx) => {
    await assertProjectOpen(tx, input.project_id);
    const task = await tx.lockTask(input.project_id, input.task_id);
    if (task === null) throw taskNotFound(input.task_id);
    const decision = decideEscalate(task, input.message, d.ids.escalationId(), input.agent_id ?? null, 'agent', now);
    const saved = await tx.updateTask(decision.task);
    await tx.insertEscalation(decision.escalation);
    return { task: saved, escalation: decision.escalation, events: await tx.appendEvents(input.project_id, decision.events, now) };
  });
  d.bus.publish(r.events);
  return { task: r.task, escalation: r.escalation };
}

export async function cancelTask(
  d: UseCaseDeps,
  input: { project_id: string; task_id: string; reason?: string; agent_id?: string },
): Promise<{ task: Task; cancelled: string[] }> {
  const p = input.project_id;
  const now = d.clock.now();
  const reason = input.reason ?? 'cancelled by an operator';
  const r = await d.store.transaction(async (tx) => {
    await tx.lockGraph(p); // cancelling walks children, dependents and ancestors: graph lock first
    await assertProjectOpen(tx, p);
    const task = await tx.lockTask(p, input.task_id);
    if (task === null) throw taskNotFound(input.task_id);
    const decision = decideCancel(task, reason, now);
    const saved = await tx.updateTask(decision.task);
    const events: NewEvent[] = decision.events.map((e) => ({ ...e, agent_id: input.agent_id ?? null }));
    const cancelled = [task.id];
    // Cancelling an epic cancels its open children (and, through policy, what waits on them).
    const roots = [task.id];
    if (task.status === 'epic') {
      // Every open task below it, through epics nested in it too.
      const open: string[] = [];
      for (let queue = [task.id], parent = queue.shift(); parent !== undefined; parent = queue.shift()) {
        for (const c of await tx.children(p, parent)) {
          if (c.status !== 'pending' && c.status !== 'blocked' && c.status !== 'claimed' && c.status !== 'epic') continue;
          open.push(c.id);
          if (c.status === 'epic') queue.push(c.id);
        }
      }
      const ids = await tx.cancelTasks(p, open, `epic ${task.id} was cancelled`, now);
      for (const id of ids) events.push({ type: 'task.cancelled', task_id: id, agent_id: input.agent_id ?? null, payload: { reason: 'epic_cancelled', by: task.id } });
      cancelled.push(...ids);
      roots.push(...ids);
    }
    for (const root of roots) {
      const propagation = await propagateFailureToDependents(tx, p, root, d.settings.failure_policy, now, d.ids, events);
      cancelled.push(...propagation.cancelled);
    }
    await tx.recomputeWeights(p, [...task.depends_on, ...cancelled]);
    // A cancelled child may have been the last open one of its epic.
    await completeEpics(tx, p, [task.parent_id], now, events, []);
    return { task: saved, cancelled: [...new Set(cancelled)], events: await tx.appendEvents(p, events, now) };
  });
  d.bus.publish(r.events);
  return { task: r.task, cancelled: r.cancelled };
}
