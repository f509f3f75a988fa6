import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import pg from 'pg';
import { openPglitePool } from '../../src/adapters/embedded/pglite-pool.js';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { serviceForPool } from '../../src/app/service-factory.js';
import type { LoomService } from '../../src/app/loom-service.js';
import { benchDatabase } from '../support/database.js';
import { inParallel, percentile, round } from '../support/stats.js';

/**
 * bench/recovery: how fast crashed work comes back. Prints one JSON document:
 * - recovery latency: from a lease expiring to the task being claimable
 *   again, with the reconcile tick running every second (the figure a user
 *   sees is bounded by the tick interval, so that is reported too);
 * - tick duration with 10,000 claimed tasks (leases alive: the tick must
 *   not get slow as work piles up), and with 1,000 of them expired (requeued
 *   with backoff: the first retry waits 2.5-5 s by default, which the
 *   expiry-to-claimable figure includes).
 *
 *   npm run bench:recovery [-- --quick]
 */
const quick = process.argv.includes('--quick');
const CLAIMED = quick ? 2_000 : 10_000;
const TICK_MS = 1000;
const origin = { kind: 'bench', id: 'bench' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


async function measure(api: LoomService, maintain: () => Promise<void> = async () => {}): Promise<Record<string, unknown>> {
  // 1. Recovery latency: claim with a 1 s lease, let it lapse, and poll for it to be claimable again.
  const p1 = (await api.createProject({ name: 'recovery' })).id;
  const samples: number[] = [];
  const requeuedAfter: number[] = [];
  const backoffs: number[] = [];
  const ticker = setInterval(() => void api.reconcileAll().catch(() => undefined), TICK_MS);
  try {
    for (let i = 0; i < (quick ? 5 : 15); i++) {
      const t = await api.createTask({ project_id: p1, title: `crash ${i}`, origin });
      const c = await api.claim({ project_id: p1, agent_id: 'crasher', task_id: t.id, lease_seconds: 1 });
      if (!c.claimed) throw new Error('claim failed');
      const expiresAt = Date.parse(c.lease.expires_at);
      let requeued = false;
      for (;;) {
        if (!requeued) {
          const now = (await api.status({ project_id: p1, task_id: t.id })).task;
          if (now.status === 'pending') {
            requeued = true;
            requeuedAfter.push(Date.now() - expiresAt);
            backoffs.push(Date.parse(now.run_after!) - Date.now());
          }
        }
        const again = await api.claim({ project_id: p1, agent_id: 'rescuer', task_id: t.id });
        if (again.claimed) {
          samples.push(Date.now() - expiresAt);
          await api.done({ project_id: p1, task_id: t.id, agent_id: 'rescuer', lease_token: again.lease.token });
          break;
        }
        await sleep(10);
      }
    }
  } finally {
    clearInterval(ticker);
  }

  // 2. Tick duration with many claimed tasks.
  const p2 = (await api.createProject({ name: 'tick' })).id;
  await inParallel(CLAIMED, 16, async (i) => {
    await api.createTask({ project_id: p2, title: `work ${i}`, origin });
  });
  // Long leases first; the 1,000 short ones last, so they are still alive for the first ticks.
  await inParallel(CLAIMED - 1000, 16, async (i) => {
    await api.claim({ project_id: p2, agent_id: `agent-${i % 50}`, lease_seconds: 3600 });
  });
  await inParallel(1000, 16, async (i) => {
    await api.claim({ project_id: p2, agent_id: `agent-${i % 50}`, lease_seconds: 3 });
  });
  await maintain();
  const ticks: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await api.reconcile({ project_id: p2 });
    ticks.push(performance.now() - t0);
  }
  await sleep(3100); // 1,000 of the leases lapse
  const t0 = performance.now();
  const r = await api.reconcile({ project_id: p2 });
  const expiredTick = performance.now() - t0;
  return {
    lease_expiry_to_requeued_ms: { tick_interval_ms: TICK_MS, p50: round(percentile(requeuedAfter, 50)), max: round(Math.max(...requeuedAfter)) },
    retry_backoff_after_requeue_ms: { p50: round(percentile(backoffs, 50)), note: 'retry.base_ms 5000 with equal jitter: 2.5-5 s for a first retry' },
    lease_expiry_to_claimable_ms: {
      tick_interval_ms: TICK_MS,
      p50: round(percentile(samples, 50)),
      max: round(Math.max(...samples)),
      samples: samples.length,
    },
    tick_ms_with_claimed: { claimed: CLAIMED, p50: round(percentile(ticks, 50)), max: round(Math.max(...ticks)) },
    tick_ms_requeueing_expired: { expired: r.requeued.length, ms: round(expiredTick) },
  };
}

async function postgres(): Promise<Record<string, unknown>> {
  const db = await benchDatabase();
  const pool = new pg.Pool({ connectionString: db.url, max: 16 });
  pool.on('error', () => {});
  try {
    await migrate(pool);
    return await measure(serviceForPool(pool, { ownsPool: false }).service);
  } finally {
    await pool.end();
    await sleep(200);
    await db.drop();
  }
}

async function embedded(): Promise<Record<string, unknown>> {
  const pglite = await openPglitePool(undefined);
  try {
    await migrate(pglite.pool);
    // The daemon analyses and vacuums after bursts of work (PGlite has no autovacuum); do the same here.
    const maintain = async () => void (await pglite.pool.query('VACUUM (ANALYZE) tasks, task_deps, events'));
    return { via: 'in-process PGlite, as the daemon runs it', ...(await measure(serviceForPool(pglite.pool, { ownsPool: false }).service, maintain)) };
  } finally {
    await pglite.close();
  }
}

const result = { bench: 'recovery', quick, cores: (await import('node:os')).cpus().length, postgres: await postgres(), embedded: await embedded() };
const out = JSON.stringify(result, null, 2);
process.stdout.write(`${out}\n`);
if (process.env.LOOM_BENCH_OUT) writeFileSync(process.env.LOOM_BENCH_OUT, out);
