import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { benchDatabase } from '../support/database.js';
import { cli, mcpClient, type Env } from '../support/loom-process.js';
import { percentile, round } from '../support/stats.js';

/**
 * bench/mcp: what an agent in Claude Code feels of Loom. The built `loom mcp`
 * is spawned over stdio with the SDK's StdioClientTransport (as Claude Code
 * does), then:
 *  - tool round-trip latency (p50/p99) of loom_ready, loom_claim, loom_done and
 *    of one loom_claim+loom_done pair, sequential calls from one session;
 *  - cold start: spawn to the first answered tool call, on an existing project:
 *    embedded with its daemon running (the usual case: another session or the
 *    CLI started it) and stopped (the spawn of the daemon included), and server mode;
 *    with spawn to the answer to `initialize` (Claude Code shows "connecting" until
 *    then), and with the daemon stopped, what each part of the daemon's start took.
 * Both on Postgres (a fresh database, dropped at the end) and on the embedded
 * default (a temp project, its daemon stopped at the end). Prints one JSON document.
 *
 *   npm run bench:mcp [-- --quick] [-- --embedded-only | --server-only]
 */
const quick = process.argv.includes('--quick');
const SAMPLES = quick ? 100 : 500;
const WARMUP = 20;
const COLD_RUNS = 5;
const TARGETS = { server_p50_ms: 3, embedded_p50_ms: 5, cold_start_embedded_ms: 1_500, initialize_ms: 300 };

interface Session {
  client: Client;
  call(name: string, args?: Record<string, unknown>): Promise<Record<string, any>>;
  close(): Promise<void>;
}

async function startSession(cwd: string, env: Env): Promise<Session> {
  const { client, transport, stderr: errors } = mcpClient(cwd, env, 'bench-mcp');
  await client.connect(transport);
  return {
    client,
    async call(name, args = {}) {
      const r = await client.callTool({ name, arguments: args });
      if (r.isError === true) throw new Error(`${name} failed: ${JSON.stringify(r.content)}\n${errors()}`);
      return r.structuredContent as Record<string, any>;
    },
    async close() {
      await client.close();
    },
  };
}

interface Latency {
  p50_ms: number;
  p99_ms: number;
  samples: number;
  target_p50_ms?: number;
  meets_target?: boolean;
}

const summarize = (samples: number[], target?: number): Latency => {
  const p50 = round(percentile(samples, 50), 3);
  return {
    p50_ms: p50,
    p99_ms: round(percentile(samples, 99), 3),
    samples: samples.length,
    ...(target === undefined ? {} : { target_p50_ms: target, meets_target: p50 <= target }),
  };
};

const median = (xs: number[]): number => round(percentile(xs, 50), 1);

/** Round trips of one session: loom_ready, then SAMPLES claim+done pairs (each call timed too). */
async function roundTrips(s: Session, target: number): Promise<Record<string, Latency>> {
  // Tasks for the pairs, created first so that loom_ready reads a project with work in it.
  for (let i = 0; i < SAMPLES + WARMUP; i += 20) {
    await Promise.all(Array.from({ length: Math.min(20, SAMPLES + WARMUP - i) }, (_, j) => s.call('loom_create', { title: `bench ${i + j}` })));
  }
  const time = async (fn: () => Promise<unknown>): Promise<number> => {
    const t0 = performance.now();
    await fn();
    return performance.now() - t0;
  };

  for (let i = 0; i < WARMUP; i++) await s.call('loom_ready');
  const ready: number[] = [];
  for (let i = 0; i < SAMPLES; i++) ready.push(await time(() => s.call('loom_ready')));

  const claim: number[] = [];
  const done: number[] = [];
  const pair: number[] = [];
  for (let i = 0; i < SAMPLES + WARMUP; i++) {
    const t0 = performance.now();
    const c = await s.call('loom_claim');
    const t1 = performance.now();
    if (c.claimed !== true) throw new Error(`nothing to claim after ${i} pairs`);
    await s.call('loom_done', { task_id: c.task.id }); // the session supplies the lease token
    const t2 = performance.now();
    if (i < WARMUP) continue;
    claim.push(t1 - t0);
    done.push(t2 - t1);
    pair.push(t2 - t0);
  }
  return {
    loom_ready: summarize(ready, target),
    loom_claim: summarize(claim, target),
    loom_done: summarize(done, target),
    // Two round trips, held to the one-call target all the same (the strict reading of issue 3).
    claim_plus_done: summarize(pair, target),
  };
}

/**
 * Spawn to the first answered tool call (loom_ready), ms, and spawn to the answer to
 * `initialize` (until then Claude Code shows the server as connecting); `before` runs
 * untimed ahead of each start.
 */
