import { describe, expect, it } from 'vitest';
import { LoomError } from '../../src/domain/errors.js';
import { checkLease, isLeaseExpired, newLease, type LeaseCheck } from '../../src/domain/lease.js';
import type { TaskStatus } from '../../src/domain/task.js';

const NOW = new Date('2025-01-01T12:00:00.000Z');
const LATER = '2025-01-01T12:05:00.000Z';
const EARLIER = '2025-01-01T11:55:00.000Z';
const TOKEN = 'tok-mine';

describe('newLease', () => {
  it.each([
    [1, '2025-01-01T12:00:01.000Z'],
    [300, '2025-01-01T12:05:00.000Z'],
    [24 * 3600, '2025-01-02T12:00:00.000Z'],
  ])('a %i s lease expires at %s', (seconds, expires) => {
    expect(newLease('t1', NOW, seconds)).toEqual({ token: 't1', expires_at: expires });
  });
});

describe('isLeaseExpired', () => {
  it.each<[string, TaskStatus, string | null, boolean]>([
    ['claimed, expiry ahead', 'claimed', LATER, false],
    ['claimed, expiry 1 ms ahead', 'claimed', '2025-01-01T12:00:00.001Z', false],
    ['claimed, expiry exactly now', 'claimed', '2025-01-01T12:00:00.000Z', true],
    ['claimed, expiry passed', 'claimed', EARLIER, true],
    ['claimed without an expiry', 'claimed', null, false],
    // Only a claim can expire: a stale expiry on a requeued task means nothing.
    ['pending with an old expiry', 'pending', EARLIER, false],
    ['done with an old expiry', 'done', EARLIER, false],
  ])('%s -> %s', (_label, status, lease_expires_at, expired) => {
    expect(isLeaseExpired({ status, lease_expires_at }, NOW)).toBe(expired);
  });
});

describe('checkLease', () => {
  type T = Parameters<typeof checkLease>[0];
  const task = (over: Partial<T>): T => ({
    id: 'loom-0000abcd',
    status: 'claimed',
    lease_token: TOKEN,
    lease_expires_at: LATER,
    attempts: 1,
    ...over,
  });

  type Expect = 'ok' | 'already_done' | 'LEASE_LOST' | 'NOT_CLAIMED';
  const outcome = (c: LeaseCheck): Expect => (c.ok === true ? 'ok' : c.ok === 'already_done' ? 'already_done' : (c.error.code as Expect));

  it.each<[string, Partial<T>, string, { allowDone?: boolean }, Expect]>([
    ['valid lease', {}, TOKEN, {}, 'ok'],
    ['valid lease, allowDone changes nothing', {}, TOKEN, { allowDone: true }, 'ok'],
    ['wrong token (another agent holds it now)', { lease_token: 'tok-other' }, TOKEN, {}, 'LEASE_LOST'],
    ['right token but expired', { lease_expires_at: EARLIER }, TOKEN, {}, 'LEASE_LOST'],
    ['right token, expiring exactly now', { lease_expires_at: NOW.toISOString() }, TOKEN, {}, 'LEASE_LOST'],
    ['requeued after a claim', { status: 'pending', lease_token: null, lease_expires_at: null }, TOKEN, {}, 'LEASE_LOST'],
    ['dead-lettered after a claim', { status: 'failed', lease_token: null, lease_expires_at: null, attempts: 3 }, TOKEN, {}, 'LEASE_LOST'],
    ['never claimed (pending)', { status: 'pending', lease_token: null, lease_expires_at: null, attempts: 0 }, TOKEN, {}, 'NOT_CLAIMED'],
    ['never claimed (blocked)', { status: 'blocked', lease_token: null, lease_expires_at: null, attempts: 0 }, TOKEN, {}, 'NOT_CLAIMED'],
    ['done with the same token, retried report (allowDone)', { status: 'done' }, TOKEN, { allowDone: true }, 'already_done'],
    ['done with the same token, without allowDone', { status: 'done' }, TOKEN, {}, 'LEASE_LOST'],
    ['done by another lease', { status: 'done', lease_token: 'tok-other' }, TOKEN, { allowDone: true }, 'LEASE_LOST'],
    ['cancelled while claimed', { status: 'cancelled' }, TOKEN, { allowDone: true }, 'LEASE_LOST'],
  ])('%s -> %s', (_label, over, token, opts, expected) => {
    expect(outcome(checkLease(task(over), token, NOW, opts))).toBe(expected);
  });

  it('LEASE_LOST tells the agent to stop and names the task', () => {
    const c = checkLease(task({ lease_token: 'tok-other' }), TOKEN, NOW);
    expect(c.ok).toBe(false);
    if (c.ok !== false) return;
    expect(LoomError.is(c.error)).toBe(true);
    expect(c.error.message).toContain('loom-0000abcd');
    expect(c.error.hint).toMatch(/stop working/);
    expect(c.error.details).toEqual({ task_id: 'loom-0000abcd' });
  });

  it('an expired lease says when it expired', () => {
    const c = checkLease(task({ lease_expires_at: EARLIER }), TOKEN, NOW);
    if (c.ok !== false) throw new Error('expected a refusal');
    expect(c.error.message).toContain(EARLIER);
  });

  it('NOT_CLAIMED says how to claim and gives the status', () => {
    const c = checkLease(task({ status: 'pending', lease_token: null, lease_expires_at: null, attempts: 0 }), TOKEN, NOW);
    if (c.ok !== false) throw new Error('expected a refusal');
    expect(c.error.code).toBe('NOT_CLAIMED');
    expect(c.error.message).toContain('pending');
    expect(c.error.hint).toContain('loom claim loom-0000abcd');
    expect(c.error.details).toEqual({ task_id: 'loom-0000abcd', status: 'pending' });
  });
});
