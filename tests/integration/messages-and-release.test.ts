/** Persisted messages between agents, agent task lists and voluntary release, on both stores. */
import { openTestPglite } from '../support/pglite.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PglitePool } from '../../src/adapters/embedded/pglite-pool.js';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { serviceForPool } from '../../src/app/service-factory.js';
import type { LoomApi } from '../../src/ports/loom-api.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { poolDrained } from '../support/pools.js';

const stores: Array<[string, () => Promise<{ api: LoomApi; close(): Promise<void> }>]> = [
  [
    'embedded',
    async () => {
      const p: PglitePool = await openTestPglite();
      await migrate(p.pool);
      return { api: serviceForPool(p.pool, { ownsPool: false }).service, close: () => p.close() };
    },
  ],
  [
    'postgres',
    async () => {
      const db: TestDatabase = await createTestDatabase('messages');
      const pool = new pg.Pool({ connectionString: db.url, max: 4 });
      pool.on('error', () => {});
      await migrate(pool);
      return {
        api: serviceForPool(pool, { ownsPool: false }).service,
        close: async () => {
          const drained = poolDrained(pool);
          await pool.end();
          await drained;
          await db.drop();
        },
      };
    },
  ],
];

describe.each(stores)('messages and release (%s)', (_name, open) => {
  let api: LoomApi;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ api, close } = await open());
  });
  afterAll(async () => close());

  it('delivers direct and broadcast messages once, oldest first, never an agent\'s own', async () => {
    const p = (await api.createProject({ name: 'chat' })).id;
    await api.sendMessage({ project_id: p, from_agent: 'ada', to_agent: 'grace', body: 'API is merged' });
    await api.sendMessage({ project_id: p, from_agent: 'linus', to_agent: '*', body: 'freeze at 5pm', thread_id: 'release' });
    await api.sendMessage({ project_id: p, from_agent: 'grace', to_agent: '*', body: 'ack' });
    await api.sendMessage({ project_id: p, from_agent: 'ada', to_agent: 'linus', body: 'not for grace' });

    const first = await api.inbox({ project_id: p, agent_id: 'grace' });
    expect(first.map((m) => [m.from_agent, m.body, m.thread_id])).toEqual([
      ['ada', 'API is merged', null],
      ['linus', 'freeze at 5pm', 'release'],
    ]);
    expect(await api.inbox({ project_id: p, agent_id: 'grace' })).toEqual([]); // marked read
    // `since` re-reads from a given message id without losing the cursor.
    expect((await api.inbox({ project_id: p, agent_id: 'grace', since: 0 })).length).toBe(2);
    const linus = await api.inbox({ project_id: p, agent_id: 'linus' });
    expect(linus.map((m) => m.body)).toEqual(['ack', 'not for grace']);
    const events = await api.events({ project_id: p });
    expect(events.filter((e) => e.type === 'message.sent')).toHaveLength(4);
  });

  it('refuses bad messages with VALIDATION_FAILED and writes nothing', async () => {
    const p = (await api.createProject({ name: 'chat-bad' })).id;
    await expect(api.sendMessage({ project_id: p, from_agent: 'ada', to_agent: 'grace', body: '' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(api.inbox({ project_id: p, agent_id: '' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(api.inbox({ project_id: 'prj-nope', agent_id: 'a' })).rejects.toMatchObject({ code: 'PROJECT_NOT_FOUND' });
    expect((await api.events({ project_id: p })).map((e) => e.type)).toEqual(['project.created']);
  });

  it('lists what an agent holds, and releases it back to the queue at once, without using an attempt', async () => {
    const p = (await api.createProject({ name: 'recover' })).id;
    const origin = { kind: 'test', id: 't' };
    const a = await api.createTask({ project_id: p, title: 'a', origin });
    const b = await api.createTask({ project_id: p, title: 'b', origin });
    const ca = await api.claim({ project_id: p, agent_id: 'ada', task_id: a.id });
    await api.claim({ project_id: p, agent_id: 'bob', task_id: b.id });
    if (!ca.claimed) throw new Error('claim failed');
    expect((await api.agentTasks({ project_id: p, agent_id: 'ada' })).map((t) => t.id)).toEqual([a.id]);

    await expect(api.release({ project_id: p, task_id: a.id, agent_id: 'ada', lease_token: 'forged' })).rejects.toMatchObject({ code: 'LEASE_LOST' });
    const released = await api.release({ project_id: p, task_id: a.id, agent_id: 'ada', lease_token: ca.lease.token, reason: 'context lost' });
    expect(released).toMatchObject({ status: 'pending', attempts: 0, assignee: null, lease_token: null, run_after: null });
    expect((await api.ready({ project_id: p })).map((t) => t.id)).toEqual([a.id]);
    expect(await api.agentTasks({ project_id: p, agent_id: 'ada' })).toEqual([]);
    const types = (await api.events({ project_id: p })).map((e) => e.type);
    expect(types.filter((t) => t === 'task.released')).toHaveLength(1);
    // the old lease is dead: the task is simply not claimed any more
    await expect(api.done({ project_id: p, task_id: a.id, agent_id: 'ada', lease_token: ca.lease.token })).rejects.toMatchObject({ code: 'NOT_CLAIMED' });
    // releasing again and again never uses up attempts
    for (let i = 0; i < 4; i++) {
      const c = await api.claim({ project_id: p, agent_id: 'ada', task_id: a.id });
      if (!c.claimed) throw new Error('claim failed');
      await api.release({ project_id: p, task_id: a.id, agent_id: 'ada', lease_token: c.lease.token });
    }
    expect((await api.status({ project_id: p, task_id: a.id })).task.attempts).toBe(0);
  });
});
