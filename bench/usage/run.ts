import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import pg from 'pg';
import { openPglitePool } from '../../src/adapters/embedded/pglite-pool.js';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { SERVER_MODE, serviceForPool } from '../../src/app/service-factory.js';
import type { LoomApi } from '../../src/ports/loom-api.js';
import type { TaskStore } from '../../src/ports/task-store.js';
import { benchDatabase } from '../support/database.js';
import { inParallel, percentile, round } from '../support/stats.js';

/**
 * bench/usage: what reporting usage costs the report path, and what reading a running total
 * (the figure a budget check at claim time would read) costs after many reports. Claim+done
 * cycles by 16 claimers without usage, with usage on flat tasks (the one-statement path plus the
 * usage statement, every report adding to the project's totals row), and with usage on children of
 * one epic (the locking path; every report also adds to the epic's row). Postgres, and the
 * embedded store in-process. Prints one JSON document.
 *
 *   npm run bench:usage [-- --quick]
 */
const quick = process.argv.includes('--quick');
const N_TASKS = quick ? 1_000 : 5_000;
const CLAIMERS = 16;
const origin = { kind: 'bench', id: 'bench' };
const usage = { input_tokens: 1200, output_tokens: 340, cache_read_tokens: 5600, cost_usd: 0.012345, model: 'bench' };

async function cycles(api: LoomApi, mode: 'none' | 'flat' | 'epic_none' | 'epic'): Promise<{ cycles_per_s: number; seconds: number }> {
  const p = (await api.createProject({ name: `usage-${mode}` })).id;
  const epic = mode.startsWith('epic') ? (await api.createTask({ project_id: p, title: 'epic', origin, epic: true })).id : undefined;
  await inParallel(N_TASKS, 16, async (i) => {
    await api.createTask({ project_id: p, title: `task ${i}`, origin, ...(epic === undefined ? {} : { parent_id: epic }) });
  });
  let done = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CLAIMERS }, async (_, c) => {
      for (;;) {
        const r = await api.claim({ project_id: p, agent_id: `claimer-${c}` });
        if (!r.claimed) return;
        await api.done({ project_id: p, task_id: r.task.id, agent_id: `claimer-${c}`, lease_token: r.lease.token, ...(mode.endsWith('none') ? {} : { usage }) });
        done++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  if (done !== N_TASKS) throw new Error(`completed ${done} of ${N_TASKS}`);
  if (!mode.endsWith('none')) {
    const total = (await api.costs({ project_id: p })).total;
    if (total.reports !== N_TASKS || total.cost_micros !== N_TASKS * 12_345) throw new Error(`totals off: ${JSON.stringify(total)}`);
  }
  return { cycles_per_s: Math.round(done / seconds), seconds: round(seconds) };
}

/** Reading the project's and an epic's running totals: one primary-key lookup each, whatever the history. */
async function totalsRead(store: TaskStore, api: LoomApi): Promise<{ reports: number; p50_ms: number; p99_ms: number }> {
  const projects = await store.projectIds();
  const samples: number[] = [];
  for (let i = 0; i < 500; i++) {
    const t0 = performance.now();
    await store.usageTotals(projects[i % projects.length]!, ['']);
    samples.push(performance.now() - t0);
  }
  let reports = 0;
  for (const p of projects) reports += (await api.costs({ project_id: p })).total.reports;
  return { reports, p50_ms: round(percentile(samples, 50), 3), p99_ms: round(percentile(samples, 99), 3) };
}

async function run(pool: pg.Pool, options: object): Promise<Record<string, unknown>> {
  await migrate(pool);
  const { service, store } = serviceForPool(pool, { ...options, ownsPool: false });
  const out: Record<string, unknown> = {};
  out.done_without_usage = await cycles(service, 'none');
  out.done_with_usage = await cycles(service, 'flat');
  // Children of one epic take the locking path (the epic may complete): without and with usage.
  out.epic_children_done_without_usage = await cycles(service, 'epic_none');
  out.epic_children_done_with_usage = await cycles(service, 'epic');
  out.totals_read = await totalsRead(store, service);
  return out;
}

async function postgres(): Promise<Record<string, unknown>> {
  const db = await benchDatabase('usage');
  const pool = new pg.Pool({ connectionString: db.url, max: CLAIMERS + 2 });
  pool.on('error', () => {});
  try {
    return await run(pool, SERVER_MODE);
  } finally {
    await pool.end();
    await db.drop();
  }
}

async function embedded(): Promise<Record<string, unknown>> {
  const lite = await openPglitePool(undefined);
  try {
    return { via: 'in-process PGlite', ...(await run(lite.pool, {})) };
  } finally {
    await lite.close();
  }
}

const result: Record<string, unknown> = { bench: 'usage', quick, tasks: N_TASKS, claimers: CLAIMERS, cores: (await import('node:os')).cpus().length };
if (!process.argv.includes('--embedded-only')) result.postgres = await postgres();
if (!process.argv.includes('--postgres-only')) result.embedded = await embedded();
const out = JSON.stringify(result, null, 2);
process.stdout.write(`${out}\n`);
if (process.env.LOOM_BENCH_OUT) writeFileSync(process.env.LOOM_BENCH_OUT, out);
