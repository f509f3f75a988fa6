import { describe, expect, it } from 'vitest';
import { decideCreate } from '../../src/domain/deciders.js';
import { decideHold, decideResume } from '../../src/domain/hold.js';
import type { Task } from '../../src/domain/task.js';
import { taskFixture } from '../support/task-fixture.js';

const HELD = '2025-01-01T11:00:00.000Z';
const t = (over: Partial<Task>): Task => taskFixture(over);

describe('decideHold', () => {
  it('holds the root and every open task below it, not finished or already held ones', () => {
    const epic = t({ id: 'loom-000000e1', status: 'epic' });
    const below = [
      t({ id: 'loom-00000001', status: 'pending' }),
      t({ id: 'loom-00000002', status: 'claimed' }),
      t({ id: 'loom-00000003', status: 'done' }),
      t({ id: 'loom-00000004', status: 'cancelled' }),
      t({ id: 'loom-00000005', status: 'blocked', held_at: HELD }),
      t({ id: 'loom-00000006', status: 'failed' }),
    ];
    const d = decideHold(epic, below, 'API review', 'op');
    expect(d.held).toEqual(['loom-000000e1', 'loom-00000001', 'loom-00000002', 'loom-00000006']);
    expect(d.events.map((e) => [e.type, e.task_id, e.payload])).toEqual([
      ['task.held', 'loom-000000e1', { reason: 'API review' }],
      ['task.held', 'loom-00000001', { reason: 'API review', by: 'loom-000000e1' }],
      ['task.held', 'loom-00000002', { reason: 'API review', by: 'loom-000000e1' }],
      ['task.held', 'loom-00000006', { reason: 'API review', by: 'loom-000000e1' }],
    ]);
  });

  it('holding what is held already changes nothing and records nothing', () => {
    expect(decideHold(t({ held_at: HELD }), [], null, null)).toEqual({ held: [], events: [] });
  });

  it.each(['done', 'cancelled'] as const)('refuses a %s task with INVALID_TRANSITION and a hint', (status) => {
    let error: unknown;
    try {
      decideHold(t({ status }), [], null, null);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'INVALID_TRANSITION', message: `cannot hold task loom-0000000a: it is ${status}`, hint: expect.any(String) });
  });
});

describe('decideResume restores the status each task has now', () => {
  it.each<[string, Partial<Task>, Task['status'], Task['blocked_reason'], string[]]>([
    ['blocked on a dependency that finished during the hold -> pending', { status: 'blocked', blocked_reason: 'dependencies', unmet_deps: 0 }, 'pending', null, ['task.resumed', 'task.unblocked']],
    ['pending with a dependency still open -> blocked', { status: 'pending', unmet_deps: 1 }, 'blocked', 'dependencies', ['task.resumed', 'task.blocked']],
    ['pending with nothing unmet stays pending', { status: 'pending' }, 'pending', null, ['task.resumed']],
    ['blocked on dependencies still open stays blocked', { status: 'blocked', blocked_reason: 'dependencies', unmet_deps: 2 }, 'blocked', 'dependencies', ['task.resumed']],
    ['blocked on a human stays so', { status: 'blocked', blocked_reason: 'escalation' }, 'blocked', 'escalation', ['task.resumed']],
    ['claimed (its lease still running) stays claimed', { status: 'claimed' }, 'claimed', null, ['task.resumed']],
    ['done during the hold stays done', { status: 'done' }, 'done', null, ['task.resumed']],
    ['cancelled during the hold stays cancelled', { status: 'cancelled' }, 'cancelled', null, ['task.resumed']],
    ['dead-lettered during the hold stays failed', { status: 'failed' }, 'failed', null, ['task.resumed']],
  ])('%s', (_name, over, status, blocked_reason, types) => {
    const d = decideResume(t({ ...over, held_at: HELD }), [], 'op');
    expect(d.resumed).toEqual([{ id: 'loom-0000000a', status, blocked_reason }]);
    expect(d.events.map((e) => e.type)).toEqual(types);
    expect(d.events[0]!.payload).toEqual({ status });
  });

  it('resumes only the held tasks of an epic', () => {
    const d = decideResume(t({ id: 'loom-000000e1', status: 'epic', held_at: HELD }), [t({ id: 'loom-00000001', held_at: HELD }), t({ id: 'loom-00000002' })], null);
    expect(d.resumed.map((r) => r.id)).toEqual(['loom-000000e1', 'loom-00000001']);
  });

  it('refuses when nothing is held', () => {
    expect(() => decideResume(t({}), [], null)).toThrowError(expect.objectContaining({ code: 'INVALID_TRANSITION', message: 'cannot resume task loom-0000000a: it is not held' }));
  });
});

describe('a child created under a held epic', () => {
  it('is held with it', () => {
    const epic = t({ id: 'loom-000000e1', status: 'epic', held_at: HELD, hold_reason: 'review' });
    const now = new Date('2025-01-01T12:00:00.000Z');
    const d = decideCreate({ id: 'loom-00000009', project_id: 'proj-1', title: 'x', origin: { kind: 't', id: 't' }, parent_id: epic.id }, [], epic, now, { max_attempts: 3 });
    expect(d.task).toMatchObject({ held_at: now.toISOString(), hold_reason: 'review' });
    expect(d.events[0]!.payload).toMatchObject({ held: true });
  });
});
