import { openTestPglite } from '../support/pglite.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { migrate } from '../../src/adapters/postgres/migrator.js';
import { serviceForPool } from '../../src/app/service-factory.js';
import type { LoomApi } from '../../src/ports/loom-api.js';
import { createTestDatabase } from '../support/databases.js';
import { poolDrained } from '../support/pools.js';

/**
 * Completing a task releases its dependents set-based: one statement however
 * many wait on it. Proven on both stores by recording the SQL the real pool
 * runs during `done` (the database stays real; the pool is only observed).
 */

const ORIGIN = { kind: 'test', id: 'fan-out' };
const AGENT = 'agent-fan-out';
const FAN_OUT = 1_000;

interface Recorder {
  start(): void;
  stop(): string[];
}

/**
 * Wraps `pool.connect` so every client it hands out (including the one
 * `pool.query` takes internally through `this.connect`) records the text of
 * each query while recording is on.
 */
function recordStatements(pool: pg.Pool): Recorder {
  let texts: string[] | null = null;
  const wrapped = new WeakSet<object>();
  const wrap = (client: pg.PoolClient | undefined): void => {
    if (client === undefined || wrapped.has(client)) return;
    wrapped.add(client);
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const first = args[0] as string | { text?: string };
      texts?.push(typeof first === 'string' ? first : String(first?.text));
      return query(...args);
    };
  };
  const connect = pool.connect.bind(pool) as (cb?: (err: Error | undefined, client?: pg.PoolClient, done?: unknown) => void) => Promise<pg.PoolClient> | void;
  (pool as unknown as { connect: unknown }).connect = (cb?: (err: Error | undefined, client?: pg.PoolClient, done?: unknown) => void) => {
    if (typeof cb === 'function') {
      return connect((err, client, done) => {
        wrap(client);
        cb(err, client, done);
      });
    }
    return (connect() as Promise<pg.PoolClient>).then((client) => {
      wrap(client);
      return client;
    });
  };
  return {
    start() {
      texts = [];
    },
    stop() {
      const out = texts ?? [];
      texts = null;
      return out;
    },
  };
}

interface Target {
  api: LoomApi;
  recorder: Recorder;
  close(): Promise<void>;
}

function fanOutSuite(name: string, open: () => Promise<Target>): void {
  describe(`fan-out on ${name}`, () => {
    let t: Target;
    beforeAll(async () => {
      t = await open();
    });
    afterAll(async () => {
      await t?.close();
    });

    /** A root task with n dependents; completes the root and returns what `done` did and ran. */
    async function completeRootOf(n: number) {
      const p = (await t.api.createProject({ name: `fan-out ${n}` })).id;
      const root = await t.api.createTask({ project_id: p, title: 'root', origin: ORIGIN });
      const dependents: string[] = [];
      for (let i = 0; i < n; i += 10) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(10, n - i) }, (_, k) =>
            t.api.createTask({ project_id: p, title: `dependent ${i + k}`, origin: ORIGIN, depends_on: [root.id] }),
          ),
        );
        dependents.push(...batch.map((d) => d.id));
      }
      const claim = await t.api.claim({ project_id: p, agent_id: AGENT });
      if (!claim.claimed || claim.task.id !== root.id) throw new Error('expected to claim the root');
      const before = (await t.api.events({ project_id: p, limit: 10_000 })).at(-1)!.id;

      t.recorder.start();
      const result = await t.api.done({ project_id: p, task_id: root.id, agent_id: AGENT, lease_token: claim.lease.token });
      const statements = t.recorder.stop();
      return { p, root, dependents, result, statements, before };
    }

    it(`unblocks ${FAN_OUT} dependents with as many statements as one dependent takes`, async () => {
      const one = await completeRootOf(1);
      const many = await completeRootOf(FAN_OUT);

      // the recorder saw the writes of `done` (so the comparison below is not two empty lists)
      expect(one.statements.length).toBeGreaterThan(0);
      expect(one.statements.some((s) => /\bUPDATE\b/i.test(s))).toBe(true);
      expect(one.result.unblocked).toEqual(one.dependents);

      expect(many.result.unblocked).toHaveLength(FAN_OUT);
      expect(new Set(many.result.unblocked)).toEqual(new Set(many.dependents));
      // constant, not per dependent: the same statements whether 1 or 1,000 wait
      expect(many.statements).toHaveLength(one.statements.length);
      expect(many.statements).toEqual(one.statements);

      // every dependent is ready now
      const ready = await t.api.ready({ project_id: many.p, limit: 1000 });
      expect(new Set(ready.map((r) => r.id))).toEqual(new Set(many.dependents));
      const overview = await t.api.overview({ project_id: many.p });
      expect(overview.ready).toBe(FAN_OUT);
      expect(overview.counts).toMatchObject({ pending: FAN_OUT, blocked: 0, done: 1 });

      // and each got exactly one task.unblocked event, written with the completion
      const events = await t.api.events({ project_id: many.p, since: many.before, limit: 10_000 });
      expect(events.filter((e) => e.type === 'task.done').map((e) => e.task_id)).toEqual([many.root.id]);
      const unblocked = events.filter((e) => e.type === 'task.unblocked').map((e) => e.task_id);
      expect(unblocked).toHaveLength(FAN_OUT);
      expect(new Set(unblocked)).toEqual(new Set(many.dependents));
    });
  });
}

fanOutSuite('postgres', async () => {
  const db = await createTestDatabase('fanout');
  const pool = new pg.Pool({ connectionString: db.url, max: 10 });
  await migrate(pool);
  const recorder = recordStatements(pool);
  const { service } = serviceForPool(pool);
  return {
    api: service,
    recorder,
    async close() {
      const drained = poolDrained(pool);
      await service.close();
      await drained;
      await db.drop();
    },
  };
});

fanOutSuite('embedded (PGlite)', async () => {
  const lite = await openTestPglite();
  await migrate(lite.pool);
  const recorder = recordStatements(lite.pool);
  const { service } = serviceForPool(lite.pool, { ownsPool: false });
  return {
    api: service,
    recorder,
    async close() {
      await service.close();
      await lite.close();
    },
  };
});
