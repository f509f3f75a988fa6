import { Container } from 'inversify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisModule } from '../../src/adapters/redis/module.js';
import { RedisEventBus, type RedisEventBusOptions } from '../../src/adapters/redis/redis-event-bus.js';
import { RedisTaskCache } from '../../src/adapters/redis/redis-task-cache.js';
import type { LoomEvent } from '../../src/domain/events.js';
import { EventSink } from '../../src/ports/outbox.js';
import { TaskCache } from '../../src/ports/task-cache.js';
import { deleteKeys, testRedisUrl, uniquePrefix } from '../support/redis.js';
import { unusedPort } from '../support/redis-server.js';
import { eventBusContract } from './event-bus.contract.js';
import { until } from '../support/until.js';

const prefix = uniquePrefix('event-bus');
const opened: RedisEventBus[] = [];
const logged: string[] = [];

async function openBus(options: Partial<RedisEventBusOptions> = {}): Promise<RedisEventBus> {
  const bus = new RedisEventBus({ url: await testRedisUrl(), keyPrefix: prefix, log: (l) => logged.push(l), ...options });
  opened.push(bus);
  await bus.ready();
  return bus;
}

afterAll(async () => {
  await Promise.all(opened.map((bus) => bus.close()));
  await deleteKeys(prefix);
  // Against a healthy Redis the buses report nothing but the contract's throwing subscriber.
  expect(logged.filter((l) => !/subscriber of project p failed on event \d+ \(task.done\): subscriber bug/.test(l))).toEqual([]);
});

// Each contract case gets keys and channels of its own, so a case that fails
// before closing its bus cannot leak events into the next one. Delivery goes
// through Redis: the contract waits for each delivery rather than a fixed time
// (a fixed 50 ms was seen to fall short with a dozen test processes on 2 cores).
let contractCase = 0;
eventBusContract('redis', () => openBus({ keyPrefix: `${prefix}contract-${++contractCase}:` }));

let nextId = 1_000_000;
const events = (projectId: string, n: number): LoomEvent[] =>
  Array.from({ length: n }, () => ({
    id: nextId++,
    project_id: projectId,
    type: 'task.updated',
    task_id: 'loom-0000000b',
    agent_id: 'agent-a',
    payload: { n: nextId },
    at: new Date().toISOString(),
  }));

const chunks = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

describe('RedisEventBus across processes', () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = new Redis(await testRedisUrl());
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('delivers every event published on one bus to the subscribers of another, in order, once', async () => {
    const a = await openBus();
    const b = await openBus();
    const project = `two-${nextId}`;
    const onB: number[] = [];
    const onA: number[] = [];
    b.subscribe(project, (e) => onB.push(e.id));
    a.subscribe(project, (e) => onA.push(e.id));
    await b.ready(); // B's SUBSCRIBE is acknowledged: from now on it hears A

    const sent = events(project, 500);
    for (const batch of chunks(sent, 25)) a.publish(batch);
    await until(() => onB.length >= 500 && onA.length >= 500, '500 events on both buses');
    expect(onB).toEqual(sent.map((e) => e.id));
    expect(onA).toEqual(sent.map((e) => e.id));

    // The same events again, as a relay republishing them would (from A, and
    // from a third process C), then one new event after them on each connection.
    const c = await openBus();
    for (const batch of chunks(sent, 50)) a.publish(batch);
    for (const batch of chunks(sent, 100)) c.publish(batch);
    const [afterA] = events(project, 1);
    const [afterC] = events(project, 1);
    a.publish([afterA!]);
    c.publish([afterC!]);
    const heardBoth = (ids: number[]) => ids.includes(afterA!.id) && ids.includes(afterC!.id);
    await until(() => heardBoth(onA) && heardBoth(onB), 'the events after the duplicates');
    for (const heard of [onA, onB]) {
      expect(heard.slice(0, 500)).toEqual(sent.map((e) => e.id));
      expect(heard.slice(500).sort((x, y) => x - y)).toEqual([afterA!.id, afterC!.id]);
    }
  });

  it('delivers an event published right after subscribe, while the subscriber connection is still opening', async () => {
    const bus = new RedisEventBus({ url: await testRedisUrl(), keyPrefix: prefix, log: (l) => logged.push(l) });
    opened.push(bus);
    // The publisher is up (its first event reached the stream); the subscriber
    // connection opens only on the first subscribe below.
    const warmUp = `warm-${nextId}`;
    bus.publish(events(warmUp, 1));
    await until(async () => (await redis.xlen(`${prefix}events:${warmUp}`)) === 1, 'the warm-up event in the stream');
    const project = `fresh-${nextId}`;
    const seen: number[] = [];
    bus.subscribe(project, (e) => seen.push(e.id));
    const sent = events(project, 3);
    bus.publish(sent);
    await until(() => seen.length === 3, 'the three events');
    expect(seen).toEqual(sent.map((e) => e.id));
  });

  it("hears what another process's relay appends while its own SUBSCRIBE is still on the way", async () => {
    // Keys of its own: the relay position guard is per prefix.
    const relay = await openBus({ keyPrefix: `${prefix}joining:` });
    let position = 0;
    for (let round = 0; round < 10; round++) {
      // A process just starting: its subscriber connection opens with this SUBSCRIBE.
      const listener = new RedisEventBus({ url: await testRedisUrl(), keyPrefix: `${prefix}joining:`, log: (l) => logged.push(l) });
      opened.push(listener);
      const project = `joining-${nextId}`;
      const seen: number[] = [];
      listener.subscribe(project, (e) => seen.push(e.id)); // no ready(): the append races the SUBSCRIBE
      const sent = events(project, 2);
      await relay.append(sent.map((event) => ({ event, position: { tx: '7000', id: String(++position) } })), 'joining');
      await until(() => seen.length === 2, `both events of round ${round}`);
      expect(seen).toEqual(sent.map((e) => e.id));
    }
  });

  it('keeps each project\'s events in a stream, capped near streamMaxLen', async () => {
    const bus = await openBus({ streamMaxLen: 100 });
    const project = `stream-${nextId}`;
    const key = `${prefix}events:${project}`;
    const first = events(project, 50);
    const seen: number[] = [];
    bus.subscribe(project, (e) => seen.push(e.id));
    bus.publish(first);
    await until(() => seen.length === 50, 'the first 50 events');
    const entries = await redis.xrange(key, '-', '+');
    const stored = entries.map(([, fields]) => JSON.parse(fields[fields.indexOf('event') + 1]!) as LoomEvent);
    expect(stored).toEqual(first);
    expect(entries.map(([, fields]) => fields[fields.indexOf('id') + 1])).toEqual(first.map((e) => String(e.id)));

    const more = events(project, 1_000);
    for (const batch of chunks(more, 100)) bus.publish(batch);
    await until(() => seen.length === 1_050, 'all 1,050 events');
    const length = await redis.xlen(key);
    expect(length).toBeGreaterThanOrEqual(100); // MAXLEN ~ trims whole nodes only, never below the cap
    expect(length).toBeLessThan(1_050);
    const [last] = await redis.xrevrange(key, '+', '-', 'COUNT', 1);
    expect(JSON.parse(last![1][last![1].indexOf('event') + 1]!)).toEqual(more.at(-1));
  });

  it('publishes without blocking or throwing while Redis is unreachable, and logs the outage once', async () => {
    const lines: string[] = [];
    const port = await unusedPort();
    const bus = new RedisEventBus({ url: `redis://127.0.0.1:${port}`, keyPrefix: prefix, log: (l) => lines.push(l) });
    let ticked = false;
    setImmediate(() => {
      ticked = true;
    });
    const off = bus.subscribe('down', () => {});
    for (let i = 0; i < 200; i++) expect(bus.publish(events('down', 5))).toBeUndefined();
    expect(ticked).toBe(false); // every call returned before the event loop turned once

    await until(() => lines.length > 0, 'the outage to be logged');
    for (let i = 0; i < 20; i++) {
      bus.publish(events('down', 5));
      await new Promise((r) => setTimeout(r, 20)); // across several reconnect attempts
    }
    off();
    await bus.close();
    const publishing = lines.filter((l) => l.includes('cannot publish'));
    expect(publishing).toHaveLength(1);
    expect(publishing[0]).toContain(`127.0.0.1:${port}`);
    expect(lines.filter((l) => l.includes('cannot listen'))).toHaveLength(1);
    expect(lines).toHaveLength(2);
  });

  it('keeps its keys and channels under keyPrefix', async () => {
    const bus = await openBus();
    const project = `keys-${nextId}`;
    const seen: number[] = [];
    bus.subscribe(project, (e) => seen.push(e.id));
    bus.publish(events(project, 3));
    await until(() => seen.length === 3, 'three events');
    expect(await redis.exists(`${prefix}events:${project}`)).toBe(1);
    expect(await redis.exists(`loom:events:${project}`)).toBe(0);
  });
});

