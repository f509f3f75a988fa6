/**
 * Concurrent claims across OS processes on real Postgres: 8 claimers in 2
 * processes drain 2,000 ready tasks; every task is claimed exactly once and
 * completed exactly once. Then the same with batches: 16 claimers in each of 8
 * processes, each claiming several tasks at a time and reporting them in one
 * call, one stale lease among them per claimer (refused alone).
 *
 * The workers (tests/fixtures/claim-worker.mjs) run the BUILT code: child
 * processes cannot load TypeScript here, so beforeAll compiles the closure of
 * src/app/service-factory.ts into a private folder under node_modules/.cache
 * (not dist/, which other suites and `npm run build` write at the same time).
 *
 * The embedded-mode twin is concurrent-claims.embedded.test.ts (through the daemon).
 */
import { spawn, execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { serviceForPool } from '../../src/app/service-factory.js';
import type { LoomService } from '../../src/app/loom-service.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { poolDrained } from '../support/pools.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BUILD_DIR = join(ROOT, 'node_modules/.cache/loom-tests/claim-worker-build');
const WORKER = join(ROOT, 'tests/fixtures/claim-worker.mjs');
const TASKS = 2_000;
const PROCESSES = 2;
const CLAIMERS_PER_PROCESS = 4;
const BATCH_PROCESSES = 8;
const BATCH_CLAIMERS = 16;
const BATCH_SIZE = 5;

/** Compiles what the worker imports (service-factory and everything it reaches) with the project's compiler options. */
async function buildWorkerCode(): Promise<void> {
  rmSync(BUILD_DIR, { recursive: true, force: true });
  mkdirSync(BUILD_DIR, { recursive: true });
  const rel = (p: string) => join(ROOT, p);
  writeFileSync(
    join(BUILD_DIR, 'tsconfig.json'),
    JSON.stringify({
      extends: rel('tsconfig.json'),
      compilerOptions: { noEmit: false, rootDir: ROOT, outDir: BUILD_DIR, sourceMap: false },
      files: [rel('src/app/service-factory.ts')],
      include: [],
    }),
  );
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', join(BUILD_DIR, 'tsconfig.json')], { cwd: ROOT });
  } catch (e) {
    const out = e as { stdout?: string; stderr?: string };
    throw new Error(`compiling the claim worker's code failed:\n${out.stdout ?? ''}${out.stderr ?? ''}`);
  }
  if (!existsSync(join(BUILD_DIR, 'src/app/service-factory.js'))) throw new Error(`tsc wrote no src/app/service-factory.js under ${BUILD_DIR}`);
  // Loom's code imports inversify as `#inversify`, which a package.json "imports" field maps. The
  // project's own cannot serve here (its scope ends at node_modules/): map it to the installed package.
  writeFileSync(join(BUILD_DIR, 'package.json'), JSON.stringify({ type: 'module', imports: { '#inversify': 'inversify' } }));
}

interface WorkerResult {
  completed: string[];
  per_claimer: number[];
  stale_refused?: string[];
}

interface RunningWorker {
  ready: Promise<void>;
  go(): void;
  result: Promise<WorkerResult>;
}

