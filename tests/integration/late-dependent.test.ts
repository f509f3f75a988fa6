/**
 * A completion decided on the row remembered from its claim must still see a
 * dependent added after the claim (the new edge moves the task's revision,
 * so the optimistic write retries on a fresh read).
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

describe.each(['embedded', 'postgres'] as const)('a dependent added while its dependency runs (%s)', (mode) => {
  let api: LoomApi;
  let close: () => Promise<void>;
  beforeAll(async () => {
    if (mode === 'embedded') {
      const p: PglitePool = await openTestPglite();
      await migrate(p.pool);
      api = serviceForPool(p.pool, { ownsPool: false }).service;
      close = () => p.close();
    } else {
      const db: TestDatabase = await createTestDatabase('late_dep');
      const pool = new pg.Pool({ connectionString: db.url, max: 4 });
      pool.on('error', () => {});
      await migrate(pool);
      api = serviceForPool(pool, { ownsPool: false }).service;
      close = async () => {
        const drained = poolDrained(pool);
        await pool.end();
        await drained;
        await db.drop();
      };
    }
  });
  afterAll(async () => close());

  it('is unblocked by the completion', async () => {
    const p = (await api.createProject({ name: 'late' })).id;
    const a = await api.createTask({ project_id: p, title: 'a', origin });
    const c = await api.claim({ project_id: p, agent_id: 'ag', task_id: a.id });
    if (!c.claimed) throw new Error('no claim');
    expect(c.task.has_dependents).toBe(false);
    const b = await api.createTask({ project_id: p, title: 'b', origin, depends_on: [a.id] }); // after the claim
    const x = await api.createTask({ project_id: p, title: 'x', origin });
    await api.updateTask({ project_id: p, task_id: x.id, depends_on: [a.id] }); // and one rewired onto it
    const done = await api.done({ project_id: p, task_id: a.id, agent_id: 'ag', lease_token: c.lease.token });
    expect(done.unblocked.sort()).toEqual([b.id, x.id].sort());
    expect((await api.ready({ project_id: p })).map((t) => t.id).sort()).toEqual([b.id, x.id].sort());
  });
});
