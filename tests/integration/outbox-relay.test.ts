import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { PgOutboxStore } from '../../src/adapters/postgres/pg-outbox-store.js';
import { RedisEventBus } from '../../src/adapters/redis/redis-event-bus.js';
import { OutboxRelay } from '../../src/app/relay.js';
import { serviceForPool } from '../../src/app/service-factory.js';
import type { LoomEvent } from '../../src/domain/events.js';
import type { RelayedEvent } from '../../src/ports/outbox.js';
import { createTestDatabase, eventsSettled, type TestDatabase } from '../support/databases.js';
import { poolDrained } from '../support/pools.js';
import { deleteKeys, testRedisUrl, uniquePrefix } from '../support/redis.js';
import { until } from '../support/until.js';
import { unusedPort } from '../support/redis-server.js';

/**
 * The outbox relay against real Postgres and Redis: events reach each
 * project's stream once each and in relay order, whatever order their
 * transactions commit in and however many relays run at once.
 */

const ORIGIN = { kind: 'test', id: 'relay' };
const prefix = uniquePrefix('outbox-relay');
let db: TestDatabase;
const pools: pg.Pool[] = [];
const closers: (() => Promise<void>)[] = [];
const logged: string[] = [];
let redis: Redis;

function pool(max = 4): pg.Pool {
  const p = new pg.Pool({ connectionString: db.url, max });
  p.on('error', () => {});
  pools.push(p);
  return p;
}

async function sink(keyPrefix = prefix): Promise<RedisEventBus> {
  const bus = new RedisEventBus({ url: await testRedisUrl(), keyPrefix, log: (l) => logged.push(l) });
  closers.push(() => bus.close());
  return bus;
}

/** Event ids in a project's stream, in stream order. */
async function streamIds(projectId: string, keyPrefix = prefix): Promise<number[]> {
  const entries = await redis.xrange(`${keyPrefix}events:${projectId}`, '-', '+');
  return entries.map(([, fields]) => (JSON.parse(fields[fields.indexOf('event') + 1]!) as LoomEvent).id);
}

/** The project's events in relay order, as Postgres has them. */
async function relayOrder(projectId: string): Promise<number[]> {
  const r = await pools[0]!.query('SELECT id FROM events WHERE project_id = $1 ORDER BY tx_id, id', [projectId]);
  return r.rows.map((row) => Number(row.id));
}

beforeAll(async () => {
  db = await createTestDatabase('relay');
  await migrate(pool(1));
  redis = new Redis(await testRedisUrl());
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await redis?.quit();
  const drained = Promise.all(pools.map(poolDrained));
  await Promise.all(pools.map((p) => p.end()));
  await drained;
  await db?.drop();
  await deleteKeys(prefix);
});


/**
 * The most relay passes a failing sink lets through in `ms`: the first, then
 * one after each backoff wait (pollMs doubling, up to 2 s: relay.ts), plus one
 * for a pass already running when the time was read.
 */
