import 'reflect-metadata';
import pg from 'pg';
import { openPglitePool } from '../../src/adapters/embedded/pglite-pool.js';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { serviceForPool } from '../../src/app/service-factory.js';
import type { LoomService } from '../../src/app/loom-service.js';
import { benchDatabase } from '../support/database.js';
import { round } from '../support/stats.js';

/**
 * bench/fsck: how long `loom fsck` takes on a big project. Prints one JSON
 * document with, for Postgres and the embedded PGlite:
 * - check: a healthy project of N tasks (chains of 10: a third done, the
 *   rest one pending head and nine blocked behind it; 0.9 dependency and
 *   ~1.7 events per task), the whole check in one call;
 * - repair_clean: `--repair` when nothing needs it (locks, recounts, checks);
 * - damaged: 1% of the weights and 1% of the unmet_deps counters wrong,
 *   checked, then repaired (and checked again inside the call).
 *
 *   npm run build && node dist/bench/fsck/run.js [--quick]
 */
const quick = process.argv.includes('--quick');
const N = quick ? 10_000 : 100_000;
const CHAIN = 10;

/** Loads a healthy graph of `n` tasks with its events, straight through SQL. */
async function seed(pool: pg.Pool, projectId: string, n: number): Promise<void> {
  const doneChains = Math.floor(n / CHAIN / 3);
  await pool.query(
    `INSERT INTO tasks (id, project_id, title, status, priority, origin, max_attempts, unmet_deps, weight, blocked_reason, created_at, updated_at)
     SELECT 'loom-' || lpad(to_hex(g), 8, '0'), $1, 'bench ' || g,
            CASE WHEN (g - 1) / $3 < $4 THEN 'done' WHEN (g - 1) % $3 = 0 THEN 'pending' ELSE 'blocked' END,
            (ARRAY['p0','p1','p2'])[1 + g % 3], '{"kind":"bench","id":"seed"}', 3,
            CASE WHEN (g - 1) / $3 < $4 OR (g - 1) % $3 = 0 THEN 0 ELSE 1 END,
            CASE WHEN (g - 1) / $3 < $4 THEN 0 ELSE $3 - 1 - (g - 1) % $3 END,
            CASE WHEN (g - 1) / $3 >= $4 AND (g - 1) % $3 <> 0 THEN 'dependencies' END,
            now() - (g || ' seconds')::interval, now()
       FROM generate_series(1, $2::int) g`,
    [projectId, n, CHAIN, doneChains],
  );
  await pool.query(
    `INSERT INTO task_deps (task_id, depends_on)
     SELECT 'loom-' || lpad(to_hex(g), 8, '0'), 'loom-' || lpad(to_hex(g - 1), 8, '0') FROM generate_series(1, $1::int) g WHERE (g - 1) % $2 <> 0`,
    [n, CHAIN],
  );
  await pool.query(
    `INSERT INTO events (project_id, type, task_id, payload, at)
     SELECT $1, 'task.created', t.id,
            jsonb_build_object('status', CASE WHEN EXISTS (SELECT 1 FROM task_deps d WHERE d.task_id = t.id) THEN 'blocked' ELSE 'pending' END), t.created_at
       FROM tasks t WHERE t.project_id = $1 ORDER BY t.id`,
    [projectId],
  );
  await pool.query(
    `INSERT INTO events (project_id, type, task_id, payload, at)
     SELECT $1, e.type, t.id, '{}', t.updated_at FROM tasks t, (VALUES (1, 'task.claimed'), (2, 'task.done')) AS e(k, type)
      WHERE t.project_id = $1 AND t.status = 'done' ORDER BY t.id, e.k`,
    [projectId],
  );
  await pool.query('ANALYZE');
}

async function damage(pool: pg.Pool, projectId: string): Promise<number> {
  const w = await pool.query(`UPDATE tasks SET weight = weight + 3 WHERE project_id = $1 AND status = 'blocked' AND hashtext(id) % 100 = 0`, [projectId]);
  const u = await pool.query(`UPDATE tasks SET unmet_deps = unmet_deps + 1 WHERE project_id = $1 AND status = 'blocked' AND hashtext(id) % 100 = 1`, [projectId]);
  return (w.rowCount ?? 0) + (u.rowCount ?? 0);
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const t0 = performance.now();
  const result = await fn();
  return { ms: round(performance.now() - t0, 0), result };
}

async function measure(api: LoomService, pool: pg.Pool): Promise<Record<string, unknown>> {
  const p = (await api.createProject({ name: 'fsck' })).id;
  const seeded = await timed(() => seed(pool, p, N));
  await api.fsck({ project_id: p }); // warm: plans, caches
  const check = await timed(() => api.fsck({ project_id: p }));
  if (!check.result.ok) throw new Error(`seeded graph is not clean: ${JSON.stringify(check.result.violations.slice(0, 3))}`);
  const repairClean = await timed(() => api.fsck({ project_id: p, repair: true }));
  const damaged = await damage(pool, p);
  const checkDamaged = await timed(() => api.fsck({ project_id: p }));
  const repair = await timed(() => api.fsck({ project_id: p, repair: true }));
  if (!repair.result.ok) throw new Error('repair left violations');
  return {
    seed_ms: seeded.ms,
    checked: check.result.checked,
    check_ms: check.ms,
    repair_clean_ms: repairClean.ms,
    damaged_counters: damaged,
    check_damaged_ms: checkDamaged.ms,
    violations_found: checkDamaged.result.totals.violations,
    repair_ms: repair.ms,
    repaired: repair.result.repaired?.counts,
  };
}

async function main(): Promise<void> {
  const out: Record<string, unknown> = { tasks: N };
  const db = await benchDatabase('fsck');
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  pool.on('error', () => {}); // an idle connection dropped: the next query reconnects
  try {
    await migrate(pool);
    const { service } = serviceForPool(pool, { ownsPool: false });
    out.postgres = await measure(service, pool);
    await service.close();
  } finally {
    await pool.end();
    await db.drop();
  }
  const lite = await openPglitePool(undefined);
  try {
    await migrate(lite.pool);
    const { service } = serviceForPool(lite.pool, { ownsPool: false });
    out.embedded = await measure(service, lite.pool);
    await service.close();
  } finally {
    await lite.close();
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

await main();
