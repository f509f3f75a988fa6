import type { Escalation } from './escalation.js';
import { projectRemoved } from './errors.js';
import type { NewEvent } from './events.js';
import type { Project } from './task.js';

/** The resolution every escalation of a removed project is settled with. */
export const REMOVED_RESOLUTION = 'project_removed: the project was removed';

export interface RemovalDecision {
  escalations: Escalation[];
  events: NewEvent[];
}

/**
 * `loom project remove`: every open task is cancelled (the store cancels the ids, the events
 * are decided here), every open escalation resolved, and one project.removed event says how
 * much. Removing a removed project is a write to it: PROJECT_REMOVED.
 */
export function decideProjectRemoval(
  project: Project,
  cancelled: readonly string[],
  escalations: readonly Escalation[],
  by: string | null,
  now: Date,
): RemovalDecision {
  if (project.removed_at !== undefined && project.removed_at !== null) throw projectRemoved(project.id, project.removed_at);
  const at = now.toISOString();
  const settled = escalations.map((e): Escalation => ({ ...e, status: 'resolved', resolution: REMOVED_RESOLUTION, resolved_at: at }));
  const events: NewEvent[] = [
    ...cancelled.map((id): NewEvent => ({ type: 'task.cancelled', task_id: id, agent_id: by, payload: { reason: 'project_removed' } })),
    ...settled.map(
      (e): NewEvent => ({ type: 'escalation.resolved', task_id: e.task_id, agent_id: by, payload: { escalation_id: e.id, action: 'project_removed', note: 'the project was removed' } }),
    ),
    { type: 'project.removed', task_id: null, agent_id: by, payload: { cancelled: cancelled.length, escalations_resolved: settled.length } },
  ];
  return { escalations: settled, events };
}
