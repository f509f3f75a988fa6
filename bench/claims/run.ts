import 'reflect-metadata';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { AppConnector } from '../../src/app/connector.js';
import { SERVER_MODE, serviceForPool } from '../../src/app/service-factory.js';
import type { LoomApi } from '../../src/ports/loom-api.js';
import { benchDatabase } from '../support/database.js';
import { bulkLoadTasks } from '../support/seed.js';
import { inParallel, percentile, round } from '../support/stats.js';

/**
 * bench/claims: claim+complete throughput (one task per call, and batched: claimBatch of up
 * to 10 then one doneBatch), unblock time for wide fan-outs and
 * ready-query latency at 100k tasks, on Postgres and on the embedded mode
 * (through the daemon, as every loom process uses it). Prints one JSON document.
 *
 *   npm run bench:claims [-- --quick]
 */
const quick = process.argv.includes('--quick');
const N_TASKS = quick ? 2_000 : 20_000;
const CLAIMERS = 16;
const READY_TASKS = quick ? 10_000 : 100_000;
const origin = { kind: 'bench', id: 'bench' };


/** Seeds N_TASKS ready tasks, then times CLAIMERS running `claimer` until nothing is ready; each returns how many it completed. */
async function drain(api: LoomApi, projectId: string, claimer: (agent: string) => Promise<number>): Promise<{ cycles: number; seconds: number; cycles_per_s: number }> {
  await inParallel(N_TASKS, 16, async (i) => {
    await api.createTask({ project_id: projectId, title: `task ${i}`, origin });
  });
  const t0 = performance.now();
  const done = (await Promise.all(Array.from({ length: CLAIMERS }, (_, c) => claimer(`claimer-${c}`)))).reduce((a, b) => a + b, 0);
  const seconds = (performance.now() - t0) / 1000;
  if (done !== N_TASKS) throw new Error(`completed ${done} of ${N_TASKS}`);
  return { cycles: done, seconds: round(seconds), cycles_per_s: Math.round(done / seconds) };
}

/** One task per call: claim, then done. */
const cycles = (api: LoomApi, projectId: string) =>
  drain(api, projectId, async (agent) => {
    for (let n = 0; ; n++) {
      const r = await api.claim({ project_id: projectId, agent_id: agent });
      if (!r.claimed) return n;
      await api.done({ project_id: projectId, task_id: r.task.id, agent_id: agent, lease_token: r.lease.token });
    }
  });

const BATCH = 10;

/** Batched: each claimer claims up to BATCH tasks in one call and reports them in one. */
async function batchedCycles(api: LoomApi, projectId: string): Promise<{ cycles: number; seconds: number; cycles_per_s: number; batch: number }> {
  const r = await drain(api, projectId, async (agent) => {
    for (let n = 0; ; ) {
      const { claims } = await api.claimBatch({ project_id: projectId, agent_id: agent, count: BATCH });
      if (claims.length === 0) return n;
      const { results } = await api.doneBatch({ project_id: projectId, items: claims.map((x) => ({ task_id: x.task.id, agent_id: agent, lease_token: x.lease.token })) });
      const refused = results.find((x) => !x.ok);
      if (refused !== undefined) throw new Error(`a batch done was refused: ${JSON.stringify(refused)}`);
      n += results.length;
    }
  });
  return { ...r, batch: BATCH };
}

async function unblock(api: LoomApi, projectId: string, width: number): Promise<number> {
  const root = await api.createTask({ project_id: projectId, title: `root of ${width}`, origin });
  await inParallel(width, 16, async (i) => {
    await api.createTask({ project_id: projectId, title: `dependent ${i}`, origin, depends_on: [root.id] });
  });
  const c = await api.claim({ project_id: projectId, agent_id: 'bench', task_id: root.id });
  if (!c.claimed) throw new Error('root not claimable');
  const t0 = performance.now();
  const r = await api.done({ project_id: projectId, task_id: root.id, agent_id: 'bench', lease_token: c.lease.token });
  const ms = performance.now() - t0;
  if (r.unblocked.length !== width) throw new Error(`unblocked ${r.unblocked.length} of ${width}`);
  return round(ms, 1);
}

