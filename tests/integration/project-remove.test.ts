/**
 * Project removal on both stores: open, claimed, blocked and escalated work is cancelled and
 * settled with its events in one go, fsck stays clean, reads still work, and every write then
 * answers PROJECT_REMOVED, from this service and from a second one on the same database whose
 * per-process project cache saw the project before it was removed.
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

async function codeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'no error';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

describe.each(['embedded', 'postgres'] as const)('project removal (%s)', (mode) => {
  let api: LoomApi;
  let other: LoomApi;
  let close: () => Promise<void>;
  beforeAll(async () => {
    if (mode === 'embedded') {
      const p: PglitePool = await openTestPglite();
      await migrate(p.pool);
      api = serviceForPool(p.pool, { ownsPool: false }).service;
      other = serviceForPool(p.pool, { ownsPool: false }).service;
      close = () => p.close();
    } else {
      const db: TestDatabase = await createTestDatabase('project_remove');
      const pool = new pg.Pool({ connectionString: db.url, max: 4 });
      pool.on('error', () => {});
      await migrate(pool);
      api = serviceForPool(pool, { ownsPool: false }).service;
      other = serviceForPool(pool, { ownsPool: false }).service;
      close = async () => {
        const drained = poolDrained(pool);
        await pool.end();
        await drained;
        await db.drop();
      };
    }
  });
  afterAll(async () => close());

  it('cancels open work, settles escalations with events, stays fsck-clean, and refuses every write after', async () => {
    const p = (await api.createProject({ name: 'to-remove' })).id;
    const keep = (await api.createProject({ name: 'kept' })).id;
    const kept = await api.createTask({ project_id: keep, title: 'untouched', origin });
    const epic = await api.createTask({ project_id: p, title: 'epic', origin, epic: true });
    const child = await api.createTask({ project_id: p, title: 'child', origin, parent_id: epic.id });
    const finished = await api.createTask({ project_id: p, title: 'finished', origin });
    const claimed = await api.createTask({ project_id: p, title: 'claimed', origin });
    const blocked = await api.createTask({ project_id: p, title: 'blocked', origin, depends_on: [claimed.id] });
    const escalated = await api.createTask({ project_id: p, title: 'escalated', origin });
    const f = await api.claim({ project_id: p, agent_id: 'ag-1', task_id: finished.id });
    if (!f.claimed) throw new Error('finished not claimed');
    await api.done({ project_id: p, task_id: finished.id, agent_id: 'ag-1', lease_token: f.lease.token });
    const c = await api.claim({ project_id: p, agent_id: 'ag-1', task_id: claimed.id });
    if (!c.claimed) throw new Error('claimed not claimed');
    const { escalation } = await api.escalate({ project_id: p, task_id: escalated.id, message: 'need a person' });
    // The second service has the project in its cache as it was before the removal.
    expect((await other.getProject({ project_id: p })).removed_at).toBeUndefined();

    const removed = await api.removeProject({ project_id: p, agent_id: 'operator' });
    const open = [epic.id, child.id, claimed.id, blocked.id, escalated.id].sort();
    expect(removed.cancelled).toEqual(open);
    expect(removed.escalations_resolved).toEqual([escalation.id]);
    expect(removed.project.removed_at).toEqual(expect.any(String));

    // Reads still work: the removed project's tasks, escalations and events can be seen.
    const tasks = await other.listTasks({ project_id: p });
    expect(Object.fromEntries(tasks.map((t) => [t.id, t.status]))).toEqual({ ...Object.fromEntries(open.map((id) => [id, 'cancelled'])), [finished.id]: 'done' });
    const [settled] = await other.escalations({ project_id: p, status: 'all' });
    expect(settled).toMatchObject({ id: escalation.id, status: 'resolved', resolution: expect.stringContaining('project was removed') });
    const events = await other.events({ project_id: p, limit: 100 });
    const last = events.slice(-(open.length + 2));
    expect(last.filter((e) => e.type === 'task.cancelled').map((e) => e.task_id).sort()).toEqual(open);
    expect(last.filter((e) => e.type === 'escalation.resolved').map((e) => e.payload.escalation_id)).toEqual([escalation.id]);
    expect(last.at(-1)).toMatchObject({ type: 'project.removed', agent_id: 'operator', payload: { cancelled: open.length, escalations_resolved: 1 } });
    expect((await other.status({ project_id: p, task_id: claimed.id })).task.status).toBe('cancelled');
    const report = await other.fsck({ project_id: p });
    expect(report.violations).toEqual([]);
    expect(report.ok).toBe(true);
    const listed = await other.projects({});
    expect(listed.find((x) => x.id === p)?.removed_at).toEqual(removed.project.removed_at);
    expect(listed.find((x) => x.id === keep)?.removed_at).toBeUndefined();

    // Every write, from the service that removed it and from the one whose cache saw it open.
    for (const s of [api, other]) {
      const lease = { project_id: p, task_id: claimed.id, agent_id: 'ag-1', lease_token: c.lease.token };
      const codes = {
        create: await codeOf(s.createTask({ project_id: p, title: 'new', origin })),
        createChild: await codeOf(s.createTask({ project_id: p, title: 'new child', origin, parent_id: epic.id })),
        update: await codeOf(s.updateTask({ project_id: p, task_id: child.id, title: 'renamed' })),
        claim: await codeOf(s.claim({ project_id: p, agent_id: 'ag-2' })),
        heartbeat: await codeOf(s.heartbeat(lease)),
        done: await codeOf(s.done(lease)),
        fail: await codeOf(s.fail({ ...lease, reason: 'x' })),
        escalate: await codeOf(s.escalate({ project_id: p, task_id: finished.id, message: 'again' })),
        message: await codeOf(s.sendMessage({ project_id: p, from_agent: 'ag-1', to_agent: 'ag-2', body: 'hi' })),
        hold: await codeOf(s.hold({ project_id: p, task_id: child.id })),
        cancel: await codeOf(s.cancel({ project_id: p, task_id: child.id })),
        remove: await codeOf(s.removeProject({ project_id: p })),
      };
      expect(codes).toEqual(Object.fromEntries(Object.keys(codes).map((k) => [k, 'PROJECT_REMOVED'])));
    }
    // The other project goes on as before.
    const k = await other.claim({ project_id: keep, agent_id: 'ag-3' });
    expect(k.claimed && k.task.id).toBe(kept.id);
  });

  it('writes racing the removal: whatever committed first is cancelled, nothing is created or claimed after', async () => {
    const p = (await api.createProject({ name: 'race' })).id;
    const epic = await api.createTask({ project_id: p, title: 'epic', origin, epic: true });
    for (let i = 0; i < 10; i++) await api.createTask({ project_id: p, title: `t${i}`, origin });
    await other.getProject({ project_id: p }); // cached as open in the racing service
    let stop = false;
    const refused: string[] = [];
    const racer = async (n: number) => {
      for (let i = 0; !stop; i++) {
        const write =
          n % 3 === 0
            ? other.createTask({ project_id: p, title: `r${n}-${i}`, origin })
            : n % 3 === 1
              ? other.createTask({ project_id: p, title: `r${n}-${i}`, origin, parent_id: epic.id })
              : other.claim({ project_id: p, agent_id: `ag-${n}` });
        try {
          await write;
        } catch (e) {
          refused.push((e as { code?: string }).code ?? String(e));
          if (refused.length > 30) stop = true;
        }
        await new Promise((resolve) => setImmediate(resolve)); // let the removal have its turn on the embedded store's one connection
      }
    };
    const running = Array.from({ length: 3 }, (_, n) => racer(n));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await api.removeProject({ project_id: p });
    await Promise.all(running);
    expect(new Set(refused)).toEqual(new Set(['PROJECT_REMOVED']));
    const open = (await api.listTasks({ project_id: p, limit: 1000 })).filter((t) => t.status !== 'cancelled');
    expect(open).toEqual([]);
    expect((await api.fsck({ project_id: p })).violations).toEqual([]);
  });
});
