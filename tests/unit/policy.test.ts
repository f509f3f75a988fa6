import { describe, expect, it } from 'vitest';
import { taskFixture } from '../support/task-fixture.js';
import { decideLeaseExpiry, decideRelease } from '../../src/domain/deciders.js';
import type { Escalation } from '../../src/domain/escalation.js';
import {
  agentStatus,
  bouncedTooOften,
  decideDoneByHand,
  decideEscalationResolved,
  decideRedrive,
  decideUnblock,
  DEFAULT_ORCHESTRATION,
  isStuck,
  type OrchestrationPolicy,
} from '../../src/domain/policy.js';
import type { RetryPolicy } from '../../src/domain/retry.js';
import type { Task, TaskStatus } from '../../src/domain/task.js';

const NOW = new Date('2025-01-01T12:00:00.000Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
const ahead = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
const POLICY: OrchestrationPolicy = { stuck_after_ms: 60_000, max_lease_expiries: 3, agent_idle_after_ms: 5_000, agent_gone_after_ms: 60_000 };
const RETRY: RetryPolicy = { base_ms: 1_000, factor: 2, max_ms: 60_000 };
const HALF = () => 0.5;

function task(over: Partial<Task> = {}): Task {
  return taskFixture({
    project_id: 'p', title: 't', status: 'claimed', origin: { kind: 'test', id: 'x' }, assignee: 'ada', attempts: 1,
    lease_token: 'tok', lease_expires_at: ahead(60_000), progress_at: ago(0), revision: 4, created_at: ago(3_600_000), updated_at: ago(0),
    ...over,
  });
}

describe('isStuck', () => {
  it.each<[string, Partial<Task>, boolean]>([
    ['progress just now', { progress_at: ago(1_000) }, false],
    ['no progress for longer than the limit, lease alive', { progress_at: ago(61_000) }, true],
    ['exactly at the limit', { progress_at: ago(60_000) }, false],
    ['lease already expired: the sweep requeues it instead', { progress_at: ago(120_000), lease_expires_at: ago(1) }, false],
    ['not claimed', { status: 'pending', progress_at: ago(120_000) }, false],
    ['never reported progress (no progress_at)', { progress_at: null }, false],
  ])('%s -> %s', (_label, over, expected) => {
    expect(isStuck(task(over), NOW, POLICY)).toBe(expected);
  });
});

describe('bouncedTooOften', () => {
  it.each([
    [2, false],
    [3, true],
    [4, true],
  ])('%i expiries with a limit of 3 -> %s', (n, expected) => {
    expect(bouncedTooOften(n, POLICY)).toBe(expected);
  });
});

describe('agentStatus', () => {
  it.each<[string, number, number, string]>([
    ['seen just now, no claims', 1_000, 0, 'active'],
    ['quiet, no claims', 10_000, 0, 'idle'],
    ['quiet but holding a claim', 10_000, 1, 'active'],
    ['silent past the gone limit, even with claims', 61_000, 2, 'gone'],
  ])('%s -> %s', (_label, silentMs, claims, expected) => {
    expect(agentStatus(ago(silentMs), claims, NOW, POLICY)).toBe(expected);
  });
  it('uses sensible defaults', () => {
    expect(agentStatus(ago(2 * 3600_000), 0, NOW, DEFAULT_ORCHESTRATION)).toBe('gone');
  });
});

describe('decideLeaseExpiry', () => {
  it('does nothing while the lease is alive', () => {
    expect(decideLeaseExpiry(task(), NOW, RETRY, HALF, 3)).toBeNull();
  });
  it('requeues with backoff, counting the expiry', () => {
    const d = decideLeaseExpiry(task({ lease_expires_at: ago(1) }), NOW, RETRY, HALF, 3)!;
    expect(d.outcome).toBe('retrying');
    expect(d.task).toMatchObject({ status: 'pending', assignee: null, lease_token: null, lease_expires_at: null, expiry_count: 1 });
    expect(Date.parse(d.task.run_after!)).toBeGreaterThan(NOW.getTime());
    expect(d.events.map((e) => e.type)).toEqual(['task.lease_expired', 'task.retrying']);
  });
  it('requeues as blocked when a dependency appeared while it ran', () => {
    const d = decideLeaseExpiry(task({ lease_expires_at: ago(1), unmet_deps: 1 }), NOW, RETRY, HALF, 3)!;
    expect(d.task).toMatchObject({ status: 'blocked', blocked_reason: 'dependencies' });
  });
  it('escalates a task that keeps bouncing instead of requeueing it again', () => {
    const d = decideLeaseExpiry(task({ lease_expires_at: ago(1), expiry_count: 2 }), NOW, RETRY, HALF, 3)!;
    expect(d.outcome).toBe('escalated');
    expect(d.task).toMatchObject({ status: 'blocked', blocked_reason: 'escalation', expiry_count: 3, run_after: null });
  });
  it('dead-letters when attempts are used up, bouncing or not', () => {
    const d = decideLeaseExpiry(task({ lease_expires_at: ago(1), attempts: 3, expiry_count: 2 }), NOW, RETRY, HALF, 3)!;
    expect(d.outcome).toBe('dead_lettered');
    expect(d.task.status).toBe('failed');
    expect(d.events.map((e) => e.type)).toEqual(['task.lease_expired', 'task.dead_lettered']);
  });
});

describe('decideRelease', () => {
  it('gives the task back at once without using the attempt', () => {
    const d = decideRelease(task({ attempts: 2 }), 'tok', 'ada', 'context lost', NOW);
    expect(d.task).toMatchObject({ status: 'pending', attempts: 1, assignee: null, lease_token: null, run_after: null });
    expect(d.events).toEqual([{ type: 'task.released', task_id: 'loom-0000000a', agent_id: 'ada', payload: { reason: 'context lost' } }]);
  });
  it.each([
    ['a wrong token', task(), 'other', 'LEASE_LOST'],
    ['an expired lease', task({ lease_expires_at: ago(1) }), 'tok', 'LEASE_LOST'],
    ['a task never claimed', task({ status: 'pending', attempts: 0, lease_token: null, lease_expires_at: null }), 'tok', 'NOT_CLAIMED'],
  ] as const)('refuses %s', (_label, t, token, code) => {
    expect(() => decideRelease(t, token, 'ada', undefined, NOW)).toThrowError(expect.objectContaining({ code }));
  });
});

describe('decideRedrive', () => {
  it.each<[string, Partial<Task>, TaskStatus]>([
    ['dependencies done', { unmet_deps: 0 }, 'pending'],
    ['a dependency still open', { unmet_deps: 1 }, 'blocked'],
  ])('a dead letter with %s goes back %s, attempts reset', (_label, over, status) => {
    const d = decideRedrive(task({ status: 'failed', attempts: 3, expiry_count: 2, failure_reason: 'boom', ...over }), NOW, 'ops');
    expect(d.task).toMatchObject({ status, attempts: 0, expiry_count: 0, failure_reason: null, run_after: null });
    expect(d.events[0]).toMatchObject({ type: 'task.redriven', agent_id: 'ops', payload: { previous_failure: 'boom', attempts: 3 } });
  });
  it.each<TaskStatus>(['pending', 'claimed', 'done', 'cancelled', 'blocked', 'epic'])('refuses a %s task', (status) => {
    expect(() => decideRedrive(task({ status }), NOW, null)).toThrowError(expect.objectContaining({ code: 'INVALID_TRANSITION' }));
  });
});

describe('decideEscalationResolved', () => {
  const open: Escalation = {
    id: 'esc-000000000001', project_id: 'p', task_id: 'loom-0000000a', message: 'help', source: 'agent', raised_by: 'ada',
    status: 'open', resolution: null, created_at: ago(1000), resolved_at: null,
  };
  it.each([
    ['retry', undefined, 'retry'],
    ['cancel', 'not needed', 'cancel: not needed'],
  ] as const)('records %s with its note', (action, note, resolution) => {
    const r = decideEscalationResolved(open, action, note, 'ops', NOW);
    expect(r.escalation).toMatchObject({ status: 'resolved', resolution, resolved_at: NOW.toISOString() });
    expect(r.event).toMatchObject({ type: 'escalation.resolved', task_id: open.task_id, payload: { escalation_id: open.id, action } });
  });
  it('refuses to resolve twice', () => {
    const once = decideEscalationResolved(open, 'retry', undefined, null, NOW).escalation;
    expect(() => decideEscalationResolved(once, 'cancel', undefined, null, NOW)).toThrowError(expect.objectContaining({ code: 'INVALID_TRANSITION' }));
  });
});

describe('decideDoneByHand and decideUnblock', () => {
  it.each<TaskStatus>(['pending', 'blocked', 'claimed', 'failed'])('a person can mark a %s task done with output', (status) => {
    const d = decideDoneByHand(task({ status }), { decided: true }, NOW, 'ops');
    expect(d.task).toMatchObject({ status: 'done', output: { decided: true }, lease_token: null, assignee: null });
    expect(d.events[0]).toMatchObject({ type: 'task.done', payload: { by_hand: true } });
  });
  it.each<TaskStatus>(['done', 'cancelled'])('but not a %s one', (status) => {
    expect(() => decideDoneByHand(task({ status }), undefined, NOW, null)).toThrowError(expect.objectContaining({ code: 'INVALID_TRANSITION' }));
  });
  it.each<[Partial<Task>, boolean, Partial<Task>]>([
    [{ status: 'blocked', blocked_reason: 'escalation', unmet_deps: 0, attempts: 2 }, false, { status: 'pending', blocked_reason: null, attempts: 2 }],
    [{ status: 'blocked', blocked_reason: 'escalation', unmet_deps: 2, attempts: 2 }, true, { status: 'blocked', blocked_reason: 'dependencies', attempts: 0 }],
    [{ status: 'claimed', attempts: 1 }, true, { status: 'pending', lease_token: null, assignee: null, attempts: 0 }],
  ])('unblock %j (reset attempts: %s)', (over, reset, expected) => {
    expect(decideUnblock(task(over), NOW, 'ops', reset).task).toMatchObject(expected);
  });
});
