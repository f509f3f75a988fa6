import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisTaskCache } from '../../src/adapters/redis/redis-task-cache.js';
import type { Task } from '../../src/domain/task.js';
import type { ReadyHead } from '../../src/ports/task-cache.js';
import { OwnRedisServer, unusedPort } from '../support/redis-server.js';
import { taskFixture } from '../support/task-fixture.js';

/**
 * The cache against a Redis of this file's own (a redis-server child process
 * on a free port), which the tests kill, freeze and restart: reads must
 * answer `undefined` promptly whatever Redis does, writes must reject, and
 * the cache must work again once Redis is back.
 */

/** Generous on a loaded machine; the cache itself gives up on a read after 100 ms. */
const READ_BOUND_MS = 1_000;
const NOW = new Date('2025-01-01T12:00:00.000Z');

let seq = 0x2000;
const task = (over: Partial<Task> = {}): Task => taskFixture({ id: `loom-${(++seq).toString(16).padStart(8, '0')}`, ...over });
let tx = 1;
const head = (tasks: Task[]): ReadyHead => ({ position: { tx: String(tx++), id: '1' }, tasks, complete: true });

let redis: OwnRedisServer;

/** Resolves with the call's value and how long it took. */
async function timed<T>(call: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await call();
  return { value, ms: performance.now() - started };
}

/** Retries `attempt` until it resolves; fails with `what` after `ms`. */
async function eventually(attempt: () => Promise<unknown>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await attempt();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const caches: RedisTaskCache[] = [];
function openCache(url: string, lines: string[]): RedisTaskCache {
  const cache = new RedisTaskCache({ url, keyPrefix: 'loom-test:outage:', log: (l) => lines.push(l) });
  caches.push(cache);
  return cache;
}

beforeAll(async () => {
  redis = await OwnRedisServer.start();
});

afterAll(async () => {
  await redis.stop();
  await Promise.all(caches.map((c) => c.close()));
});

describe('RedisTaskCache when Redis fails', () => {
  it('misses reads promptly and rejects writes while Redis is down, logs it once, and works again after a restart', async () => {
    const lines: string[] = [];
    const cache = openCache(redis.url, lines);
    const before = [task()];
    await cache.storeHead('p', head(before));
    await cache.storeTasks('p', head([]).position, before);
    expect(await cache.ready('p', NOW, 10)).toStrictEqual(before);

    await redis.stop();
    for (let i = 0; i < 20; i++) {
      const ready = await timed(() => cache.ready('p', NOW, 10));
      expect(ready.value).toBeUndefined();
      expect(ready.ms).toBeLessThan(READ_BOUND_MS);
      const one = await timed(() => cache.task('p', before[0]!.id));
      expect(one.value).toBeUndefined();
      expect(one.ms).toBeLessThan(READ_BOUND_MS);
      await new Promise((r) => setTimeout(r, 10)); // across reconnect attempts
    }
    await expect(cache.storeHead('p', head([task()]))).rejects.toThrow(/redis task cache: cannot write/);
    await expect(cache.storeTasks('p', head([]).position, [task()])).rejects.toThrow(/redis task cache: cannot write/);
    await expect(cache.invalidateAll()).rejects.toThrow(/redis task cache: cannot write/);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`redis task cache: cannot use redis://127.0.0.1:${redis.port}`);

    await redis.start(); // same port, empty: this Redis keeps nothing on disk
    const after = [task(), task()];
    await eventually(() => cache.storeHead('p', head(after)), 'a write to succeed after the restart');
    expect(await cache.ready('p', NOW, 10)).toStrictEqual(after);
    expect(await cache.task('p', before[0]!.id)).toBeUndefined();
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe(`redis task cache: redis://127.0.0.1:${redis.port} answers again`);
  });

  it('misses reads promptly while Redis hangs, rejects writes, and serves again once it answers', async () => {
    const lines: string[] = [];
    const cache = openCache(redis.url, lines);
    const tasks = [task()];
    await cache.storeHead('q', head(tasks));
    expect(await cache.ready('q', NOW, 10)).toStrictEqual(tasks);

    redis.freeze(); // connected, but nothing answers
    try {
      for (let i = 0; i < 5; i++) {
        const ready = await timed(() => cache.ready('q', NOW, 10));
        expect(ready.value).toBeUndefined();
        expect(ready.ms).toBeLessThan(READ_BOUND_MS);
      }
      await expect(cache.storeHead('q', head([task()]))).rejects.toThrow(/redis task cache: cannot write/);
      expect(lines).toHaveLength(1);
    } finally {
      redis.thaw();
    }
    await eventually(async () => {
      if ((await cache.ready('q', NOW, 10)) === undefined) throw new Error('still a miss');
    }, 'reads to be served again');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('answers again');
  });

  it('misses reads and rejects writes when Redis was never reachable, and closes without hanging', async () => {
    const lines: string[] = [];
    const nobody = await unusedPort();
    const cache = openCache(`redis://127.0.0.1:${nobody}`, lines);
    for (let i = 0; i < 5; i++) {
      const ready = await timed(() => cache.ready('p', NOW, 10));
      expect(ready.value).toBeUndefined();
      expect(ready.ms).toBeLessThan(READ_BOUND_MS);
    }
    await expect(cache.storeHead('p', head([task()]))).rejects.toThrow(/redis task cache: cannot write/);
    expect(lines).toHaveLength(1);
    const closed = await timed(() => cache.close());
    expect(closed.ms).toBeLessThan(READ_BOUND_MS);
  });
});
