/**
 * Server mode keeps the ready index clean under bursts of claims: the store
 * vacuums `tasks` once a burst has rewritten enough rows, one process at a
 * time. Autovacuum is turned off for this database's table, so what is
 * measured is the store's doing (and the test does not depend on the
 * server's autovacuum settings).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { MIN_WRITES_BETWEEN_VACUUMS } from '../../src/adapters/postgres/vacuum-after-bursts.js';
import { serviceForPool } from '../../src/app/service-factory.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';

const CLAIMERS = 8;
// Every cycle rewrites two rows (claim, done): this many cycles make one burst, plus a little.
const BURST = MIN_WRITES_BETWEEN_VACUUMS / 2 + 100;

let db: TestDatabase;
let pool: pg.Pool;
let projectId: string;

beforeAll(async () => {
  db = await createTestDatabase('vacuum');
  pool = new pg.Pool({ connectionString: db.url, max: CLAIMERS + 4 });
  pool.on('error', () => {});
  await migrate(pool);
  await pool.query('ALTER TABLE tasks SET (autovacuum_enabled = false)');
  projectId = (await serviceForPool(pool, { ownsPool: false }).service.createProject({ name: 'vacuum' })).id;
  // Enough pending tasks for six bursts (two of them in case a vacuum was held back), in claim order (equal priority and weight, ages apart).
  await pool.query(
    `INSERT INTO tasks (id, project_id, title, status, priority, origin, max_attempts, weight, created_at, updated_at)
     SELECT 'loom-' || lpad(to_hex(g), 8, '0'), $1, 'task ' || g, 'pending', 'p1', '{"kind":"test","id":"t"}', 3, 0,
            now() - interval '1 day' + (g || ' ms')::interval, now()
       FROM generate_series(1, $2::int) g`,
    [projectId, 6 * BURST + 100],
  );
  await pool.query('VACUUM ANALYZE tasks');
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

/** Claim+done cycles through a store of its own; resolves once the store (and a vacuum it started) is done. */
async function burst(options: { vacuumAfterBursts: boolean }, cycles = BURST): Promise<void> {
  const { service } = serviceForPool(pool, { ownsPool: false, ...options });
  let left = cycles;
  await Promise.all(
    Array.from({ length: CLAIMERS }, async (_, c) => {
      while (left-- > 0) {
        const r = await service.claim({ project_id: projectId, agent_id: `c${c}` });
        if (!r.claimed) throw new Error('ran out of ready tasks');
        await service.done({ project_id: projectId, task_id: r.task.id, agent_id: `c${c}`, lease_token: r.lease.token });
      }
    }),
  );
  await service.close(); // waits for a vacuum under way
}

async function vacuums(): Promise<number> {
  const r = await pool.query(`SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'tasks'`);
  return Number(r.rows[0].vacuum_count);
}

/** Index and heap pages the claim's pick reads to find the best ready task. */
async function pickPages(): Promise<number> {
  const r = await pool.query(
    `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)
     SELECT id FROM tasks WHERE project_id = $1 AND status = 'pending' AND held_at IS NULL AND unmet_deps = 0 AND (run_after IS NULL OR run_after <= now())
      ORDER BY priority, weight DESC, created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`,
    [projectId],
  );
  const plan = r.rows[0]['QUERY PLAN'][0].Plan;
  return Number(plan['Shared Hit Blocks']) + Number(plan['Shared Read Blocks']);
}

describe('vacuum after bursts (server mode)', () => {
  it('without it, every claim steps over the index entries of the tasks claimed before', async () => {
    const before = await vacuums();
    await burst({ vacuumAfterBursts: false }, 2 * BURST);
    expect(await vacuums()).toBe(before);
    // ~5,200 dead entries at the head of the ready index: some 50 pages for one pick.
    expect(await pickPages()).toBeGreaterThan(30);
  });

  it('a burst is followed by one vacuum, and the next claim reads a few pages again', async () => {
    // What a vacuum may remove depends on the whole server: a transaction open anywhere on it
    // (another test file's, in another database) while the claimers take their snapshots keeps
    // every entry those could still see. So a burst whose vacuum was held back like that is run
    // again, up to three bursts; each must have exactly one vacuum, and one must leave the pick
    // a few pages.
    const pages: number[] = [];
    for (let attempt = 0; attempt < 3 && !(pages.at(-1)! < 10); attempt++) {
      const before = await vacuums();
      await burst({ vacuumAfterBursts: true });
      expect(await vacuums()).toBe(before + 1);
      // What is left: the entries of the ~100 cycles after the vacuum started, on a page or two.
      pages.push(await pickPages());
    }
    expect(pages.at(-1)).toBeLessThan(10);
  });

  it('one process at a time: while another holds the vacuum lock, a burst leaves the vacuum to it', async () => {
    const other = await pool.connect();
    try {
      await other.query(`SELECT pg_advisory_lock(hashtext('loom.vacuum.tasks'))`);
      const before = await vacuums();
      await burst({ vacuumAfterBursts: true });
      expect(await vacuums()).toBe(before);
    } finally {
      await other.query(`SELECT pg_advisory_unlock(hashtext('loom.vacuum.tasks'))`);
      other.release();
    }
  });
});