function startWorker(name: string, env: Record<string, string>): RunningWorker {
  const child = spawn(process.execPath, [WORKER], {
    cwd: ROOT,
    env: { ...process.env, ...env, WORKER_NAME: name },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let onReady!: () => void;
  const ready = new Promise<void>((res) => (onReady = res));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (stdout.includes('{"ready":true}')) onReady();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const result = new Promise<WorkerResult>((res, rej) => {
    child.on('error', rej);
    child.on('exit', (code) => {
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0) return rej(new Error(`${name} exited with ${code}: ${last}\n${stderr}`));
      try {
        res(JSON.parse(last) as WorkerResult);
      } catch {
        rej(new Error(`${name} printed no result: ${stdout}\n${stderr}`));
      }
    });
  });
  // a worker that dies before it is ready must not leave the test waiting
  const readyOrExit = Promise.race([ready, result.then(() => Promise.reject(new Error(`${name} exited before it was ready`)))]);
  return { ready: readyOrExit, go: () => child.stdin.end('go\n'), result };
}

describe('concurrent claims on postgres: 8 claimers in 2 processes', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let service: LoomService;
  let projectId: string;
  let taskIds: string[];

  /** A new project with `n` ready tasks of mixed priorities. */
  async function seed(name: string, n: number): Promise<{ projectId: string; taskIds: string[] }> {
    const id = (await service.createProject({ name })).id;
    const ids: string[] = [];
    const priorities = ['p0', 'p1', 'p2'] as const;
    for (let i = 0; i < n; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(20, n - i) }, (_, k) =>
          service.createTask({ project_id: id, title: `task ${i + k}`, origin: { kind: 'test', id: 'claims' }, priority: priorities[(i + k) % 3]! }),
        ),
      );
      ids.push(...batch.map((t) => t.id));
    }
    return { projectId: id, taskIds: ids };
  }

  beforeAll(async () => {
    const [, database] = await Promise.all([buildWorkerCode(), createTestDatabase('claims')]);
    db = database;
    pool = new pg.Pool({ connectionString: db.url, max: 10 });
    await migrate(pool);
    service = serviceForPool(pool).service;
    ({ projectId, taskIds } = await seed('concurrent claims', TASKS));
  });

  afterAll(async () => {
    if (pool !== undefined) {
      const drained = poolDrained(pool);
      await service?.close();
      await drained;
    }
    await db?.drop();
  });

  /** The database agrees: one claim and one completion per task, all by the claimers, each task's output naming its claimer. */
  async function expectEachOnce(project: string, claimers: number): Promise<void> {
    const claims = await pool.query<{ task_id: string; n: number }>(
      `SELECT task_id, count(*)::int AS n FROM events WHERE project_id = $1 AND type = 'task.claimed' GROUP BY task_id`,
      [project],
    );
    expect(claims.rows).toHaveLength(TASKS);
    expect(claims.rows.filter((r) => r.n !== 1)).toEqual([]);
    const done = await pool.query<{ events: number; tasks: number; agents: number }>(
      `SELECT count(*)::int AS events, count(DISTINCT task_id)::int AS tasks, count(DISTINCT agent_id)::int AS agents
         FROM events WHERE project_id = $1 AND type = 'task.done'`,
      [project],
    );
    expect(done.rows[0]).toEqual({ events: TASKS, tasks: TASKS, agents: claimers });
    const tasks = await pool.query<{ status: string; attempts: number; n: number }>(
      `SELECT status, attempts, count(*)::int AS n FROM tasks WHERE project_id = $1 GROUP BY status, attempts`,
      [project],
    );
    expect(tasks.rows).toEqual([{ status: 'done', attempts: 1, n: TASKS }]);
    // each task's output names the claimer that completed it, and that claimer held its claim
    const mismatched = await pool.query(
      `SELECT t.id FROM tasks t JOIN events e ON e.task_id = t.id AND e.type = 'task.claimed'
        WHERE t.project_id = $1 AND (t.output->>'by' IS DISTINCT FROM e.agent_id OR t.assignee IS DISTINCT FROM e.agent_id)`,
      [project],
    );
    expect(mismatched.rows).toEqual([]);
  }

  it('claims every task exactly once and records every completion once', async () => {
    expect((await service.overview({ project_id: projectId })).ready).toBe(TASKS);

    const workers = Array.from({ length: PROCESSES }, (_, i) =>
      startWorker(`process-${i}`, {
        LOOM_BUILD_DIR: BUILD_DIR,
        DATABASE_URL: db.url,
        PROJECT_ID: projectId,
        CLAIMERS: String(CLAIMERS_PER_PROCESS),
      }),
    );
    await Promise.all(workers.map((w) => w.ready));
    for (const w of workers) w.go();
    const results = await Promise.all(workers.map((w) => w.result));

    // both processes took part, and together completed each task once
    for (const r of results) {
      expect(r.per_claimer).toHaveLength(CLAIMERS_PER_PROCESS);
      expect(r.completed.length).toBeGreaterThan(0);
    }
    const completed = results.flatMap((r) => r.completed);
    expect(completed).toHaveLength(TASKS);
    expect(new Set(completed).size).toBe(TASKS);
    expect(new Set(completed)).toEqual(new Set(taskIds));

    await expectEachOnce(projectId, PROCESSES * CLAIMERS_PER_PROCESS);
  });

  it(`batches: ${BATCH_CLAIMERS} claimers in each of ${BATCH_PROCESSES} processes claim and complete each task once; a stale lease refuses only its item`, { timeout: 300_000 }, async () => {
    const seeded = await seed('concurrent batch claims', TASKS);
    const workers = Array.from({ length: BATCH_PROCESSES }, (_, i) =>
      startWorker(`batch-${i}`, {
        LOOM_BUILD_DIR: BUILD_DIR,
        DATABASE_URL: db.url,
        PROJECT_ID: seeded.projectId,
        CLAIMERS: String(BATCH_CLAIMERS),
        BATCH: String(BATCH_SIZE),
        POOL: '4', // 8 processes share the server's connections
      }),
    );
    await Promise.all(workers.map((w) => w.ready));
    for (const w of workers) w.go();
    const results = await Promise.all(workers.map((w) => w.result));

    const completed = results.flatMap((r) => r.completed);
    expect(completed).toHaveLength(TASKS);
    expect(new Set(completed)).toEqual(new Set(seeded.taskIds));
    for (const r of results) expect(r.completed.length).toBeGreaterThan(0);
    // Every claimer that got a batch of two or more sent one stale lease, refused alone, and reported that task after.
    const stale = results.flatMap((r) => r.stale_refused ?? []);
    expect(stale.length).toBeGreaterThan(0);
    expect(stale.every((id) => completed.includes(id))).toBe(true);
    await expectEachOnce(seeded.projectId, results.flatMap((r) => r.per_claimer).filter((n) => n > 0).length);
  });
});