function attemptsOnBackoff(ms: number, pollMs: number): number {
  let attempts = 1;
  for (let t = 0, failures = 1; ; failures++) {
    t += Math.min(2_000, pollMs * 2 ** Math.min(failures, 10));
    if (t > ms) return attempts + 1;
    attempts++;
  }
}
describe('the outbox relay', () => {
  it('never passes an event whose transaction took its id first and commits last', async () => {
    const { service } = serviceForPool(pool(), { ownsPool: false });
    const project = await service.createProject({ name: 'late-commit' });
    const outbox = new PgOutboxStore(pool(), false);
    const bus = await sink();
    const relayed: number[] = [];
    const pass = () =>
      outbox.relayPass('redis', 100, async (batch, reader) => {
        relayed.push(...batch.map((b) => b.event.id));
        await bus.append(batch, reader.relayId);
      });
    await eventsSettled(pools[0]!);
    await until(async () => (await pass()).locked && (await pass()).locked, 'a quiet relay'); // past the project's own event

    // A takes its event id first and stays open; B takes the next id and commits.
    const a = await pools[0]!.connect();
    await a.query('BEGIN');
    const early = await a.query(`INSERT INTO events (project_id, type, payload, at) VALUES ($1, 'message.sent', '{}', now()) RETURNING id`, [project.id]);
    const late = await service.createTask({ project_id: project.id, title: 'committed first', origin: ORIGIN });
    const lateEvent = (await service.events({ project_id: project.id })).find((e) => e.task_id === late.id)!;
    expect(lateEvent.id).toBeGreaterThan(Number(early.rows[0].id));

    const before = relayed.length;
    const blocked = await pass();
    expect(blocked).toMatchObject({ locked: true, count: 0 }); // B waits behind A, though B is committed
    expect(relayed.length).toBe(before);

    await a.query('COMMIT');
    a.release();
    await eventsSettled(pools[0]!); // a transaction of a test beside this one holds the relay back too
    const after = await pass();
    expect(after).toMatchObject({ locked: true, count: 2 });
    expect(relayed.slice(before)).toEqual([Number(early.rows[0].id), lateEvent.id]);
    expect(await streamIds(project.id)).toEqual(await relayOrder(project.id));
  });

  it('with three relays and four writers at once, every event reaches its stream once, in relay order', async () => {
    const keyPrefix = `${prefix}many:`;
    const writers = Array.from({ length: 4 }, () => serviceForPool(pool(), { ownsPool: false }).service);
    await new PgOutboxStore(pool(), false).relayPass('many', 1, async () => {}); // the cursor starts here
    const projects = await Promise.all([writers[0]!.createProject({ name: 'x' }), writers[1]!.createProject({ name: 'y' })]);
    const relays = await Promise.all(
      [0, 1, 2].map(async () => {
        const relay = new OutboxRelay({ outbox: new PgOutboxStore(pool(), false), sink: await sink(keyPrefix), name: 'many', batchSize: 37, pollMs: 5, log: (l) => logged.push(l) });
        closers.push(() => relay.close());
        relay.start();
        return relay;
      }),
    );
    await Promise.all(
      writers.map(async (w, i) => {
        for (let n = 0; n < 60; n++) {
          const p = projects[(i + n) % 2]!;
          const t = await w.createTask({ project_id: p.id, title: `w${i}-${n}`, origin: ORIGIN });
          if (n % 3 === 0) {
            const claim = await w.claim({ project_id: p.id, task_id: t.id, agent_id: `w${i}` });
            if (!claim.claimed) throw new Error(`could not claim ${t.id}: ${claim.reason}`);
            await w.done({ project_id: p.id, task_id: t.id, agent_id: `w${i}`, lease_token: claim.lease.token });
          }
          if (n % 10 === 0) relays[n % 3]!.nudge();
        }
      }),
    );
    for (const p of projects) {
      const expected = await relayOrder(p.id);
      expect(expected.length).toBe(1 + 60 * 2 + 20 * 2 * 2); // project.created, 120 created, 40 claimed + 40 done
      await until(async () => (await streamIds(p.id, keyPrefix)).length >= expected.length, `the stream of ${p.name}`);
      await new Promise((r) => setTimeout(r, 100)); // room for a duplicate to show up, were there one
      expect(await streamIds(p.id, keyPrefix)).toEqual(expected);
    }
    const published = relays.reduce((n, r) => n + r.publishedCount, 0);
    const total = (await Promise.all(projects.map((p) => streamIds(p.id, keyPrefix)))).reduce((n, ids) => n + ids.length, 0);
    expect(published).toBe(total); // the relays shared the work and none published anything twice
  });

  it('a pass that published but could not move its cursor is published again without duplicates', async () => {
    const keyPrefix = `${prefix}crash:`;
    const { service } = serviceForPool(pool(), { ownsPool: false });
    const outbox = new PgOutboxStore(pool(), false);
    const bus = await sink(keyPrefix);
    await outbox.relayPass('crash', 100, async () => {}); // the cursor starts here
    const project = await service.createProject({ name: 'crash' });
    for (let i = 0; i < 5; i++) await service.createTask({ project_id: project.id, title: `t${i}`, origin: ORIGIN });
    await eventsSettled(pools[0]!);

    let seen: readonly RelayedEvent[] = [];
    await expect(
      outbox.relayPass('crash', 100, async (batch, reader) => {
        seen = batch;
        await bus.append(batch, reader.relayId);
        throw new Error('the relay died before moving its cursor');
      }),
    ).rejects.toThrow('the relay died');
    expect(seen).toHaveLength(6);
    expect(await streamIds(project.id, keyPrefix)).toEqual(seen.map((b) => b.event.id));

    const again = await outbox.relayPass('crash', 100, (batch, reader) => bus.append(batch, reader.relayId));
    expect(again).toMatchObject({ locked: true, count: 6 });
    expect(await streamIds(project.id, keyPrefix)).toEqual(seen.map((b) => b.event.id));
    expect((await outbox.lag('crash')).pending).toBe(0);
  });

  it('only peeks (one statement) while idle, and publishes what a process that does not relay left behind', async () => {
    const bus = await sink(`${prefix}idle:`);
    await new PgOutboxStore(pool(), false).relayPass('idle', 1, async () => {}); // the cursor starts here
    const outbox = new PgOutboxStore(pool(), false);
    const calls = { peeks: 0, passes: 0 };
    const hasPending = outbox.hasPending.bind(outbox);
    const relayPass = outbox.relayPass.bind(outbox);
    outbox.hasPending = (name) => {
      calls.peeks++;
      return hasPending(name);
    };
    outbox.relayPass = (name, limit, publish) => {
      calls.passes++;
      return relayPass(name, limit, publish);
    };
    const relay = new OutboxRelay({ outbox, sink: bus, name: 'idle', pollMs: 50, log: (l) => logged.push(l) });
    closers.push(() => relay.close());
    relay.start();
    await new Promise((r) => setTimeout(r, 1_000));
    expect(calls.passes).toBe(0); // no transaction, no lock: just the peek
    expect(calls.peeks).toBeGreaterThanOrEqual(5);

    const { service } = serviceForPool(pool(), { ownsPool: false });
    const project = await service.createProject({ name: 'left behind' });
    await until(async () => (await streamIds(project.id, `${prefix}idle:`)).length === 1, 'the event of a process that did not relay');
    expect(calls.passes).toBeGreaterThan(0);
  });

  it('two databases relaying to one Redis under the same prefix never drop each other\'s events', async () => {
    const keyPrefix = `${prefix}shared:`;
    const other = await createTestDatabase('relay-other');
    try {
      const otherPool = new pg.Pool({ connectionString: other.url, max: 2 });
      otherPool.on('error', () => {});
      pools.push(otherPool);
      await migrate(otherPool);
      const here = { outbox: new PgOutboxStore(pool(), false), service: serviceForPool(pool(), { ownsPool: false }).service };
      const there = { outbox: new PgOutboxStore(otherPool, false), service: serviceForPool(otherPool, { ownsPool: false }).service };
      const bus = await sink(keyPrefix);
      const relay = (side: typeof here) => side.outbox.relayPass('shared', 100, (batch, reader) => bus.append(batch, reader.relayId));
      await relay(here); // both cursors start here
      await relay(there);
      // The other database commits first (its transaction ids are the lower: one Postgres server
      // numbers them for all its databases), but is relayed last.
      const early = await there.service.createProject({ name: 'committed first' });
      const late = await here.service.createProject({ name: 'committed last' });
      await eventsSettled(pools[0]!);
      await eventsSettled(otherPool);
      expect(await relay(here)).toMatchObject({ count: 1 });
      expect(await relay(there)).toMatchObject({ count: 1 });
      expect(await streamIds(late.id, keyPrefix)).toHaveLength(1);
      expect(await streamIds(early.id, keyPrefix)).toHaveLength(1);
    } finally {
      await other.drop().catch(() => {});
    }
  });

  it('while Redis is unreachable, backs off instead of trying once per commit, and keeps the events', async () => {
    const down = new RedisEventBus({ url: `redis://127.0.0.1:${await unusedPort()}`, keyPrefix: `${prefix}down:`, log: () => {} });
    closers.push(() => down.close());
    const outbox = new PgOutboxStore(pool(), false);
    await outbox.relayPass('down', 1, async () => {}); // the cursor starts here
    // Attempts to reach Redis: a pass that finds every event held back by a transaction open
    // elsewhere on the server (another test's, in another database) sends nothing and fails nothing.
    let passes = 0;
    const relayPass = outbox.relayPass.bind(outbox);
    outbox.relayPass = (name, limit, publish) =>
      relayPass(name, limit, (batch, reader) => {
        passes++;
        return publish(batch, reader);
      });
    const lines: string[] = [];
    const relay = new OutboxRelay({ outbox, sink: down, name: 'down', pollMs: 50, log: (l) => lines.push(l) });
    closers.push(() => relay.close());
    relay.start();
    const { service } = serviceForPool(pool(), { ownsPool: false });
    const started = Date.now();
    const project = await service.createProject({ name: 'down' });
    for (let i = 0; i < 60; i++) {
      await service.createTask({ project_id: project.id, title: `t${i}`, origin: ORIGIN });
      relay.nudge(); // as the process's own bus does after each commit
    }
    await until(() => relay.failing, 'the relay to notice');
    // 61 commits, and only the attempts the backoff schedule allows in the time they took (one per
    // nudge would be ~20-60): on a quiet machine ~2 s, so 6; on a loaded one, where the same
    // commits were seen to take ~40 s, more. A fixed bound of 10 failed there with 25.
    expect(passes).toBeLessThanOrEqual(attemptsOnBackoff(Date.now() - started, 50));
    expect(lines.filter((l) => l.includes('cannot publish'))).toHaveLength(1);
    expect((await outbox.lag('down')).pending).toBe(61);
  });

  it('reports its lag: how many events wait and since when', async () => {
    const { service } = serviceForPool(pool(), { ownsPool: false });
    const outbox = new PgOutboxStore(pool(), false);
    await outbox.relayPass('lag', 100, async () => {});
    expect(await outbox.lag('lag')).toMatchObject({ pending: 0, oldest_at: null });
    const project = await service.createProject({ name: 'lag' });
    await service.createTask({ project_id: project.id, title: 'waits', origin: ORIGIN });
    const lag = await outbox.lag('lag');
    expect(lag.pending).toBe(2);
    expect(Date.parse(lag.oldest_at!)).toBeLessThanOrEqual(Date.now());
  });
});
