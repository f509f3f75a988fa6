import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import pg from 'pg';
import { openPglitePool } from '../../src/adapters/embedded/pglite-pool.js';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { PrometheusMetrics } from '../../src/adapters/prometheus/prometheus-metrics.js';
import { SERVER_MODE, serviceForPool } from '../../src/app/service-factory.js';
import type { LoomApi } from '../../src/ports/loom-api.js';
import { benchDatabase } from '../support/database.js';
import { inParallel, percentile, round } from '../support/stats.js';

/**
 * bench/metrics: what a scrape costs, and what scraping costs the claim path.
 * Prints one JSON document with, for Postgres and the embedded PGlite (in-process):
 * - catch_up: the first scrapes of a project of N tasks whose whole event log
 *   (~1.7 events per task) was never folded (each scrape folds at most a batch);
 * - scrape: a full scrape (LoomApi.metrics + the Prometheus text) once caught
 *   up, with a few claims and completions between scrapes, p50/p95/max, next
 *   to the bare per-status count of the same rows (what any exact scrape must
 *   at least do: it shows how loaded the machine was);
 * and, on Postgres, claim+complete throughput (16 claimers) in alternating
 * rounds without and with a scraper hitting the same database every second
 * from its own pool (as a `loom serve` scraped by Prometheus would).
 *
 *   npm run bench:metrics [-- --quick]
 */
const quick = process.argv.includes('--quick');
const N = quick ? 10_000 : 100_000;
const SCRAPES = 30;
const CLAIM_ROUND_TASKS = quick ? 1_000 : 4_000;
const CLAIMERS = 16;
const origin = { kind: 'bench', id: 'bench' };

/** `n` tasks (a third done, claimed 30 s to 10 min before), with their events, straight through SQL. */
async function seed(pool: pg.Pool, projectId: string, n: number): Promise<void> {
  await pool.query(
    `INSERT INTO tasks (id, project_id, title, status, priority, origin, max_attempts, created_at, updated_at)
     SELECT 'loom-' || lpad(to_hex(g), 8, '0'), $1, 'bench ' || g, CASE WHEN g % 3 = 0 THEN 'done' ELSE 'pending' END,
            (ARRAY['p0','p1','p2'])[1 + g % 3], '{"kind":"bench","id":"seed"}', 3, now() - interval '1 day', now()
       FROM generate_series(1, $2::int) g`,
    [projectId, n],
  );
  await pool.query(
    `INSERT INTO events (project_id, type, task_id, payload, at)
     SELECT $1, 'task.created', t.id, '{"status":"pending"}', t.created_at FROM tasks t WHERE t.project_id = $1 ORDER BY t.id`,
    [projectId],
  );
  await pool.query(
    `INSERT INTO events (project_id, type, task_id, agent_id, payload, at)
     SELECT $1, e.type, t.id, 'seed', '{}', CASE WHEN e.k = 1 THEN t.updated_at - ((30 + hashtext(t.id)::bigint % 570) || ' seconds')::interval ELSE t.updated_at END
       FROM tasks t, (VALUES (1, 'task.claimed'), (2, 'task.done')) AS e(k, type)
      WHERE t.project_id = $1 AND t.status = 'done' ORDER BY t.id, e.k`,
    [projectId],
  );
  await pool.query('ANALYZE');
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const t0 = performance.now();
  const result = await fn();
  return { ms: performance.now() - t0, result };
}

async function scrapeCost(api: LoomApi, pool: pg.Pool): Promise<Record<string, unknown>> {
  const prometheus = new PrometheusMetrics();
  const scrape = async (projectId: string) => {
    const m = await api.metrics({ project_id: projectId });
    return { m, text: await prometheus.render([m]) };
  };
  const p = (await api.createProject({ name: 'scrape' })).id;
  const seeded = await timed(() => seed(pool, p, N));
  const events = Number((await pool.query('SELECT count(*) AS n FROM events WHERE project_id = $1', [p])).rows[0].n);
  const catchUp: number[] = [];
  for (;;) {
    const s = await timed(() => scrape(p));
    catchUp.push(round(s.ms, 1));
    if (s.result.m.events_behind === 0) break;
  }
  const samples: number[] = [];
  const floor: number[] = [];
  let last: Awaited<ReturnType<typeof scrape>> | undefined;
  for (let i = 0; i < SCRAPES; i++) {
    for (let k = 0; k < 5; k++) {
      const c = await api.claim({ project_id: p, agent_id: `agent-${k}` });
      if (c.claimed) await api.done({ project_id: p, task_id: c.task.id, agent_id: `agent-${k}`, lease_token: c.lease.token });
    }
    const s = await timed(() => scrape(p));
    samples.push(s.ms);
    last = s.result;
    // The floor on this machine right now: the bare status count a scrape cannot do without.
    floor.push((await timed(() => pool.query('SELECT status, count(*) FROM tasks WHERE project_id = $1 GROUP BY status', [p]))).ms);
  }
  const total = Object.values(last!.m.tasks).reduce((a, b) => a + b, 0);
  if (total !== N) throw new Error(`scraped ${total} tasks of ${N}`);
  return {
    tasks: total,
    events,
    seed_ms: Math.round(seeded.ms),
    catch_up_scrapes_ms: catchUp,
    scrape_ms: { p50: round(percentile(samples, 50), 1), p95: round(percentile(samples, 95), 1), max: round(Math.max(...samples), 1), scrapes: SCRAPES },
    status_count_alone_ms: { p50: round(percentile(floor, 50), 1), p95: round(percentile(floor, 95), 1) },
    exposition_bytes: Buffer.byteLength(last!.text),
    completions_counted: last!.m.counters.completions,
  };
}