async function readyLatency(api: LoomApi, projectId: string, pool: pg.Pool | null): Promise<{ tasks: number; p50_ms: number; p99_ms: number }> {
  if (pool !== null) {
    await bulkLoadTasks(pool, projectId, READY_TASKS);
  }
  const samples: number[] = [];
  for (let i = 0; i < 500; i++) {
    const t0 = performance.now();
    await api.ready({ project_id: projectId, limit: 20 });
    samples.push(performance.now() - t0);
  }
  const loaded = pool === null ? READY_TASKS : Number((await pool.query('SELECT count(*) AS n FROM tasks WHERE project_id = $1', [projectId])).rows[0].n);
  return { tasks: loaded, p50_ms: round(percentile(samples, 50)), p99_ms: round(percentile(samples, 99)) };
}

async function postgres(): Promise<Record<string, unknown>> {
  const db = await benchDatabase();
  const pool = new pg.Pool({ connectionString: db.url, max: CLAIMERS + 2 });
  pool.on('error', () => {}); // an idle connection dropped: the next query reconnects
  try {
    await migrate(pool);
    // Composed as every server-mode loom process is (the connector uses SERVER_MODE too).
    const { service } = serviceForPool(pool, { ...SERVER_MODE, ownsPool: false });
    const p1 = await service.createProject({ name: 'cycles' });
    const claim = await cycles(service, p1.id);
    const pb = await service.createProject({ name: 'batched cycles' });
    const batched = await batchedCycles(service, pb.id);
    const p2 = await service.createProject({ name: 'unblock' });
    const u1k = await unblock(service, p2.id, 1_000);
    const u10k = await unblock(service, p2.id, quick ? 2_000 : 10_000);
    const p3 = await service.createProject({ name: 'ready' });
    const ready = await readyLatency(service, p3.id, pool);
    return { claim_complete: claim, claim_complete_batched: batched, unblock_ms: { dependents_1000: u1k, [`dependents_${quick ? 2000 : 10000}`]: u10k }, ready };
  } finally {
    await pool.end();
    await db.drop();
  }
}

async function embedded(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'loom-bench-'));
  const entry = fileURLToPath(new URL('../../src/app/entry/main.js', import.meta.url));
  const env = { ...process.env, LOOM_DATABASE_URL: '', LOOM_DAEMON_IDLE_SECONDS: '60' };
  const connector = new AppConnector({ env, cwd: dir, daemonEntry: entry });
  try {
    await connector.init({ projectDir: dir, name: 'bench' });
    const { api, project } = await connector.open({ projectDir: dir });
    const claim = await cycles(api, project.project_id);
    const batched = await batchedCycles(api, project.project_id);
    const u1k = await unblock(api, project.project_id, 1_000);
    const u10k = await unblock(api, project.project_id, quick ? 2_000 : 10_000);
    await api.close();
    // Ready latency at 100k: a second project in the same daemon, bulk-created through the API.
    mkdirSync(join(dir, 'ready', '.loom'), { recursive: true });
    return { via: 'daemon (unix socket)', claim_complete: claim, claim_complete_batched: batched, unblock_ms: { dependents_1000: u1k, [`dependents_${quick ? 2000 : 10000}`]: u10k } };
  } finally {
    await connector.daemonStop({ projectDir: dir }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

const result: Record<string, unknown> = { bench: 'claims', quick, loadavg_before: readFileSync('/proc/loadavg', 'utf8').trim(), tasks: N_TASKS, claimers: CLAIMERS, cores: (await import('node:os')).cpus().length };
if (!process.argv.includes('--embedded-only')) result.postgres = await postgres();
if (!process.argv.includes('--postgres-only')) result.embedded = await embedded();
result.loadavg_after = readFileSync('/proc/loadavg', 'utf8').trim();
const out = JSON.stringify(result, null, 2);
process.stdout.write(`${out}\n`);
if (process.env.LOOM_BENCH_OUT) writeFileSync(process.env.LOOM_BENCH_OUT, out);
