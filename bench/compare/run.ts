import 'reflect-metadata';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import pg from 'pg';
import { Logger, makeWorkerUtils, run, type Runner } from 'graphile-worker';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { SERVER_MODE, serviceForPool } from '../../src/app/service-factory.js';
import type { LoomApi } from '../../src/ports/loom-api.js';
import { BENCH_ADMIN_URL, benchDatabase } from '../support/database.js';
import { percentile, round } from '../support/stats.js';

/**
 * bench/compare: Loom and graphile-worker (the pinned devDependency) side by
 * side, in one run, on the same Postgres, with the same N and C, a fresh
 * database per scenario and an exactly-once check after every one. The order
 * alternates over the repeats (Loom first on odd repeats, graphile-worker
 * first on even ones) so neither always gets the warmer machine. Prints one
 * JSON document: every figure of every repeat, the medians and the ratios
 * (Loom / graphile-worker; above 1.0 Loom is faster).
 *
 *   npm run bench:compare [-- --quick] [-- --repeats 3] [-- --only one_at_a_time,batched]
 *
 * Scenarios (Loom in server mode, in-process API, as `bench/claims` measures it):
 * - one_at_a_time: C workers, each claims one task and completes it, N no-op
 *   tasks; graphile-worker with its defaults (one job per round trip).
 * - batched: Loom's batch claim and batch complete (each worker takes BATCH
 *   tasks per round trip) against graphile-worker's localQueue (one fetch
 *   locks a batch; completions batched).
 * - bulk_create: N tasks in one call against `addJobs`.
 * - fan_in: one parent behind FAN children: the time to build the graph, and
 *   from the last child's done to the parent's claim. graphile-worker has no
 *   job dependencies, so this one is Loom's figure against the target.
 */
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const repeatsArg = argv.indexOf('--repeats');
const REPEATS = repeatsArg >= 0 ? Number(argv[repeatsArg + 1]) : 3;
const onlyArg = argv.indexOf('--only');
/** Scenarios to run (all when absent): a comma-separated list of their names. */
const ONLY = onlyArg >= 0 ? new Set(argv[onlyArg + 1]!.split(',')) : null;
const N = quick ? 2_000 : 20_000;
const C = 16;
const FAN = 1_000;
const FAN_TRIALS = quick ? 3 : 5;
/** graphile-worker's batched configuration: one fetch locks this many jobs. */
const GW_LOCAL_QUEUE = 4 * C;
const origin = { kind: 'bench', id: 'compare' };

type Figures = Record<string, number | string | null>;

const silent = new Logger(() => () => {});

/**
 * Statements sent, counted at the client (both Loom and graphile-worker go
 * through this `pg`), and WAL bytes written, read from the server before and
 * after a drain: the cost per job, beside the throughput. WAL is cluster-wide:
 * on a busy server other databases' writes count too.
 */
let statements = 0;
const clientQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  statements++;
  return (clientQuery as (...a: unknown[]) => unknown).apply(this, args);
} as typeof clientQuery;

async function walLsn(pool: pg.Pool): Promise<string> {
  return (await pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn;
}

/**
 * CPU time (ms) of every process owned by the server's user, from /proc: the
 * Postgres backends and their parent's tally of the exited ones. Null where
 * /proc is not there or Postgres runs elsewhere (a remote server, another
 * container): then the bench reports no server CPU rather than a wrong one.
 */
function serverCpuMs(): number | null {
  if (process.platform !== 'linux' || !/^postgres(ql)?:\/\/[^/]*(127\.0\.0\.1|localhost)/.test(BENCH_ADMIN_URL)) return null;
  let ticks = 0;
  let found = false;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // the command sits in parentheses and may hold spaces: fields are counted after it
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (name !== 'postgres') continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime, stime, cutime, cstime: fields 14-17 of stat, 11-14 after the command
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      found = true;
    } catch {
      // the process ended between the listing and the read
    }
  }
  return found ? ticks * (1000 / CLOCK_TICKS) : null;
}
/** USER_HZ: 100 on every Linux build this runs on (sysconf is not reachable from Node). */
const CLOCK_TICKS = 100;