async function claimRound(api: LoomApi, projectId: string): Promise<number> {
  await inParallel(CLAIM_ROUND_TASKS, 16, async (i) => {
    await api.createTask({ project_id: projectId, title: `task ${i}`, origin });
  });
  let done = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CLAIMERS }, async (_, c) => {
      for (;;) {
        const r = await api.claim({ project_id: projectId, agent_id: `claimer-${c}` });
        if (!r.claimed) return;
        await api.done({ project_id: projectId, task_id: r.task.id, agent_id: `claimer-${c}`, lease_token: r.lease.token });
        done++;
      }
    }),
  );
  if (done !== CLAIM_ROUND_TASKS) throw new Error(`completed ${done} of ${CLAIM_ROUND_TASKS}`);
  return Math.round(done / ((performance.now() - t0) / 1000));
}

/** Alternating rounds, off/on/off/on, so drift of the machine falls on both sides. */
async function claimsWithAndWithoutScraper(url: string): Promise<Record<string, unknown>> {
  const pool = new pg.Pool({ connectionString: url, max: CLAIMERS + 2 });
  const scraperPool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => {});
  scraperPool.on('error', () => {});
  const { service } = serviceForPool(pool, { ...SERVER_MODE, ownsPool: false });
  const { service: scraper } = serviceForPool(scraperPool, { ...SERVER_MODE, ownsPool: false });
  const prometheus = new PrometheusMetrics();
  const off: number[] = [];
  const on: number[] = [];
  let scrapes = 0;
  try {
    for (const withScraper of [false, true, false, true]) {
      const p = (await service.createProject({ name: withScraper ? 'scraped' : 'unscraped' })).id;
      let stop = false;
      const loop = (async () => {
        while (withScraper && !stop) {
          await prometheus.render([await scraper.metrics({ project_id: p })]);
          scrapes++;
          await new Promise((r) => setTimeout(r, 1000));
        }
      })();
      const rate = await claimRound(service, p);
      stop = true;
      await loop;
      (withScraper ? on : off).push(rate);
    }
  } finally {
    await service.close();
    await scraper.close();
    await pool.end();
    await scraperPool.end();
  }
  const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);
  return { tasks_per_round: CLAIM_ROUND_TASKS, claimers: CLAIMERS, cycles_per_s_off: off, cycles_per_s_on: on, mean_off: mean(off), mean_on: mean(on), scrapes_during: scrapes };
}

async function main(): Promise<void> {
  const out: Record<string, unknown> = { bench: 'metrics', quick, tasks: N, cores: (await import('node:os')).cpus().length };
  const db = await benchDatabase('metrics');
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  pool.on('error', () => {});
  try {
    await migrate(pool);
    const { service } = serviceForPool(pool, { ...SERVER_MODE, ownsPool: false });
    out.postgres = await scrapeCost(service, pool);
    await service.close();
    if (!process.argv.includes('--no-claims')) out.postgres_claims = await claimsWithAndWithoutScraper(db.url);
  } finally {
    await pool.end();
    await db.drop();
  }
  const lite = await openPglitePool(undefined);
  try {
    await migrate(lite.pool);
    const { service } = serviceForPool(lite.pool, { ownsPool: false });
    out.embedded = await scrapeCost(service, lite.pool);
    await service.close();
  } finally {
    await lite.close();
  }
  const text = JSON.stringify(out, null, 2);
  process.stdout.write(`${text}\n`);
  if (process.env.LOOM_BENCH_OUT) writeFileSync(process.env.LOOM_BENCH_OUT, text);
}

await main();
