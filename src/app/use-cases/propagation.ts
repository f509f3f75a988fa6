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

/**
 * A task finished: release its dependents in one statement and record who
 * became ready. Returns those, and the epics among the dependents that now
 * wait for nothing (pass them to `completeEpics`).
 */
export async function releaseDependents(
  tx: TaskStoreTx,
  projectId: string,
  taskId: string,
  now: Date,
  events: NewEvent[],
): Promise<{ unblocked: string[]; epics: string[] }> {
  const released = await tx.releaseDependents(projectId, taskId, now);
  for (const id of released.unblocked) events.push({ type: 'task.unblocked', task_id: id, agent_id: null, payload: { by: taskId } });
  return released;
}

/**
 * Completes the epics among `epicIds` whose children are all finished (at
 * least one done) and whose own dependencies are all done, and then, in
 * turn, the epics above them and the epics that waited on them. Each epic is
 * row-locked before its children are read, so of two last children finishing
 * at once exactly one sees every sibling done.
 */
export async function completeEpics(
  tx: TaskStoreTx,
  projectId: string,
  epicIds: ReadonlyArray<string | null>,
  now: Date,
  events: NewEvent[],
  unblocked: string[],
): Promise<string[]> {
  const completed: string[] = [];
  const queue = epicIds.filter((id): id is string => id !== null);
  // Looking at an epic twice is harmless: a completed one is done, and skipped.
  for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
    const epic = await tx.lockTask(projectId, id);
    if (epic === null || epic.status !== 'epic' || epic.unmet_deps > 0) continue;
    if (!epicComplete(await tx.children(projectId, id))) continue;
    const decision = decideEpicCompletion(epic, now);
    await tx.updateTask(decision.task);
    events.push(...decision.events);
    const run = epic.context.workflow_run;
    if (typeof run === 'number') {
      events.push({ type: 'workflow.completed', task_id: epic.id, agent_id: null, payload: { run_id: run, workflow: epic.context.workflow ?? null, epic_id: epic.id } });
    }
    completed.push(epic.id);
    const released = await releaseDependents(tx, projectId, epic.id, now, events);
    unblocked.push(...released.unblocked);
    queue.push(...released.epics);
    if (epic.parent_id !== null) queue.push(epic.parent_id);
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