describe('redisModule', () => {
  it('binds the EventSink port to one RedisEventBus, and the TaskCache port unless the cache is off', async () => {
    const container = new Container();
    await container.load(redisModule({ url: await testRedisUrl(), keyPrefix: prefix, log: (l) => logged.push(l) }));
    const sink = container.get(EventSink);
    expect(sink).toBeInstanceOf(RedisEventBus);
    expect(container.get(EventSink)).toBe(sink);
    const cache = container.get(TaskCache);
    expect(cache).toBeInstanceOf(RedisTaskCache);
    const seen: number[] = [];
    sink.subscribe('module', (e) => seen.push(e.id));
    await (sink as RedisEventBus).ready();
    const sent = events('module', 2);
    await sink.append(sent.map((event, i) => ({ event, position: { tx: '1', id: String(i + 1) } })), 'module');
    await until(() => seen.length === 2, 'two events');
    await sink.close();
    await cache.close();
    await expect(sink.append(events('module', 1).map((event) => ({ event, position: { tx: '2', id: '1' } })), 'module')).rejects.toThrow(/closed/);
    expect(seen).toEqual(sent.map((e) => e.id));

    const uncached = new Container();
    await uncached.load(redisModule({ url: await testRedisUrl(), keyPrefix: prefix, cache: false }));
    expect(uncached.isBound(TaskCache)).toBe(false);
  });

  it('appends a batch the relay sends again (after a crash) only once', async () => {
    const bus = await openBus({ keyPrefix: `${prefix}append:` });
    const project = `append-${nextId}`;
    const seen: number[] = [];
    bus.subscribe(project, (e) => seen.push(e.id));
    await bus.ready();
    const batch = events(project, 5).map((event, i) => ({ event, position: { tx: '900', id: String(100 + i) } }));
    await bus.append(batch.slice(0, 3), 'crashed');
    await bus.append(batch, 'crashed'); // the first three again, then two new ones
    await bus.append(batch.slice(4), 'crashed'); // already there
    await until(() => seen.length >= 5, 'five events');
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toEqual(batch.map((b) => b.event.id));
    const reader = new Redis(await testRedisUrl());
    const stream = await reader.xrange(`${prefix}append:events:${project}`, '-', '+');
    await reader.quit();
    expect(stream.map(([, fields]) => Number(fields[fields.indexOf('id') + 1]))).toEqual(batch.map((b) => b.event.id));
  });
});
