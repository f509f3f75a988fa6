import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisTaskCache, type RedisTaskCacheOptions } from '../../src/adapters/redis/redis-task-cache.js';
import type { Task } from '../../src/domain/task.js';
import { deleteKeys, testRedisUrl, uniquePrefix } from '../support/redis.js';
import { taskFixture } from '../support/task-fixture.js';
import { taskCacheContract } from './task-cache.contract.js';

const prefix = uniquePrefix('task-cache');
const opened: RedisTaskCache[] = [];

async function openCache(options: Partial<RedisTaskCacheOptions> = {}): Promise<RedisTaskCache> {
  const cache = new RedisTaskCache({ url: await testRedisUrl(), keyPrefix: prefix, log: () => {}, ...options });
  opened.push(cache);
  return cache;
}

afterAll(async () => {
  await Promise.all(opened.map((cache) => cache.close()));
  await deleteKeys(prefix);
});

// A contract space is a key prefix: caches under one prefix share one generation and one set of heads.
taskCacheContract('redis', (space) => openCache({ keyPrefix: `${prefix}${space}:` }));

const NOW = new Date('2025-01-01T12:00:00.000Z');
const position = { tx: '7', id: '1' };
let seq = 0x1000;
const task = (over: Partial<Task> = {}): Task => taskFixture({ id: `loom-${(++seq).toString(16).padStart(8, '0')}`, ...over });

describe('RedisTaskCache on Redis', () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = new Redis(await testRedisUrl());
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('keeps the key layout its README describes, under keyPrefix', async () => {
    const keyPrefix = `${prefix}layout:`;
    const project = `proj-${process.pid}`;
    const cache = await openCache({ keyPrefix, taskTtlSeconds: 600 });
    const t = task({ project_id: project, priority: 'p2', run_after: '2025-01-01T11:00:00.000Z' });
    await cache.storeHead(project, { position: { tx: '12', id: '345' }, tasks: [t], complete: true });
    await cache.storeTasks(project, position, [t]);

    const member = `p2:${Date.parse('2025-01-01T11:00:00.000Z')}:${t.id}`;
    expect(await redis.zrange(`${keyPrefix}cache:ready:${project}`, 0, '-1')).toEqual([member]);
    expect(Number(await redis.zscore(`${keyPrefix}cache:ready:${project}`, member))).toBe(0);
    const headHash = await redis.hgetall(`${keyPrefix}cache:head:${project}`);
    const generation = await redis.get(`${keyPrefix}cache:generation`);
    expect(generation).toMatch(/^[0-9a-f]{24}$/);
    expect(headHash).toEqual({
      generation,
      position: '00000000000000000012:00000000000000000345',
      complete: '1',
      size: '1',
      [member]: JSON.stringify(t),
    });
    const taskKey = `${keyPrefix}cache:task:${project}:${t.id}`;
    expect(await redis.hgetall(taskKey)).toEqual({
      generation,
      position: '00000000000000000007:00000000000000000001',
      revision: String(t.revision),
      task: JSON.stringify(t),
    });
    expect(await redis.ttl(taskKey)).toBeGreaterThan(590);
    expect(await redis.ttl(`${keyPrefix}cache:head:${project}`)).toBe(-1);
    expect(await redis.ttl(`${keyPrefix}cache:ready:${project}`)).toBe(-1);
    expect(await redis.exists(`loom:cache:head:${project}`, `loom:cache:ready:${project}`)).toBe(0);
  });

  it('cuts a head longer than headSize and treats it as cut', async () => {
    const cache = await openCache({ keyPrefix: `${prefix}cut:`, headSize: 3 });
    const tasks = Array.from({ length: 5 }, () => task());
    await cache.storeHead('p', { position, tasks, complete: true });
    expect(await cache.ready('p', NOW, 3)).toStrictEqual(tasks.slice(0, 3));
    expect(await cache.ready('p', NOW, 4)).toBeUndefined();
  });

  it('misses rather than answers short when the ready set or the generation key is lost (eviction)', async () => {
    const keyPrefix = `${prefix}evicted:`;
    const cache = await openCache({ keyPrefix });
    const tasks = [task(), task()];
    await cache.storeHead('p', { position, tasks, complete: true });
    await redis.del(`${keyPrefix}cache:ready:p`);
    expect(await cache.ready('p', NOW, 10)).toBeUndefined();

    await cache.storeHead('p', { position, tasks, complete: true });
    await cache.storeTasks('p', position, tasks);
    await redis.del(`${keyPrefix}cache:generation`);
    expect(await cache.ready('p', NOW, 10)).toBeUndefined();
    expect(await cache.task('p', tasks[0]!.id)).toBeUndefined();
    // The next write starts a new generation: the entries from before stay unserved.
    await cache.storeTasks('p', position, [tasks[1]!]);
    expect(await cache.ready('p', NOW, 10)).toBeUndefined();
    expect(await cache.task('p', tasks[0]!.id)).toBeUndefined();
    expect(await cache.task('p', tasks[1]!.id)).toStrictEqual(tasks[1]);
  });

  it('rejects positions that are not decimal strings of at most 20 digits, and writes nothing', async () => {
    const cache = await openCache({ keyPrefix: `${prefix}positions:` });
    for (const bad of [{ tx: '-1', id: '1' }, { tx: '1e3', id: '1' }, { tx: '', id: '1' }, { tx: '1', id: '184467440737095516150' }]) {
      await expect(cache.storeHead('p', { position: bad, tasks: [task()], complete: true })).rejects.toThrow(RangeError);
      await expect(cache.storeTasks('p', bad, [task()])).rejects.toThrow(RangeError);
    }
    expect(await cache.ready('p', NOW, 10)).toBeUndefined();
    await cache.storeHead('p', { position: { tx: '000000000000000000000042', id: '007' }, tasks: [], complete: true });
    expect(await cache.ready('p', NOW, 10)).toEqual([]);
  });

  it('leaves odd read arguments to Postgres', async () => {
    const cache = await openCache({ keyPrefix: `${prefix}odd:` });
    await cache.storeHead('p', { position, tasks: [task()], complete: true });
    expect(await cache.ready('p', NOW, -1)).toBeUndefined();
    expect(await cache.ready('p', NOW, 1.5)).toBeUndefined();
    expect(await cache.ready('p', new Date(Number.NaN), 10)).toBeUndefined();
  });

  it('answers the first read of a fresh cache (the connection opens within the read)', async () => {
    const keyPrefix = `${prefix}first-read:`;
    const writer = await openCache({ keyPrefix });
    const tasks = [task()];
    await writer.storeHead('p', { position, tasks, complete: true });
    const reader = await openCache({ keyPrefix });
    expect(await reader.ready('p', NOW, 10)).toStrictEqual(tasks);
  });

  it('rejects writes and misses reads once closed', async () => {
    const cache = await openCache({ keyPrefix: `${prefix}closed:` });
    await cache.storeHead('p', { position, tasks: [task()], complete: true });
    await cache.close();
    await cache.close();
    expect(await cache.ready('p', NOW, 10)).toBeUndefined();
    await expect(cache.invalidateAll()).rejects.toThrow(/closed/);
  });
});
