import 'reflect-metadata';
import pg from 'pg';
import { createServerContainer } from '../../src/app/service-factory.js';
import { EventBus } from '../../src/ports/event-bus.js';

/**
 * The other process of bench/events: a server-mode Loom process (its own
 * pool, relay and Redis bus) that subscribes to the project and notes when
 * each task.created event arrives. Talks to its parent over IPC.
 */
const now = (): number => performance.timeOrigin + performance.now();
const { BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_PREFIX, BENCH_PROJECT } = process.env;
const pool = new pg.Pool({ connectionString: BENCH_DATABASE_URL, max: 2 });
const container = await createServerContainer(pool, { redis: { url: BENCH_REDIS_URL!, keyPrefix: BENCH_PREFIX!, cache: false } });
const bus = container.get(EventBus);
const arrivals: Array<[string, number]> = [];
bus.subscribe(BENCH_PROJECT!, (e) => {
  if (e.type === 'task.created' && e.task_id !== null) arrivals.push([e.task_id, now()]);
});
process.on('message', (m: unknown) => {
  if (m === 'stop') {
    process.send!({ arrivals }, () => {
      void bus.close().then(() => pool.end()).then(() => process.exit(0));
    });
  }
});
// Subscribed once Redis acknowledged: let the parent start.
setTimeout(() => process.send!('ready'), 500);
