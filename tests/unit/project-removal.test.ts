import { describe, expect, it } from 'vitest';
import type { Escalation } from '../../src/domain/escalation.js';
import { decideProjectRemoval, REMOVED_RESOLUTION } from '../../src/domain/project-removal.js';

const now = new Date('2026-01-02T03:04:05.000Z');
const project = { id: 'prj-1', name: 'demo', created_at: '2026-01-01T00:00:00.000Z' };
const escalation = (id: string, task_id: string): Escalation => ({
  id, project_id: 'prj-1', task_id, message: 'help', source: 'agent', raised_by: 'ag-1', status: 'open', resolution: null, created_at: '2026-01-01T00:00:00.000Z', resolved_at: null,
});

describe('decideProjectRemoval', () => {
  it('resolves every open escalation as removed, and records a cancel per task, a resolve per escalation and one project.removed last', () => {
    const d = decideProjectRemoval(project, ['loom-a', 'loom-b'], [escalation('esc-1', 'loom-b')], 'operator', now);
    expect(d.escalations).toEqual([{ ...escalation('esc-1', 'loom-b'), status: 'resolved', resolution: REMOVED_RESOLUTION, resolved_at: now.toISOString() }]);
    expect(d.events.map((e) => [e.type, e.task_id])).toEqual([
      ['task.cancelled', 'loom-a'],
      ['task.cancelled', 'loom-b'],
      ['escalation.resolved', 'loom-b'],
      ['project.removed', null],
    ]);
    expect(d.events.at(-1)).toMatchObject({ agent_id: 'operator', payload: { cancelled: 2, escalations_resolved: 1 } });
  });

  it('an empty project is removed with just the project.removed event', () => {
    expect(decideProjectRemoval(project, [], [], null, now).events).toEqual([
      { type: 'project.removed', task_id: null, agent_id: null, payload: { cancelled: 0, escalations_resolved: 0 } },
    ]);
  });

  it('refuses a project already removed with PROJECT_REMOVED', () => {
    expect(() => decideProjectRemoval({ ...project, removed_at: now.toISOString() }, [], [], null, now)).toThrow(expect.objectContaining({ code: 'PROJECT_REMOVED' }));
  });
});
