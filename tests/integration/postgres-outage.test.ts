import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { serviceForPool } from '../../src/app/service-factory.js';
import { LoomError } from '../../src/domain/errors.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { poolDrained } from '../support/pools.js';
import { taskFixture } from '../support/task-fixture.js';
import { TcpProxy } from '../support/tcp-proxy.js';

/**
 * Server mode when Postgres becomes unreachable (a TCP proxy in front of the
 * real server drops every connection and refuses new ones): every call fails
 * with DATABASE_UNAVAILABLE and a hint, never a driver error; a transaction
 * cut in the middle leaves nothing behind; once Postgres answers again the
 * same service works on, without a restart.
 */

const ORIGIN = { kind: 'test', id: 'pg-outage' };
let db: TestDatabase;
let proxy: TcpProxy;
const pools: pg.Pool[] = [];

beforeAll(async () => {
  db = await createTestDatabase('pg-outage');
  const direct = new pg.Pool({ connectionString: db.url, max: 1 });
  pools.push(direct);
  await migrate(direct);
  const target = new URL(db.url);
  proxy = await TcpProxy.start(target.hostname, Number(target.port || 5432));
});

afterAll(async () => {
  await proxy?.close();
  const drained = Promise.all(pools.map(poolDrained));
  await Promise.all(pools.map((p) => p.end()));
  await drained;
  await db?.drop();
});

/** The outcome of a call that must fail: its error. */
async function failure(call: Promise<unknown>): Promise<LoomError> {
  const e = await call.then(
    () => {
      throw new Error('the call succeeded while Postgres was unreachable');
    },
    (error: unknown) => error,
  );
  expect(LoomError.is(e), String(e)).toBe(true);
  return e as LoomError;
}

describe('Postgres unreachable in server mode', () => {
  it('fails every call with a coded error, writes nothing half, and recovers when Postgres is back', async () => {
    const url = new URL(db.url);
    url.host = `127.0.0.1:${proxy.port}`;
    const pool = new pg.Pool({ connectionString: url.toString(), max: 4, connectionTimeoutMillis: 2_000 });
    pool.on('error', () => {});
    pools.push(pool);
    const { service, store } = serviceForPool(pool, { ownsPool: false });
    const direct = pools[0]!;
    const count = async (): Promise<{ tasks: number; events: number }> => {
      const r = await direct.query('SELECT (SELECT count(*) FROM tasks)::int AS tasks, (SELECT count(*) FROM events)::int AS events');
      return r.rows[0];
    };

    const project = await service.createProject({ name: 'pg-outage' });
    const held = await service.createTask({ project_id: project.id, title: 'claimed before', origin: ORIGIN });
    const claim = await service.claim({ project_id: project.id, task_id: held.id, agent_id: 'a' });
    if (!claim.claimed) throw new Error('not claimed');
    const before = await count();

    // A transaction cut between its writes: the task row it wrote must not survive.
    const halfway = store.transaction(async (tx) => {
      await tx.insertTask(taskFixture({ id: 'loom-0000cafe', project_id: project.id, title: 'half-written' }));
      proxy.cut();
      await tx.insertTask(taskFixture({ id: 'loom-0000beef', project_id: project.id, title: 'never written' }));
    });
    const cut = await failure(halfway);
    expect(cut.code).toBe('DATABASE_UNAVAILABLE');

    // While it lasts: reads and writes alike fail with the code and a hint.
    const errors = [
      await failure(service.createTask({ project_id: project.id, title: 'during', origin: ORIGIN })),
      await failure(service.ready({ project_id: project.id })),
      await failure(service.done({ project_id: project.id, task_id: held.id, agent_id: 'a', lease_token: claim.lease.token })),
      await failure(service.status({ project_id: project.id, task_id: held.id })),
    ];
    for (const e of errors) {
      expect(e.code).toBe('DATABASE_UNAVAILABLE');
      expect(e.hint).toMatch(/\S/);
      expect(e.message).not.toMatch(/ECONNREFUSED|SELECT|INSERT/);
    }
    expect(await count()).toEqual(before);
    expect((await direct.query(`SELECT count(*)::int AS n FROM tasks WHERE id IN ('loom-0000cafe', 'loom-0000beef')`)).rows[0].n).toBe(0);

    // Back: the same service goes on; the lease taken before the outage still completes the task.
    proxy.restore();
    const done = await service.done({ project_id: project.id, task_id: held.id, agent_id: 'a', lease_token: claim.lease.token });
    expect(done.task.status).toBe('done');
    const after = await service.createTask({ project_id: project.id, title: 'after', origin: ORIGIN });
    expect((await service.ready({ project_id: project.id })).map((t) => t.id)).toEqual([after.id]);
    expect(await count()).toEqual({ tasks: before.tasks + 1, events: before.events + 2 });
  });
});
