import { LoomError, projectRemoved } from '../../domain/errors.js';
import { decideProjectRemoval } from '../../domain/project-removal.js';
import type { Project } from '../../domain/task.js';
import type { TaskStoreTx } from '../../ports/task-store.js';
import type { UseCaseDeps } from './deps.js';

/**
 * Refuses a write to a removed project, inside the writer's own transaction. Called by the
 * writes that would otherwise succeed on a removed project's rows (create, update, cancel,
 * escalate, hold, resume, redrive, message, workflow run, decompose); after any graph lock.
 * The lease calls (claim, heartbeat, done, fail, release) do not pay for it: the removal ended
 * every lease and left nothing to claim, and LoomService names the cause (see there).
 */
/** Refuses a write to a removed project; says whether its own budget is exceeded (new tasks are then born held). */
export async function assertProjectOpen(tx: TaskStoreTx, projectId: string): Promise<{ budget_stopped: boolean }> {
  const state = await tx.projectWriteState(projectId);
  if (state.removed_at !== null) throw projectRemoved(projectId, state.removed_at);
  return { budget_stopped: state.budget_stopped_at !== null };
}

export async function removeProject(
  d: UseCaseDeps,
  input: { project_id: string; agent_id?: string },
): Promise<{ project: Project; cancelled: string[]; escalations_resolved: string[] }> {
  const p = input.project_id;
  const now = d.clock.now();
  const r = await d.store.transaction(async (tx) => {
    // The graph lock first, like every graph-wide writer; then the project row, which waits out
    // every write in flight that checked it (or inserted under its foreign key).
    await tx.lockGraph(p);
    const project = await tx.lockProject(p);
    if (project === null) throw new LoomError('PROJECT_NOT_FOUND', `no project ${p} in this database`, { details: { project_id: p } });
    if (project.removed_at !== undefined && project.removed_at !== null) throw projectRemoved(p, project.removed_at);
    await tx.markProjectRemoved(p, now);
    // Every open task, epics included: nothing is left to propagate to or complete.
    const cancelled = await tx.cancelTasks(p, await tx.openTaskIds(p), 'the project was removed', now);
    const decision = decideProjectRemoval(project, cancelled, await tx.openEscalations(p), input.agent_id ?? null, now);
    for (const e of decision.escalations) await tx.updateEscalation(e);
    return {
      project: { ...project, removed_at: now.toISOString() },
      cancelled,
      escalations_resolved: decision.escalations.map((e) => e.id),
      events: await tx.appendEvents(p, decision.events, now),
    };
  });
  d.bus.publish(r.events);
  return { project: r.project, cancelled: r.cancelled, escalations_resolved: r.escalations_resolved };
}
