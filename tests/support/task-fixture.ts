import type { Task } from '../../src/domain/task.js';

/**
 * A complete, plausible pending task for tests that build rows by hand; each
 * test file lays its own defaults over it. One place to grow when Task does.
 */
export function taskFixture(over: Partial<Task> = {}): Task {
  const at = '2025-01-01T10:00:00.000Z';
  return {
    id: 'loom-0000000a',
    project_id: 'proj-1',
    title: 'write the parser',
    status: 'pending',
    priority: 'p1',
    parent_id: null,
    depends_on: [],
    context: {},
    output: null,
    done_when: null,
    labels: [],
    origin: { kind: 'test', id: 't' },
    assignee: null,
    attempts: 0,
    max_attempts: 3,
    run_after: null,
    lease_token: null,
    lease_expires_at: null,
    blocked_reason: null,
    failure_reason: null,
    unmet_deps: 0,
    weight: 0,
    has_dependents: false,
    expiry_count: 0,
    progress: null,
    progress_at: null,
    held_at: null,
    hold_reason: null,
    held_by_budget: null,
    revision: 1,
    created_at: at,
    updated_at: at,
    ...over,
  };
}
