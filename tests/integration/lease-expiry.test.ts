/** Crash recovery: expired leases go back to the queue exactly once, or to the dead letters. */
import { describe, expect, it } from 'vitest';
import { usePgServices } from '../support/pg-services.js';

describe('lease expiry (postgres)', () => {
  const { service } = usePgServices('leases', { retry: { base_ms: 60_000, factor: 2, max_ms: 600_000 } });
  const origin = { kind: 'test', id: 't' };

  it('requeues an expired claim with backoff; the late report of its agent is refused and changes nothing', async () => {
    const api = service();
    const p = (await api.createProject({ name: 'expiry' })).id;
    const t = await api.createTask({ project_id: p, title: 'slow', origin });
    // A lease long enough that the check right after the claim comes before it ends, even on a busy machine.
    const c = await api.claim({ project_id: p, agent_id: 'crashed', lease_seconds: 3 });
    if (!c.claimed) throw new Error('no claim');
    expect(await api.recoverLeases({ project_id: p })).toEqual({ requeued: [], dead_lettered: [], escalated: [] }); // not yet
    await new Promise((r) => setTimeout(r, 3200));
    expect(await api.recoverLeases({ project_id: p })).toEqual({ requeued: [t.id], dead_lettered: [], escalated: [] });
    const after = (await api.status({ project_id: p, task_id: t.id })).task;
    expect(after).toMatchObject({ status: 'pending', assignee: null, lease_token: null, attempts: 1 });
    expect(Date.parse(after.run_after!)).toBeGreaterThan(Date.now() + 20_000); // backoff respected: not ready yet
    expect(await api.ready({ project_id: p })).toEqual([]);
    const before = await api.events({ project_id: p });
    await expect(api.done({ project_id: p, task_id: t.id, agent_id: 'crashed', lease_token: c.lease.token })).rejects.toMatchObject({ code: 'LEASE_LOST' });
    expect(await api.events({ project_id: p })).toEqual(before);
    expect(before.map((e) => e.type).slice(-2)).toEqual(['task.lease_expired', 'task.retrying']);
  });

  it('dead-letters an expired claim whose attempts are used up, with an escalation', async () => {
    const api = service();
    const p = (await api.createProject({ name: 'expiry-dlq' })).id;
    const t = await api.createTask({ project_id: p, title: 'doomed', origin, max_attempts: 1 });
    await api.claim({ project_id: p, agent_id: 'crashed', lease_seconds: 1 });
    await new Promise((r) => setTimeout(r, 1200));
    expect(await api.recoverLeases({ project_id: p })).toEqual({ requeued: [], dead_lettered: [t.id], escalated: [] });
    const detail = await api.status({ project_id: p, task_id: t.id });
    expect(detail.task.status).toBe('failed');
    expect(detail.escalations).toHaveLength(1);
    expect(detail.escalations[0]!.message).toContain('dead letter');
  });

  it('two recoveries racing over 300 expired leases requeue each exactly once', async () => {
    const [a, b] = [service(), service()];
    const p = (await a.createProject({ name: 'race' })).id;
    for (let i = 0; i < 300; i += 30) {
      await Promise.all(Array.from({ length: 30 }, (_, j) => a.createTask({ project_id: p, title: `t${i + j}`, origin })));
    }
    for (let i = 0; i < 300; i++) await a.claim({ project_id: p, agent_id: 'gone', lease_seconds: 1 });
    await new Promise((r) => setTimeout(r, 1200));
    const [ra, rb] = await Promise.all([a.recoverLeases({ project_id: p }), b.recoverLeases({ project_id: p })]);
    const all = [...ra.requeued, ...rb.requeued];
    expect(all).toHaveLength(300);
    expect(new Set(all).size).toBe(300);
    const expiredEvents = (await a.events({ project_id: p, limit: 10_000 })).filter((e) => e.type === 'task.lease_expired');
    expect(expiredEvents).toHaveLength(300);
  });
});