/** Starts counting; the returned function gives the per-job costs since. */
async function costMeter(pool: pg.Pool, jobs: number): Promise<() => Promise<Figures>> {
  const lsn = await walLsn(pool);
  const before = statements;
  const server0 = serverCpuMs();
  const client0 = process.cpuUsage();
  return async () => {
    const sent = statements - before;
    const client = process.cpuUsage(client0);
    const server1 = serverCpuMs();
    const wal = await pool.query<{ bytes: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint AS bytes', [lsn]);
    return {
      statements_per_job: round(sent / jobs, 2),
      wal_bytes_per_job: Math.round(Number(wal.rows[0]!.bytes) / jobs),
      client_cpu_us_per_job: Math.round((client.user + client.system) / jobs),
      server_cpu_us_per_job: server0 === null || server1 === null ? null : Math.round(((server1 - server0) * 1000) / jobs),
    };
  };
}

// ------------------------------------------------------------------ Loom

interface LoomCtx {
  api: LoomApi;
  projectId: string;
  pool: pg.Pool;
}

/** A fresh database, migrated, and the server-mode service over it. */
async function withLoom<T>(fn: (ctx: LoomCtx) => Promise<T>): Promise<T> {
  const db = await benchDatabase('cmp_loom');
  const pool = new pg.Pool({ connectionString: db.url, max: C + 2 });
  pool.on('error', () => {});
  try {
    await migrate(pool);
    const { service } = serviceForPool(pool, { ...SERVER_MODE, ownsPool: false });
    const project = await service.createProject({ name: 'compare' });
    return await fn({ api: service, projectId: project.id, pool });
  } finally {
    await pool.end();
    await db.drop();
  }
}

/** N independent tasks in one bulk create (not timed here: bulk_create is its own scenario). */
async function loomSeed(ctx: LoomCtx, n: number): Promise<void> {
  await ctx.api.createTasks({ project_id: ctx.projectId, origin, tasks: Array.from({ length: n }, (_, i) => ({ title: `job ${i}` })) });
}

/** Loom's batched drain: each worker claims up to BATCH tasks in one statement, then completes them in one call. */
const BATCH = 8;

async function loomBatched(): Promise<Figures> {
  return withLoom(async (ctx) => {
    await loomSeed(ctx, N);
    const seen = new Map<string, number>();
    const meter = await costMeter(ctx.pool, N);
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: C }, async (_, c) => {
        const agent = `worker-${c}`;
        for (;;) {
          const { claims } = await ctx.api.claimBatch({ project_id: ctx.projectId, agent_id: agent, count: BATCH });
          if (claims.length === 0) return;
          for (const { task } of claims) seen.set(task.id, (seen.get(task.id) ?? 0) + 1);
          const r = await ctx.api.doneBatch({
            project_id: ctx.projectId,
            items: claims.map(({ task, lease }) => ({ task_id: task.id, agent_id: agent, lease_token: lease.token })),
          });
          const refused = r.results.filter((x) => !x.ok);
          if (refused.length > 0) throw new Error(`batch done refused ${refused.length} items`);
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const cost = await meter();
    await loomExactlyOnce(ctx, seen, N);
    return { jobs: N, batch: BATCH, seconds: round(seconds), jobs_per_s: Math.round(N / seconds), ...cost };
  });
}

/** N tasks in one call; checked: exactly N rows and N task.created events. */
async function loomBulkCreate(): Promise<Figures> {
  return withLoom(async (ctx) => {
    const meter = await costMeter(ctx.pool, N);
    const t0 = performance.now();
    const r = await ctx.api.createTasks({ project_id: ctx.projectId, origin, tasks: Array.from({ length: N }, (_, i) => ({ title: `job ${i}` })) });
    const ms = performance.now() - t0;
    const cost = await meter();
    const rows = await ctx.pool.query<{ n: string; ev: string }>(
      `SELECT (SELECT count(*) FROM tasks WHERE project_id = $1) AS n, (SELECT count(*) FROM events WHERE project_id = $1 AND type = 'task.created') AS ev`,
      [ctx.projectId],
    );
    if (r.created !== N || Number(rows.rows[0]!.n) !== N || Number(rows.rows[0]!.ev) !== N) throw new Error(`bulk create wrote ${rows.rows[0]!.n} tasks, ${rows.rows[0]!.ev} events, of ${N}`);
    return { jobs: N, ms: round(ms, 1), jobs_per_s: Math.round(N / (ms / 1000)), ...cost };
  });
}

/** Every task done exactly once: one done per id seen by the workers, and the database agrees. */
async function loomExactlyOnce(ctx: LoomCtx, seen: Map<string, number>, n: number): Promise<void> {
  const twice = [...seen.values()].filter((v) => v !== 1).length;
  const r = await ctx.pool.query<{ done: string; claims: string }>(
    `SELECT count(*) FILTER (WHERE status = 'done') AS done,
            (SELECT count(*) FROM events WHERE project_id = $1 AND type = 'task.claimed') AS claims
       FROM tasks WHERE project_id = $1`,
    [ctx.projectId],
  );
  const done = Number(r.rows[0]!.done);
  const claims = Number(r.rows[0]!.claims);
  if (seen.size !== n || twice !== 0 || done !== n || claims !== n) {
    throw new Error(`loom exactly-once check failed: seen ${seen.size}, repeated ${twice}, done ${done}, claims ${claims}, of ${n}`);
  }
}

async function loomOneAtATime(): Promise<Figures> {
  return withLoom(async (ctx) => {
    await loomSeed(ctx, N);
    const seen = new Map<string, number>();
    const meter = await costMeter(ctx.pool, N);
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: C }, async (_, c) => {
        const agent = `worker-${c}`;
        for (;;) {
          const r = await ctx.api.claim({ project_id: ctx.projectId, agent_id: agent });
          if (!r.claimed) return;
          seen.set(r.task.id, (seen.get(r.task.id) ?? 0) + 1);
          await ctx.api.done({ project_id: ctx.projectId, task_id: r.task.id, agent_id: agent, lease_token: r.lease.token });
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const cost = await meter();
    await loomExactlyOnce(ctx, seen, N);
    return { jobs: N, seconds: round(seconds), jobs_per_s: Math.round(N / seconds), ...cost };
  });
}

async function loomFanIn(): Promise<Figures> {
  return withLoom(async (ctx) => {
    const build: number[] = [];
    const latency: number[] = [];
    for (let trial = 0; trial < FAN_TRIALS; trial++) {
      const t0 = performance.now();
      const keys = Array.from({ length: FAN }, (_, i) => `c${i}`);
      const built = await ctx.api.createTasks({
        project_id: ctx.projectId,
        origin,
        tasks: [...keys.map((key, i) => ({ key, title: `child ${trial}.${i}` })), { key: 'parent', title: `parent ${trial}`, depends_on: keys }],
      });
      build.push(performance.now() - t0);
      const parent = { id: built.tasks.find((t) => t.key === 'parent')!.id };
      // C workers drain the children; the one whose done unblocks the parent claims next, as a worker loop does.
      let lastDoneAt = 0;
      let parentClaimedAt = 0;
      await Promise.all(
        Array.from({ length: C }, async (_, c) => {
          const agent = `fan-${c}`;
          for (;;) {
            const r = await ctx.api.claim({ project_id: ctx.projectId, agent_id: agent });
            if (!r.claimed) return;
            if (r.task.id === parent.id) {
              parentClaimedAt = performance.now();
              await ctx.api.done({ project_id: ctx.projectId, task_id: r.task.id, agent_id: agent, lease_token: r.lease.token });
              return;
            }
            const d = await ctx.api.done({ project_id: ctx.projectId, task_id: r.task.id, agent_id: agent, lease_token: r.lease.token });
            if (d.unblocked.includes(parent.id)) lastDoneAt = performance.now();
          }
        }),
      );
      if (lastDoneAt === 0 || parentClaimedAt === 0) throw new Error('fan-in: the parent was not unblocked and claimed');
      latency.push(parentClaimedAt - lastDoneAt);
    }
    return {
      children: FAN,
      trials: FAN_TRIALS,
      build_ms_p50: round(percentile(build, 50), 1),
      parent_claim_after_last_done_ms_p50: round(percentile(latency, 50), 2),
      via: 'one bulk create: 1,000 children and the parent waiting for them',
    };
  });
}

// ------------------------------------------------------------------ graphile-worker

async function withGraphile<T>(fn: (url: string, pool: pg.Pool) => Promise<T>): Promise<T> {
  const db = await benchDatabase('cmp_gw');
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  pool.on('error', () => {});
  try {
    const utils = await makeWorkerUtils({ connectionString: db.url, logger: silent });
    try {
      await utils.migrate();
    } finally {
      await utils.release();
    }
    return await fn(db.url, pool);
  } finally {
    await pool.end();
    await db.drop();
  }
}

async function graphileBulkCreate(url: string, pool: pg.Pool): Promise<Figures> {
  const meter = await costMeter(pool, N);
  const ms = await graphileAdd(url, N);
  const cost = await meter();
  const r = await pool.query<{ n: string }>('SELECT count(*) AS n FROM graphile_worker._private_jobs');
  if (Number(r.rows[0]!.n) !== N) throw new Error(`addJobs wrote ${r.rows[0]!.n} jobs of ${N}`);
  return { jobs: N, ms: round(ms, 1), jobs_per_s: Math.round(N / (ms / 1000)), ...cost };
}

async function graphileAdd(url: string, n: number): Promise<number> {
  const utils = await makeWorkerUtils({ connectionString: url, logger: silent });
  try {
    const t0 = performance.now();
    await utils.addJobs(Array.from({ length: n }, (_, i) => ({ identifier: 'noop', payload: { i } })));
    return performance.now() - t0;
  } finally {
    await utils.release();
  }
}

async function waitEmpty(pool: pg.Pool): Promise<void> {
  for (;;) {
    const r = await pool.query<{ n: string }>('SELECT count(*) AS n FROM graphile_worker._private_jobs');
    if (Number(r.rows[0]!.n) === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Runs N queued no-op jobs to the end: every job ran once and its row is gone (completed). */
async function graphileDrain(url: string, pool: pg.Pool, batched: boolean): Promise<Figures> {
  await graphileAdd(url, N);
  const runs = new Uint8Array(N);
  let count = 0;
  let allRan!: () => void;
  const ran = new Promise<void>((resolve) => (allRan = resolve));
  // Its own pool, with an error listener: the runner's connections may outlive stop() until the database is dropped.
  const workerPool = new pg.Pool({ connectionString: url, max: C + 2 });
  workerPool.on('error', () => {});
  // And on each client, as graphile-worker asks of a pool it is given (else it warns on stderr and adds its own).
  workerPool.on('connect', (client) => client.on('error', () => {}));
  const meter = await costMeter(pool, N);
  const t0 = performance.now();
  const runner: Runner = await run({
    pgPool: workerPool,
    concurrency: C,
    noHandleSignals: true,
    pollInterval: 1_000,
    logger: silent,
    taskList: {
      noop: async (payload) => {
        runs[(payload as { i: number }).i]!++;
        if (++count === N) allRan();
      },
    },
    ...(batched ? { preset: { worker: { localQueue: { size: GW_LOCAL_QUEUE }, completeJobBatchDelay: 0 } } } : {}),
  });
  try {
    await ran;
    await waitEmpty(pool);
    const seconds = (performance.now() - t0) / 1000;
    const cost = await meter();
    const wrong = runs.filter((r) => r !== 1).length;
    if (wrong !== 0) throw new Error(`graphile-worker exactly-once check failed: ${wrong} jobs did not run exactly once`);
    return { jobs: N, seconds: round(seconds), jobs_per_s: Math.round(N / seconds), ...cost };
  } finally {
    await runner.stop();
    await workerPool.end();
  }
}

// ------------------------------------------------------------------ the run

type Scenario = { name: string; loom: () => Promise<Figures>; graphile: (() => Promise<Figures>) | null; rate: string };

const allScenarios: Scenario[] = [
  {
    name: 'one_at_a_time',
    loom: loomOneAtATime,
    graphile: () => withGraphile((url, pool) => graphileDrain(url, pool, false)),
    rate: 'jobs_per_s',
  },
  {
    name: 'batched',
    loom: loomBatched,
    graphile: () => withGraphile((url, pool) => graphileDrain(url, pool, true)),
    rate: 'jobs_per_s',
  },
  {
    name: 'bulk_create',
    loom: loomBulkCreate,
    graphile: () => withGraphile((url, pool) => graphileBulkCreate(url, pool)),
    rate: 'jobs_per_s',
  },
  {
    name: 'fan_in',
    loom: loomFanIn,
    graphile: null,
    rate: 'build_ms_p50',
  },
];
const scenarios = allScenarios.filter((s) => ONLY === null || ONLY.has(s.name));

const repeats: Array<Record<string, unknown>> = [];
for (let r = 1; r <= REPEATS; r++) {
  const loomFirst = r % 2 === 1;
  const one: Record<string, unknown> = { repeat: r, first: loomFirst ? 'loom' : 'graphile-worker', loadavg_before: loadavg().map((x) => round(x)) };
  for (const s of scenarios) {
    const order = loomFirst ? (['loom', 'graphile'] as const) : (['graphile', 'loom'] as const);
    const figures: Record<string, Figures | null> = {};
    for (const who of order) {
      const f = who === 'loom' ? s.loom : s.graphile;
      figures[who === 'loom' ? 'loom' : 'graphile_worker'] = f === null ? null : await f();
    }
    one[s.name] = figures;
  }
  repeats.push(one);
}

/** Median over the repeats of one figure. */
function median(scenario: string, who: 'loom' | 'graphile_worker', key: string): number | null {
  const values = repeats
    .map((r) => (r[scenario] as Record<string, Figures | null>)[who]?.[key])
    .filter((v): v is number => typeof v === 'number');
  return values.length === 0 ? null : percentile(values, 50);
}

const summary: Record<string, unknown> = {};
for (const s of scenarios) {
  const loom = median(s.name, 'loom', s.rate);
  const gw = s.graphile === null ? null : median(s.name, 'graphile_worker', s.rate);
  summary[s.name] = { figure: s.rate, loom_median: loom, graphile_worker_median: gw, ratio: loom !== null && gw !== null ? round(loom / gw) : null };
}
const fan = summary.fan_in as Record<string, unknown> | undefined;
if (fan !== undefined) {
  fan.parent_claim_after_last_done_ms_p50 = median('fan_in', 'loom', 'parent_claim_after_last_done_ms_p50');
  fan.targets = { build_ms: 200, parent_claim_ms_p50: 5 };
}

const result = {
  bench: 'compare',
  quick,
  tasks: N,
  workers: C,
  repeats: REPEATS,
  cores: cpus().length,
  graphile_worker: { version: '0.17.3', batched: { localQueue: GW_LOCAL_QUEUE, completeJobBatchDelay: 0 } },
  loadavg_after: loadavg().map((x) => round(x)),
  summary,
  runs: repeats,
};
const out = JSON.stringify(result, null, 2);
process.stdout.write(`${out}\n`);
if (process.env.LOOM_BENCH_OUT) writeFileSync(process.env.LOOM_BENCH_OUT, out);