async function coldStart(cwd: string, env: Env, before: () => Promise<unknown>): Promise<{ median_ms: number; runs_ms: number[]; initialize: { median_ms: number; runs_ms: number[] } }> {
  const runs: number[] = [];
  const inits: number[] = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    await before();
    const t0 = performance.now();
    const s = await startSession(cwd, env); // connect() resolves when initialize is answered
    inits.push(round(performance.now() - t0, 1));
    await s.call('loom_ready');
    runs.push(round(performance.now() - t0, 1));
    await s.close();
  }
  return { median_ms: median(runs), runs_ms: runs, initialize: { median_ms: median(inits), runs_ms: inits } };
}

/**
 * The daemon's own start, from the ready lines of the last `runs` starts in .loom/daemon.log
 * (medians, ms): after its spawn in all, node and its entry module, then (at once) its code and
 * PGlite, the migrations check, the services.
 */
function daemonStartParts(dir: string, runs: number): Record<string, number> {
  const lines = readFileSync(join(dir, '.loom', 'daemon.log'), 'utf8').split('\n').filter((l) => / ready \(schema \d+\) \d+ ms after spawn/.test(l)).slice(-runs);
  const part = (re: RegExp): number => median(lines.map((l) => Number(re.exec(l)?.[1] ?? NaN)).filter((n) => !Number.isNaN(n)));
  return {
    ready_after_spawn: part(/(\d+) ms after spawn/),
    node_and_entry: part(/node and entry (\d+) ms/),
    code: part(/code (\d+) ms/),
    pglite_create: part(/PGlite (\d+) ms/),
    migrations_check: part(/migrations check (\d+) ms/),
    services: part(/services (\d+) ms/),
  };
}

async function serverMode(): Promise<Record<string, unknown>> {
  const db = await benchDatabase('bench_mcp');
  const env = { LOOM_DATABASE_URL: db.url };
  const dir = mkdtempSync(join(tmpdir(), 'loom-bench-mcp-server-'));
  try {
    await cli(dir, ['init', '--name', 'bench-mcp', '--json'], env);
    const s = await startSession(dir, env);
    let round_trip_ms: Record<string, Latency>;
    try {
      round_trip_ms = await roundTrips(s, TARGETS.server_p50_ms);
    } finally {
      await s.close();
    }
    const cold = await coldStart(dir, env, async () => {});
    return { via: 'loom mcp in-process on Postgres', round_trip_ms, cold_start_ms: cold };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await db.drop();
  }
}

async function embeddedMode(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'loom-bench-mcp-'));
  const env = { LOOM_DAEMON_IDLE_SECONDS: '120' };
  try {
    await cli(dir, ['init', '--name', 'bench-mcp', '--json'], env);
    const s = await startSession(dir, env);
    let round_trip_ms: Record<string, Latency>;
    try {
      round_trip_ms = await roundTrips(s, TARGETS.embedded_p50_ms);
    } finally {
      await s.close();
    }
    const target = TARGETS.cold_start_embedded_ms;
    // The usual case: the daemon is up (another session or a CLI command started it).
    const running = await coldStart(dir, env, () => cli(dir, ['ready', '--json'], env));
    // The first session of the day: `loom mcp` starts the daemon (PGlite start-up included).
    const stopped = await coldStart(dir, env, () => cli(dir, ['daemon', 'stop'], env));
    const daemonStart = daemonStartParts(dir, COLD_RUNS);
    return {
      via: 'loom mcp bridged to the project daemon (unix socket)',
      round_trip_ms,
      cold_start_ms: {
        daemon_running: { ...running, target_ms: target, meets_target: running.median_ms <= target, initialize_target_ms: TARGETS.initialize_ms },
        daemon_stopped: { ...stopped, target_ms: target, meets_target: stopped.median_ms <= target, initialize_target_ms: TARGETS.initialize_ms, daemon_start_ms: daemonStart },
      },
    };
  } finally {
    await cli(dir, ['daemon', 'stop'], env).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

const result: Record<string, unknown> = {
  bench: 'mcp',
  quick,
  samples: SAMPLES,
  cores: cpus().length,
  loadavg_1m_at_start: round(loadavg()[0] ?? 0, 2),
  node: process.version,
  targets: {
    round_trip_p50_ms: { server: TARGETS.server_p50_ms, embedded: TARGETS.embedded_p50_ms, note: 'per tool call, and for the claim_plus_done pair as one sample' },
    cold_start_ms: { embedded_existing_project: TARGETS.cold_start_embedded_ms, initialize_after_spawn: TARGETS.initialize_ms },
  },
};
if (!process.argv.includes('--embedded-only')) result.server = await serverMode();
if (!process.argv.includes('--server-only')) result.embedded = await embeddedMode();
result.loadavg_1m_at_end = round(loadavg()[0] ?? 0, 2);
const out = JSON.stringify(result, null, 2);
process.stdout.write(`${out}\n`);
if (process.env.LOOM_BENCH_OUT) writeFileSync(process.env.LOOM_BENCH_OUT, out);
