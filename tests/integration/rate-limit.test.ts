/**
 * Rate-limited failures on both stores: no attempt is used, the task is ready
 * again at reset_at and not before, resets in the past or more than a day
 * ahead are clamped (and the event says so), a stale lease is refused as any
 * report is, and bad reset times are VALIDATION_FAILED.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoomApi } from '../../src/ports/loom-api.js';
import { openStoreService } from '../support/store-services.js';

const origin = { kind: 'test', id: 't' };
const expectCode = (call: Promise<unknown>, code: string) => expect(call).rejects.toMatchObject({ code });
const HOUR = 3_600_000;

describe.each(['embedded', 'postgres'] as const)('rate-limited failures (%s)', (mode) => {
  let api: LoomApi;
  let close: () => Promise<void>;
  // A clock the tests move: the reset comes due without waiting.
  let now = Date.parse('2026-11-30T10:00:00.000Z');
  const clock = { now: () => new Date(now) };
  let p: string;
  beforeAll(async () => {
    ({ api, close } = await openStoreService(mode, 'ratelimit', { clock }));
    p = (await api.createProject({ name: 'rate-limits' })).id;
  });
  afterAll(async () => close());

  async function claimed(title: string, maxAttempts = 3) {
    const t = await api.createTask({ project_id: p, title, origin, max_attempts: maxAttempts });
    const c = await api.claim({ project_id: p, agent_id: 'agent', task_id: t.id });
    if (!c.claimed) throw new Error('not claimed');
    return { id: t.id, token: c.lease.token };
  }

  it('uses no attempt, and the task is ready at reset_at and not before', async () => {
    // max_attempts 1: an ordinary failure here would dead-letter it.
    const { id, token } = await claimed('rate-limited once', 1);
    const resetAt = new Date(now + HOUR).toISOString();
    const r = await api.fail({ project_id: p, task_id: id, agent_id: 'agent', lease_token: token, reason: 'usage limit reached', rate_limited: { reset_at: resetAt } });
    expect(r.outcome).toBe('rate_limited');
    expect(r.clamped).toBeUndefined();
    expect(r.task).toMatchObject({ status: 'pending', attempts: 0, run_after: resetAt, lease_token: null, assignee: null });

    expect(await api.claim({ project_id: p, agent_id: 'other', task_id: id })).toMatchObject({ claimed: false });
    now += HOUR - 1000;
    expect((await api.ready({ project_id: p })).map((t) => t.id)).not.toContain(id);
    now += 1000;
    expect((await api.ready({ project_id: p })).map((t) => t.id)).toContain(id);
    const again = await api.claim({ project_id: p, agent_id: 'other', task_id: id });
    expect(again).toMatchObject({ claimed: true, task: { attempts: 1 } });

    const events = await api.events({ project_id: p, task_id: id });
    const types = events.map((e) => e.type);
    expect(types).toContain('task.rate_limited');
    expect(types).not.toContain('task.failed');
    expect(types).not.toContain('task.retrying');
    expect(events.find((e) => e.type === 'task.rate_limited')?.payload).toMatchObject({ reset_at: resetAt, attempts: 0, max_attempts: 1 });
  });

  it('clamps a reset in the past to now, and one more than a day ahead to a day, and records it', async () => {
    const past = await claimed('reset in the past');
    const r1 = await api.fail({ project_id: p, task_id: past.id, agent_id: 'agent', lease_token: past.token, reason: 'limit', rate_limited: { reset_at: new Date(now - HOUR).toISOString() } });
    expect(r1).toMatchObject({ outcome: 'rate_limited', clamped: 'past', run_after: new Date(now).toISOString() });
    expect((await api.ready({ project_id: p })).map((t) => t.id)).toContain(past.id);

    const far = await claimed('reset next week');
    const requested = new Date(now + 7 * 24 * HOUR).toISOString();
    const r2 = await api.fail({ project_id: p, task_id: far.id, agent_id: 'agent', lease_token: far.token, reason: 'limit', rate_limited: { reset_at: requested } });
    expect(r2).toMatchObject({ outcome: 'rate_limited', clamped: 'too_far', run_after: new Date(now + 24 * HOUR).toISOString() });
    const ev = (await api.events({ project_id: p, task_id: far.id })).find((e) => e.type === 'task.rate_limited');
    expect(ev?.payload).toMatchObject({ clamped: 'too_far', requested_reset_at: requested });
  });

  it('refuses a stale lease and bad reset times, changing nothing', async () => {
    const { id, token } = await claimed('stale');
    await expectCode(api.fail({ project_id: p, task_id: id, agent_id: 'agent', lease_token: 'not-the-token', reason: 'limit', rate_limited: { reset_at: new Date(now).toISOString() } }), 'LEASE_LOST');
    for (const reset_at of ['tomorrow', '2026-13-45T99:00:00Z', '2026-11-30T10:00:00', `2026-11-30T10:00:00Z${'0'.repeat(50)}`, '2026-11-30T10:00:00\u0000Z']) {
      await expectCode(api.fail({ project_id: p, task_id: id, agent_id: 'agent', lease_token: token, reason: 'limit', rate_limited: { reset_at } }), 'VALIDATION_FAILED');
    }
    await expectCode(
      api.fail({ project_id: p, task_id: id, agent_id: 'agent', lease_token: token, reason: 'limit', retryable: false, rate_limited: { reset_at: new Date(now).toISOString() } }),
      'VALIDATION_FAILED',
    );
    await expectCode(api.fail({ project_id: p, task_id: id, agent_id: 'agent', lease_token: token, reason: 'limit', rate_limited: {} as { reset_at: string } }), 'VALIDATION_FAILED');
    expect((await api.status({ project_id: p, task_id: id })).task).toMatchObject({ status: 'claimed', attempts: 1 });
  });
});
