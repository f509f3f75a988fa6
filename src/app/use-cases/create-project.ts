import type { Project } from '../../domain/task.js';
import type { UseCaseDeps } from './deps.js';

export async function createProject(d: UseCaseDeps, input: { name: string; id?: string }): Promise<Project> {
  const now = d.clock.now();
  const project: Project = { id: input.id ?? d.ids.projectId(), name: input.name, created_at: now.toISOString() };
  const events = await d.store.transaction(async (tx) => {
    const existing = await tx.getProject(project.id);
    if (existing !== null) return { project: existing, events: [] };
    await tx.insertProject(project);
    return { project, events: await tx.appendEvents(project.id, [{ type: 'project.created', task_id: null, agent_id: null, payload: { name: project.name } }], now) };
  });
  d.bus.publish(events.events);
  return events.project;
}
