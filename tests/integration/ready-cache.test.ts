import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { createServerContainer } from '../../src/app/service-factory.js';
import { LoomApi } from '../../src/ports/loom-api.js';
import { TaskCache } from '../../src/ports/task-cache.js';
import { TaskStore } from '../../src/ports/task-store.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { poolDrained } from '../support/pools.js';
import { deleteKeys, testRedisUrl, uniquePrefix } from '../support/redis.js';
import { until } from '../support/until.js';

/**
 * `ready` in server mode with the Redis cache, against real Postgres and
 * Redis: it answers what Postgres answers, while work moves on, after the
 * cache was forgotten (a miss fills it again for the next read), and for
 * filters the cached head cannot answer.
 */

const ORIGIN = { kind: 'test', id: 'ready-cache' };
const prefix = uniquePrefix('ready-cache');
let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('ready-cache');
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  pool.on('error', () => {});
  await migrate(pool);
});

afterAll(async () => {
  const drained = poolDrained(pool);
  await pool.end();
  await drained;
  await db?.drop();
  await deleteKeys(prefix);
});

describe('ready through the cache', () => {
  it('answers as Postgres does, and a miss fills the cache for the next read', async () => {
    const container = await createServerContainer(pool, { ownsPool: false, redis: { url: await testRedisUrl(), keyPrefix: prefix, relayPollMs: 20 } });
    const api = container.get(LoomApi);
    const cache = container.get(TaskCache);
    const store = container.get(TaskStore);
    const project = await api.createProject({ name: 'ready-cache' });
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const priority = (['p0', 'p1', 'p2'] as const)[i % 3]!;
      ids.push((await api.createTask({ project_id: project.id, title: `t${i}`, priority, origin: ORIGIN, ...(i % 7 === 6 ? { depends_on: [ids[i - 1]!] } : {}) })).id);
    }
    const postgres = (limit = 20, priority?: 'p0' | 'p1' | 'p2') => store.ready(project.id, new Date(), limit, priority);
    const cached = () => cache.ready(project.id, new Date(), 20);

    // The relay's batches filled the cache; reads agree with Postgres.
    await until(async () => JSON.stringify(await cached()) === JSON.stringify(await postgres()), 'the cache to match Postgres');
    expect(await api.ready({ project_id: project.id })).toEqual(await postgres());

    // Work moves on through another path: the cache follows.
    for (let i = 0; i < 5; i++) {
      const c = await api.claim({ project_id: project.id, agent_id: 'a' });
      if (!c.claimed) throw new Error('nothing to claim');
      await api.done({ project_id: project.id, task_id: c.task.id, agent_id: 'a', lease_token: c.lease.token });
    }
    await until(async () => JSON.stringify(await cached()) === JSON.stringify(await postgres()), 'the cache to follow the claims');

    // Forgotten (as after an outage): the next read goes to Postgres and fills the cache again.
    await cache.invalidateAll();
    expect(await cached()).toBeUndefined();
    expect(await api.ready({ project_id: project.id })).toEqual(await postgres());
    await until(async () => (await cached()) !== undefined, 'the miss to fill the cache');
    expect(await cached()).toEqual(await postgres());

    // What the head cannot answer exactly goes to Postgres.
    expect(await api.ready({ project_id: project.id, limit: 500 })).toEqual(await postgres(500));
    expect(await api.ready({ project_id: project.id, priority: 'p2' })).toEqual(await postgres(20, 'p2'));
    await api.close();
  });
});
