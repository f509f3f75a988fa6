/**
 * Hold and resume on both stores: holding an epic while agents claim from it
 * (once the hold commits, no claim succeeds), a held task unblocked by a
 * dependency that finished meanwhile (ready on resume), and a claimed task
 * held, then failed or let expire (not retried while held).
 */
import { openTestPglite } from '../support/pglite.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PglitePool } from '../../src/adapters/embedded/pglite-pool.js';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { serviceForPool } from '../../src/app/service-factory.js';
import type { LoomApi } from '../../src/ports/loom-api.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { poolDrained } from '../support/pools.js';

const origin = { kind: 'test', id: 't' };
const CHILDREN = 40;
const CLAIMERS = 8;

describe.each(['embedded', 'postgres'] as const)('hold and resume (%s)', (mode) => {
  let api: LoomApi;
  let close: () => Promise<void>;
  // A clock the tests move: retries and leases come due without waiting.
  let now = Date.now();
  const clock = { now: () => new Date(now) };
  beforeAll(async () => {
    if (mode === 'embedded') {
      const p: PglitePool = await openTestPglite();
      await migrate(p.pool);
      api = serviceForPool(p.pool, { ownsPool: false, clock }).service;
      close = () => p.close();
    } else {
      const db: TestDatabase = await createTestDatabase('hold');
      const pool = new pg.Pool({ connectionString: db.url, max: CLAIMERS + 2 });
      pool.on('error', () => {});
      await migrate(pool);
      api = serviceForPool(pool, { ownsPool: false, clock }).service;
      close = async () => {
        const drained = poolDrained(pool);
        await pool.end();
        await drained;
        await db.drop();
      };
    }
  });
  afterAll(async () => close());

  it('holding an epic while agents claim from it: after the hold commits, no claim succeeds', async () => {
    const p = (await api.createProject({ name: 'hold-race' })).id;
    const epic = await api.createTask({ project_id: p, title: 'epic', origin, epic: true });
    const children: string[] = [];
    for (let i = 0; i < CHILDREN; i++) children.push((await api.createTask({ project_id: p, title: `c${i}`, origin, parent_id: epic.id })).id);

    let committed = false;
    const afterCommit: Array<{ claimed: boolean }> = [];
    const claimedIds: string[] = [];
    let stop = false;
    const claimer = async (n: number) => {
      while (!stop) {
        // Half the children at most before the hold commits, so some are left to race for (on a fast
        // store the claimers could otherwise take all 40 while the hold runs); claims in flight still race it.
        while (!committed && claimedIds.length >= CHILDREN / 2) await new Promise((resolve) => setImmediate(resolve));
        const startedAfterCommit = committed;
        const r = await api.claim({ project_id: p, agent_id: `ag-${n}`, lease_seconds: 600 });
        if (r.claimed) claimedIds.push(r.task.id);
        if (startedAfterCommit) afterCommit.push({ claimed: r.claimed });
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const running = Array.from({ length: CLAIMERS }, (_, n) => claimer(n));
    // Let some claims through, then hold the epic in the middle of the stream.
    while (claimedIds.length < 5) await new Promise((resolve) => setTimeout(resolve, 1));
    const hold = await api.hold({ project_id: p, task_id: epic.id, reason: 'race' });
    committed = true;
    while (afterCommit.length < CLAIMERS * 5) await new Promise((resolve) => setTimeout(resolve, 1));
    stop = true;
    await Promise.all(running);

    expect(afterCommit.every((c) => !c.claimed)).toBe(true);
    expect(hold.held.sort()).toEqual([epic.id, ...children].sort());
    // Exactly the tasks claimed before the hold are claimed; the rest wait, held.
    const tasks = await api.listTasks({ project_id: p, parent_id: epic.id, limit: 1000 });
    const claimed = tasks.filter((t) => t.status === 'claimed').map((t) => t.id).sort();
    expect(claimed).toEqual([...new Set(claimedIds)].sort());
    expect(claimedIds.length).toBeLessThan(CHILDREN);
    expect(tasks.every((t) => t.held_at !== null)).toBe(true);
    expect(await api.ready({ project_id: p })).toEqual([]);

    // Resume: the rest is ready again; the graph and the overview showed them held until then.
    expect((await api.overview({ project_id: p })).held.length).toBe(CHILDREN + 1);
    const resumed = await api.resume({ project_id: p, task_id: epic.id });
    expect(resumed.resumed.length).toBe(CHILDREN + 1);
    expect((await api.ready({ project_id: p, limit: 1000 })).length).toBe(CHILDREN - claimed.length);
    expect((await api.fsck({ project_id: p })).violations).toEqual([]);
  });

  it('resume after a dependency finished makes the task ready', async () => {
    const p = (await api.createProject({ name: 'hold-dep' })).id;
    const a = await api.createTask({ project_id: p, title: 'a', origin });
    const b = await api.createTask({ project_id: p, title: 'b', origin, depends_on: [a.id] });
    const held = await api.hold({ project_id: p, task_id: b.id, reason: 'wait for review' });
    expect(held.task).toMatchObject({ status: 'blocked', hold_reason: 'wait for review' });
    const c = await api.claim({ project_id: p, agent_id: 'ag', task_id: a.id });
    if (!c.claimed) throw new Error('no claim');
    await api.done({ project_id: p, task_id: a.id, agent_id: 'ag', lease_token: c.lease.token });
    // Its dependency is done, but it is held: not ready, not claimable.
    expect(await api.ready({ project_id: p })).toEqual([]);
    expect(await api.claim({ project_id: p, agent_id: 'ag', task_id: b.id })).toMatchObject({ claimed: false });
    expect((await api.fsck({ project_id: p })).violations).toEqual([]);

    const r = await api.resume({ project_id: p, task_id: b.id });
    expect(r.resumed).toEqual([{ id: b.id, status: 'pending' }]);
    expect(r.task).toMatchObject({ status: 'pending', held_at: null, hold_reason: null });
    expect((await api.ready({ project_id: p })).map((t) => t.id)).toEqual([b.id]);
    const types = (await api.events({ project_id: p, task_id: b.id })).map((e) => e.type);
    expect(types).toContain('task.held');
    expect(types).toContain('task.resumed');
    expect((await api.fsck({ project_id: p })).violations).toEqual([]);
  });

  it('a claimed task held, then failed or expired, is not retried while held', async () => {
    const p = (await api.createProject({ name: 'hold-claimed' })).id;
    const t1 = await api.createTask({ project_id: p, title: 'fails', origin, max_attempts: 5 });
    const t2 = await api.createTask({ project_id: p, title: 'expires', origin, max_attempts: 5 });
    const c1 = await api.claim({ project_id: p, agent_id: 'ag', task_id: t1.id, lease_seconds: 60 });
    const c2 = await api.claim({ project_id: p, agent_id: 'ag', task_id: t2.id, lease_seconds: 60 });
    if (!c1.claimed || !c2.claimed) throw new Error('no claim');
    await api.hold({ project_id: p, task_id: t1.id });
    await api.hold({ project_id: p, task_id: t2.id });
    // The lease still runs: a heartbeat and the failure are recorded.
    await api.heartbeat({ project_id: p, task_id: t1.id, agent_id: 'ag', lease_token: c1.lease.token });
    const f = await api.fail({ project_id: p, task_id: t1.id, agent_id: 'ag', lease_token: c1.lease.token, reason: 'flaky', retryable: true });
    expect(f.outcome).toBe('retrying');
    now += 3_600_000; // past any backoff, and past t2's lease
    const tick = await api.reconcile({ project_id: p });
    expect(tick.requeued).toEqual([t2.id]);
    expect(await api.ready({ project_id: p })).toEqual([]);
    expect(await api.claim({ project_id: p, agent_id: 'other' })).toMatchObject({ claimed: false });
    expect(await api.claim({ project_id: p, agent_id: 'other', task_id: t1.id })).toMatchObject({ claimed: false });
    expect((await api.fsck({ project_id: p })).violations).toEqual([]);

    await api.resume({ project_id: p, task_id: t1.id });
    const again = await api.claim({ project_id: p, agent_id: 'other' });
    expect(again).toMatchObject({ claimed: true, task: { id: t1.id, attempts: 2 } });
  });

  it('bad input: a done task, an unknown id, a NUL in the reason', async () => {
    const p = (await api.createProject({ name: 'hold-bad' })).id;
    const a = await api.createTask({ project_id: p, title: 'a', origin });
    const c = await api.claim({ project_id: p, agent_id: 'ag', task_id: a.id });
    if (!c.claimed) throw new Error('no claim');
    await api.done({ project_id: p, task_id: a.id, agent_id: 'ag', lease_token: c.lease.token });
    await expect(api.hold({ project_id: p, task_id: a.id })).rejects.toMatchObject({ code: 'INVALID_TRANSITION', hint: expect.any(String) });
    await expect(api.hold({ project_id: p, task_id: 'loom-00000000' })).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
    await expect(api.resume({ project_id: p, task_id: a.id })).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });
    await expect(api.hold({ project_id: p, task_id: a.id, reason: 'a\u0000b' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(api.hold({ project_id: p, task_id: a.id, reason: 'x'.repeat(2001) })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((await api.events({ project_id: p })).filter((e) => e.type === 'task.held')).toEqual([]);
  });
});
