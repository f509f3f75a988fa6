import 'reflect-metadata';
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { createContainer, createServerContainer } from '../../src/app/service-factory.js';
import { LoomApi } from '../../src/ports/loom-api.js';
import { TaskCache } from '../../src/ports/task-cache.js';
import { benchDatabase } from '../support/database.js';
import { bulkLoadTasks } from '../support/seed.js';
import { percentile, round } from '../support/stats.js';

/**
 * bench/events: server mode's live events and cached reads.
 * - End-to-end event latency: this process commits tasks at a steady rate
 *   (and then in a burst); another process subscribed through Redis notes
 *   when each task.created arrives. Latency = arrival - the moment the
 *   creating call returned (the commit acknowledged), on one clock.
 * - Ready latency at 100k tasks (limit 20), through the API with the Redis
 *   cache and without it.
 * Prints one JSON document.
 *
 *   npm run bench:events [-- --quick]
 */
const quick = process.argv.includes('--quick');
const STEADY = quick ? 300 : 2_000;
const STEADY_INTERVAL_MS = 5;
const BURST = quick ? 200 : 1_000;
const READY_TASKS = quick ? 10_000 : 100_000;
const READS = quick ? 500 : 2_000;
const origin = { kind: 'bench', id: 'events' };
const redisUrl = process.env.LOOM_BENCH_REDIS_URL ?? process.env.LOOM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function summary(samples: number[]): { n: number; p50_ms: number; p99_ms: number; max_ms: number } {
  return { n: samples.length, p50_ms: round(percentile(samples, 50)), p99_ms: round(percentile(samples, 99)), max_ms: round(Math.max(...samples)) };
}

async function eventLatency(url: string, prefix: string): Promise<Record<string, unknown>> {
  const pool = new pg.Pool({ connectionString: url, max: 8 });
  const container = await createServerContainer(pool, { redis: { url: redisUrl, keyPrefix: prefix } });
  const api = container.get(LoomApi);
  const project = await api.createProject({ name: 'events' });
  const listener = fork(fileURLToPath(new URL('./listener.js', import.meta.url)), {
    env: { ...process.env, BENCH_DATABASE_URL: url, BENCH_REDIS_URL: redisUrl, BENCH_PREFIX: prefix, BENCH_PROJECT: project.id },
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('message', () => resolve());
    listener.once('exit', (code) => reject(new Error(`listener exited ${code}`)));
  });
  const committed = new Map<string, number>();
  // Steady: one task every few ms, as a busy team of agents produces them.
  const steadyStart = performance.now();
  for (let i = 0; i < STEADY; i++) {
    const t = await api.createTask({ project_id: project.id, title: `steady ${i}`, origin });
    committed.set(t.id, now());
    await sleep(STEADY_INTERVAL_MS);
  }
  const steadyRate = Math.round(STEADY / ((performance.now() - steadyStart) / 1000));
  const steadyIds = new Set(committed.keys());
  // Burst: 16 writers at once, as fast as Postgres takes them.
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = next++; i < BURST; i = next++) {
        const t = await api.createTask({ project_id: project.id, title: `burst ${i}`, origin });
        committed.set(t.id, now());
      }
    }),
  );
  await sleep(1_000);
  const arrivals = await new Promise<Array<[string, number]>>((resolve) => {
    listener.once('message', (m) => resolve((m as { arrivals: Array<[string, number]> }).arrivals));
    listener.send('stop');
  });
  const steady: number[] = [];
  const burst: number[] = [];
  let duplicates = 0;
  const seen = new Set<string>();
  for (const [taskId, at] of arrivals) {
    if (seen.has(taskId)) duplicates++;
    seen.add(taskId);
    const sent = committed.get(taskId);
    if (sent === undefined) continue;
    (steadyIds.has(taskId) ? steady : burst).push(at - sent);
  }
  await api.close();
  return {
    events: committed.size,
    received: seen.size,
    missing: [...committed.keys()].filter((id) => !seen.has(id)).length,
    duplicates,
    steady: { events_per_s: steadyRate, ...summary(steady) },
    burst: { writers: 16, ...summary(burst) },
  };
}

async function readyLatency(url: string, prefix: string): Promise<Record<string, unknown>> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  const cached = await createServerContainer(pool, { ownsPool: false, redis: { url: redisUrl, keyPrefix: prefix } });
  const plain = createContainer(pool, { ownsPool: false });
  const withCache = cached.get(LoomApi);
  const withoutCache = plain.get(LoomApi);
  const project = await withoutCache.createProject({ name: 'ready' });
  await bulkLoadTasks(pool, project.id, READY_TASKS);
  // One change through the API: the relay computes the project's ready head.
  await withCache.createTask({ project_id: project.id, title: 'after the bulk load', origin });
  const cache = cached.get(TaskCache);
  for (let i = 0; (await cache.ready(project.id, new Date(), 20)) === undefined; i++) {
    if (i > 500) throw new Error('the cache never got a ready head');
    await sleep(10);
  }
  const measure = async (api: LoomApi): Promise<number[]> => {
    const samples: number[] = [];
    for (let i = 0; i < READS; i++) {
      const t0 = performance.now();
      await api.ready({ project_id: project.id, limit: 20 });
      samples.push(performance.now() - t0);
    }
    return samples;
  };
  await measure(withoutCache); // warm both paths (plans, connections, scripts)
  await measure(withCache);
  const without = await measure(withoutCache);
  const withC = await measure(withCache);
  const a = await withCache.ready({ project_id: project.id, limit: 20 });
  const b = await withoutCache.ready({ project_id: project.id, limit: 20 });
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error('the cache and Postgres disagree on the ready list');
  const total = Number((await pool.query('SELECT count(*) AS n FROM tasks WHERE project_id = $1', [project.id])).rows[0].n);
  await withCache.close();
  await withoutCache.close();
  await pool.end();
  return { tasks: total, limit: 20, reads: READS, postgres: summary(without), redis_cache: summary(withC) };
}

const prefix = `loom-bench:${randomBytes(4).toString('hex')}:`;
const db = await benchDatabase();
const result: Record<string, unknown> = { bench: 'events', quick, cores: (await import('node:os')).cpus().length };
try {
  const pool = new pg.Pool({ connectionString: db.url, max: 1 });
  await migrate(pool);
  await pool.end();
  result.event_latency = await eventLatency(db.url, prefix);
  result.ready_at_scale = await readyLatency(db.url, prefix);
} finally {
  await db.drop();
  const redis = new Redis(redisUrl);
  let cursor = '0';
  do {
    const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = nextCursor;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
  await redis.quit();
}
console.log(JSON.stringify(result, null, 2));
