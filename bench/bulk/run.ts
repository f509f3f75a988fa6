import 'reflect-metadata';
import { cpus, loadavg } from 'node:os';
import pg from 'pg';
import { openPglitePool } from '../../src/adapters/embedded/pglite-pool.js';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { SERVER_MODE, serviceForPool } from '../../src/app/service-factory.js';
import type { LoomService } from '../../src/app/loom-service.js';
import type { BulkTaskInput } from '../../src/ports/loom-api.js';
import { benchDatabase } from '../support/database.js';
import { percentile, round } from '../support/stats.js';

/**
 * bench/bulk: bulk create (LoomApi.createTasks) through the in-process
 * service, on Postgres (a fresh database) and on the embedded PGlite (in
 * memory). Prints one JSON document with, each run in a fresh project:
 * - flat_20000: 20,000 tasks without edges in one call (the shape of
 *   graphile-worker's addJobs, for the later side-by-side bench);
 * - chains_20000: 20,000 tasks in chains of 10 (18,000 edges) in one call;
 * - fan_in_1000: one task behind 1,000 new children, built in one call;
 *   target: under 200 ms.
 *
 *   npm run bench:bulk [-- --quick]
 */
const quick = process.argv.includes('--quick');
const RUNS = quick ? 2 : 5;
const ORIGIN = { kind: 'bench', id: 'bulk' };
const TARGETS = { fan_in_1000_ms: 200 };

const flat = (n: number): BulkTaskInput[] => Array.from({ length: n }, (_, i) => ({ title: `job ${i}`, context: { n: i } }));
const chains = (n: number): BulkTaskInput[] =>
  Array.from({ length: n }, (_, i) => ({ key: `t${i}`, title: `task ${i}`, ...(i % 10 === 0 ? {} : { depends_on: [`t${i - 1}`] }) }));
const fanIn = (n: number): BulkTaskInput[] => [
  ...Array.from({ length: n }, (_, i) => ({ key: `c${i}`, title: `child ${i}` })),
  { key: 'parent', title: 'Gather', depends_on: Array.from({ length: n }, (_, i) => `c${i}`) },
];

async function measure(api: LoomService): Promise<Record<string, unknown>> {
  let projects = 0;
  const time = async (shape: () => BulkTaskInput[], runs: number) => {
    const ms: number[] = [];
    let edges = 0;
    for (let r = 0; r < runs + 1; r++) {
      const p = (await api.createProject({ name: `bulk ${++projects}` })).id;
      const tasks = shape();
      const t0 = performance.now();
      const result = await api.createTasks({ project_id: p, origin: ORIGIN, tasks });
      const elapsed = performance.now() - t0;
      edges = result.edges;
      if (r > 0) ms.push(elapsed); // the first is a warm-up
    }
    const tasks = shape().length;
    return { tasks, edges, runs, p50_ms: round(percentile(ms, 50)), max_ms: round(Math.max(...ms)), tasks_per_s: Math.round(tasks / (percentile(ms, 50) / 1000)) };
  };
  const big = quick ? 2 : 3;
  return {
    flat_20000: await time(() => flat(20_000), big),
    chains_20000: await time(() => chains(20_000), big),
    fan_in_1000: await time(() => fanIn(1_000), RUNS),
  };
}

async function onPostgres(): Promise<Record<string, unknown>> {
  const db = await benchDatabase('bulk');
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  pool.on('error', () => {});
  try {
    await migrate(pool);
    const { service } = serviceForPool(pool, { ...SERVER_MODE, ownsPool: false });
    return { via: 'LoomService in-process on Postgres (a fresh database)', ...(await measure(service)) };
  } finally {
    await pool.end();
    await db.drop();
  }
}

async function onEmbedded(): Promise<Record<string, unknown>> {
  const lite = await openPglitePool(undefined);
  try {
    await migrate(lite.pool);
    const { service } = serviceForPool(lite.pool, { ownsPool: false });
    return { via: 'LoomService in-process on PGlite in memory', ...(await measure(service)) };
  } finally {
    await lite.close();
  }
}

const postgres = await onPostgres();
const embedded = await onEmbedded();
const fanIn1000 = (r: Record<string, unknown>) => (r.fan_in_1000 as { p50_ms: number }).p50_ms;
process.stdout.write(
  `${JSON.stringify(
    {
      bench: 'bulk',
      machine: { cpus: cpus().length, loadavg: loadavg().map((l) => round(l)) },
      postgres,
      embedded,
      targets: TARGETS,
      met: { fan_in_1000: fanIn1000(postgres) < TARGETS.fan_in_1000_ms && fanIn1000(embedded) < TARGETS.fan_in_1000_ms },
    },
    null,
    2,
  )}\n`,
);
