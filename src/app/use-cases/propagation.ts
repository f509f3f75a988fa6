import type { NewEvent } from '../../domain/events.js';
import { epicComplete, propagateFailure } from '../../domain/graph.js';
import { decideEpicCompletion } from '../../domain/deciders.js';
import type { Escalation } from '../../domain/escalation.js';
import type { FailurePolicy, Task } from '../../domain/task.js';
import type { TaskStoreTx } from '../../ports/task-store.js';
import type { IdGenerator } from '../../ports/id-generator.js';

/** Opens an escalation raised by policy (not by an agent) for a person to look at, with its event. */
export async function raisePolicyEscalation(
  ids: IdGenerator,
  tx: TaskStoreTx,
  task: Pick<Task, 'id' | 'project_id'>,
  message: string,
  now: Date,
  events: NewEvent[],
): Promise<Escalation> {
  const escalation: Escalation = {
    id: ids.escalationId(),
    project_id: task.project_id,
    task_id: task.id,
    message,
    source: 'policy',
    raised_by: null,
    status: 'open',
    resolution: null,
    created_at: now.toISOString(),
    resolved_at: null,
  };
  await tx.insertEscalation(escalation);
  events.push({ type: 'escalation.raised', task_id: task.id, agent_id: null, payload: { escalation_id: escalation.id, message, source: 'policy' } });
  return escalation;
}

/** A task finished: release its dependents in one statement and record who became ready. */
export async function releaseDependents(tx: TaskStoreTx, projectId: string, taskId: string, now: Date, events: NewEvent[]): Promise<string[]> {
  const unblocked = await tx.releaseDependents(projectId, taskId, now);
  for (const id of unblocked) events.push({ type: 'task.unblocked', task_id: id, agent_id: null, payload: { by: taskId } });
  return unblocked;
}

/** Completes the chain of epics above a finished task whose children are now all done. */
export async function completeEpics(
  tx: TaskStoreTx,
  projectId: string,
  parentId: string | null,
  now: Date,
  events: NewEvent[],
  unblocked: string[],
): Promise<string[]> {
  const completed: string[] = [];
  // Locking the epic first serialises its last children's completions, so
  // exactly one of them sees every sibling done.
  for (let id = parentId; id !== null; ) {
    const epic = await tx.lockTask(projectId, id);
    if (epic === null || epic.status !== 'epic') break;
    if (!epicComplete(await tx.children(projectId, id))) break;
    const decision = decideEpicCompletion(epic, now);
    await tx.updateTask(decision.task);
    events.push(...decision.events);
    completed.push(epic.id);
    unblocked.push(...(await releaseDependents(tx, projectId, epic.id, now, events)));
    id = epic.parent_id;
  }
  return completed;
}

/**
 * The dependents of tasks that failed for good or were cancelled follow the
 * project's policy: cancelled with them, or kept blocked with a reason and an
 * escalation for a human.
 */
export async function propagateFailureToDependents(
  tx: TaskStoreTx,
  projectId: string,
  failedId: string,
  policy: FailurePolicy,
  now: Date,
  ids: IdGenerator,
  events: NewEvent[],
  escalate = true,
): Promise<{ cancelled: string[]; blocked: string[]; escalation: Escalation | null }> {
  const at = now.toISOString();
  if (policy === 'cancel') {
    const open = await tx.openDescendants(projectId, [failedId]);
    const cancelled = await tx.cancelTasks(projectId, open, `dependency ${failedId} did not complete`, now);
    for (const id of cancelled) events.push({ type: 'task.cancelled', task_id: id, agent_id: null, payload: { reason: 'dependency_failed', by: failedId } });
    return { cancelled, blocked: [], escalation: null };
  }
  const dependents = await tx.dependents(projectId, [failedId]);
  const { block } = propagateFailure('block', dependents);
  for (const t of dependents.filter((d) => block.includes(d.id))) {
    await tx.updateTask({ ...t, status: 'blocked', blocked_reason: 'dependency_failed', updated_at: at });
    events.push({ type: 'task.blocked', task_id: t.id, agent_id: null, payload: { reason: 'dependency_failed', by: failedId } });
  }
  if (block.length === 0 || !escalate) return { cancelled: [], blocked: block, escalation: null };
  if (block.length === 0) return { cancelled: [], blocked: [], escalation: null };
  const escalation = await raisePolicyEscalation(
    ids,
    tx,
    { id: failedId, project_id: projectId },
    `${failedId} will not complete; ${block.length} dependent task(s) are blocked on it: ${block.slice(0, 10).join(', ')}${block.length > 10 ? ', ...' : ''}`,
    now,
    events,
  );
  return { cancelled: [], blocked: block, escalation };
}
