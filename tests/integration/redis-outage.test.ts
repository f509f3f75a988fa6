import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { createServerContainer } from '../../src/app/service-factory.js';
import type { LoomEvent } from '../../src/domain/events.js';
import { EventBus } from '../../src/ports/event-bus.js';
import { LoomApi } from '../../src/ports/loom-api.js';
import { TaskCache } from '../../src/ports/task-cache.js';
import { TaskStore } from '../../src/ports/task-store.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { poolDrained } from '../support/pools.js';
import { OwnRedisServer } from '../support/redis-server.js';
import { until } from '../support/until.js';

/**
 * Server mode when Redis goes away and comes back (a Redis of this file's
 * own, killed and restarted empty): claims, completions and reads keep
 * working on Postgres alone; every event committed meanwhile reaches the
 * subscriber of another "process" afterwards, none twice; the cache answers
 * again and matches Postgres.
 */

const ORIGIN = { kind: 'test', id: 'outage' };
let db: TestDatabase;
let redis: OwnRedisServer;
const pools: pg.Pool[] = [];
const logged: string[] = [];

/** A Loom process of server mode: its own pool, relay, bus and cache. */
async function processOf(name: string) {
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  pool.on('error', () => {});
  pools.push(pool);
  const container = await createServerContainer(pool, {
    ownsPool: false,
    redis: { url: redis.url, keyPrefix: 'outage:', log: (l) => logged.push(`${name}: ${l}`), relayPollMs: 20 },
  });
  return { api: container.get(LoomApi), bus: container.get(EventBus), cache: container.get(TaskCache), store: container.get(TaskStore) };
}

beforeAll(async () => {
  db = await createTestDatabase('redis-outage');
  const pool = new pg.Pool({ connectionString: db.url, max: 1 });
  await migrate(pool);
  await pool.end();
  redis = await OwnRedisServer.start();
});

afterAll(async () => {
  await redis?.stop();
  const drained = Promise.all(pools.map(poolDrained));
  await Promise.all(pools.map((p) => p.end()));
  await drained;
  await db?.drop();
});

describe('a Redis outage in server mode', () => {
  it('loses no work and no event, and the cache matches Postgres once Redis is back', async () => {
    const writer = await processOf('writer');
    const listener = await processOf('listener');
    const project = await writer.api.createProject({ name: 'outage' });
    const heard: LoomEvent[] = [];
    listener.bus.subscribe(project.id, (e) => heard.push(e));

    const work = async (label: string, n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const t = await writer.api.createTask({ project_id: project.id, title: `${label}-${i}`, origin: ORIGIN });
        if (i % 2 === 0) {
          const c = await writer.api.claim({ project_id: project.id, task_id: t.id, agent_id: 'w' });
          if (!c.claimed) throw new Error(`not claimed: ${c.reason}`);
          await writer.api.done({ project_id: project.id, task_id: t.id, agent_id: 'w', lease_token: c.lease.token });
        }
      }
    };
    const eventLog = async (): Promise<number[]> => (await writer.api.events({ project_id: project.id, limit: 1000 })).map((e) => e.id);

    // Redis up: the listener hears the writer's events; the cache answers ready.
    await work('before', 6);
    await until(async () => heard.length === (await eventLog()).length, 'the events before the outage');
    await until(async () => (await listener.cache.ready(project.id, new Date(), 20)) !== undefined, 'a cached ready list');

    // Redis gone: everything keeps working on Postgres.
    await redis.stop();
    await work('during', 8);
    const ready = await listener.api.ready({ project_id: project.id });
    expect(ready.map((t) => t.id)).toEqual((await listener.store.ready(project.id, new Date(), 20)).map((t) => t.id));
    expect(ready.length).toBe(3 + 4); // the odd steps of both rounds wait for a claim
    const detail = await listener.api.status({ project_id: project.id, task_id: ready[0]!.id });
    expect(detail.task.status).toBe('pending');
    expect(await listener.cache.ready(project.id, new Date(), 20)).toBeUndefined();
    const missed = (await eventLog()).length - heard.length;
    expect(missed).toBeGreaterThanOrEqual(8 + 4 * 2);

    // Each process says once that Redis is gone (its bus, cache and relay all notice).
    await until(() => ['writer', 'listener'].every((p) => logged.some((l) => l.startsWith(`${p}: `))), 'both processes to report the outage');

    // Redis back, empty: the relay catches up, the listener hears every event once, in order.
    await redis.start();
    await work('after', 2);
    const all = await eventLog();
    await until(() => heard.length >= all.length, `all ${all.length} events at the listener (has ${heard.length})`);
    await new Promise((r) => setTimeout(r, 200));
    expect(heard.map((e) => e.id)).toEqual(all);

    // The cache is rebuilt and says what Postgres says.
    await until(async () => (await listener.cache.ready(project.id, new Date(), 20)) !== undefined, 'the cache back');
    const cached = await listener.cache.ready(project.id, new Date(), 20);
    expect(cached).toEqual(await listener.store.ready(project.id, new Date(), 20));

    // The outage was logged once per part, not once per event.
    // One line for the outage and one for its end per process, not one per component or event.
    for (const p of ['writer', 'listener']) {
      // An outage line says "... until it answers again" too: the recovery line is the one without "cannot".
      const recovery = (l: string) => l.startsWith(`${p}: `) && !/\bcannot\b/.test(l) && /\bagain\b/.test(l);
      await until(() => logged.some(recovery), `${p} to report Redis back`);
      const lines = logged.filter((l) => l.startsWith(`${p}: `));
      expect(lines, lines.join('\n')).toHaveLength(2);
      expect(lines[0]).toMatch(/cannot/);
      expect(recovery(lines[1]!)).toBe(true);
    }
    await writer.api.close();
    await listener.api.close();
  });
});
