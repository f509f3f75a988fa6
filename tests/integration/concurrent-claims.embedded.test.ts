/**
 * Concurrent claims on the embedded default: 8 claimers in 2 OS processes,
 * each talking to the project's daemon as every `loom` process does, drain
 * 2,000 ready tasks. Every task is claimed exactly once and completed once.
 * Then with batches: 16 claimers in each of 8 processes claim several tasks at
 * a time and report them in one call, one stale lease among them per claimer.
 * Also: many daemons started at once for one directory leave exactly one owner.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppConnector } from '../../src/app/connector.js';
import type { LoomEvent } from '../../src/domain/events.js';
import type { LoomApi } from '../../src/ports/loom-api.js';
import { BUILT_MAIN, loom, ROOT } from '../support/loom-cli.js';
import { until } from '../support/until.js';

const TASKS = 2_000;
const PROCESSES = 2;
const CLAIMERS_PER_PROCESS = 4;

function startWorker(name: string, projectDir: string, extra: Record<string, string> = {}) {
  const child = spawn(process.execPath, [join(ROOT, 'tests/fixtures/claim-worker.mjs')], {
    env: { ...process.env, LOOM_DATABASE_URL: '', LOOM_ROOT: ROOT, PROJECT_DIR: projectDir, WORKER_NAME: name, CLAIMERS: String(CLAIMERS_PER_PROCESS), ...extra },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let onReady!: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('"ready":true')) onReady();
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const result = new Promise<{ completed: string[]; per_claimer: number[]; stale_refused?: string[] }>((resolve, reject) => {
    child.on('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`worker ${name} exited ${code}: ${out}${err}`));
      resolve(JSON.parse(last));
    });
  });
  return { ready, go: () => child.stdin.end('go\n'), result };
}

/** Per task, how many events of this type it has. */
function countPerTask(events: readonly LoomEvent[], type: string): Map<string, number> {
  const per = new Map<string, number>();
  for (const e of events) if (e.type === type) per.set(e.task_id!, (per.get(e.task_id!) ?? 0) + 1);
  return per;
}

async function allEvents(api: LoomApi, projectId: string): Promise<LoomEvent[]> {
  const events: LoomEvent[] = [];
  for (let since = 0; ; ) {
    const page = await api.events({ project_id: projectId, since, limit: 5000 });
    if (page.length === 0) return events;
    events.push(...page);
    since = page[page.length - 1]!.id;
  }
}

describe('embedded mode, several processes through one daemon', () => {
  let dir: string;
  let connector: AppConnector;
  const env = { ...process.env, LOOM_DATABASE_URL: '', LOOM_DAEMON_IDLE_SECONDS: '60' };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loom-embedded-claims-'));
    connector = new AppConnector({ env, cwd: dir, daemonEntry: BUILT_MAIN });
    await connector.init({ projectDir: dir, name: 'claims' });
  });
  afterAll(async () => {
    await connector.daemonStop({ projectDir: dir }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it(`8 claimers in ${PROCESSES} processes claim each of ${TASKS} tasks exactly once`, async () => {
    const { api, project } = await connector.open({ projectDir: dir });
    expect(project.mode).toBe('embedded');
    const origin = { kind: 'test', id: 'setup' };
    for (let i = 0; i < TASKS; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => api.createTask({ project_id: project.project_id, title: `t${i + j}`, origin })));
    }
    const workers = Array.from({ length: PROCESSES }, (_, i) => startWorker(`w${i}`, dir));
    await Promise.all(workers.map((w) => w.ready));
    workers.forEach((w) => w.go());
    const results = await Promise.all(workers.map((w) => w.result));

    const completed = results.flatMap((r) => r.completed);
    expect(completed).toHaveLength(TASKS);
    expect(new Set(completed).size).toBe(TASKS);
    for (const r of results) expect(r.completed.length).toBeGreaterThan(0); // both processes really worked

    const events = await allEvents(api, project.project_id);
    const claimed = countPerTask(events, 'task.claimed');
    const done = countPerTask(events, 'task.done');
    expect(claimed.size).toBe(TASKS);
    expect([...claimed.values()].every((n) => n === 1)).toBe(true);
    expect(done.size).toBe(TASKS);
    expect([...done.values()].every((n) => n === 1)).toBe(true);
    const overview = await api.overview({ project_id: project.project_id });
    expect(overview.counts.done).toBe(TASKS);
    await api.close();
  });

  it(`batches: 16 claimers in each of 8 processes claim and complete each task once; a stale lease refuses only its item`, { timeout: 300_000 }, async () => {
    // The same project, 2,000 more tasks after the first test's.
    const { api, project } = await connector.open({ projectDir: dir });
    const p = project.project_id;
    const origin = { kind: 'test', id: 'setup' };
    const ids: string[] = [];
    for (let i = 0; i < TASKS; i += 50) {
      ids.push(...(await Promise.all(Array.from({ length: 50 }, (_, j) => api.createTask({ project_id: p, title: `b${i + j}`, origin })))).map((t) => t.id));
    }
    const workers = Array.from({ length: 8 }, (_, i) => startWorker(`b${i}`, dir, { CLAIMERS: '16', BATCH: '5' }));
    await Promise.all(workers.map((w) => w.ready));
    workers.forEach((w) => w.go());
    const results = await Promise.all(workers.map((w) => w.result));

    const completed = results.flatMap((r) => r.completed);
    expect(completed).toHaveLength(TASKS);
    expect(new Set(completed)).toEqual(new Set(ids));
    for (const r of results) expect(r.completed.length).toBeGreaterThan(0);
    const stale = results.flatMap((r) => r.stale_refused ?? []);
    expect(stale.length).toBeGreaterThan(0);
    expect(stale.every((id) => completed.includes(id))).toBe(true);

    const mine = new Set(ids);
    const events = (await allEvents(api, p)).filter((e) => e.task_id !== null && mine.has(e.task_id));
    const claimed = countPerTask(events, 'task.claimed');
    const done = countPerTask(events, 'task.done');
    for (const id of ids) {
      expect(claimed.get(id), id).toBe(1);
      expect(done.get(id), id).toBe(1);
    }
    expect((await api.overview({ project_id: p })).counts.done).toBe(2 * TASKS);
    await api.close();
  });

  it('the CLI works from several processes at once', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => loom(dir, ['create', `parallel ${i}`, '-q'], env)));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(new Set(results.map((r) => r.stdout.trim())).size).toBe(6);
  });

  it('daemons started together for one directory leave exactly one owner', { timeout: 180_000 }, async () => {
    await connector.daemonStop({ projectDir: dir });
    const starts = Array.from({ length: 5 }, () => {
      const child = spawn(process.execPath, [BUILT_MAIN, 'daemon', 'run', '--project-dir', dir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let log = '';
      let closed = false;
      child.stderr.on('data', (d: Buffer) => (log += d.toString()));
      child.on('close', () => (closed = true)); // exited, and its output is all read
      return { child, log: () => log, closed: () => closed };
    });
    try {
      // Losers exit as soon as they find the socket taken; the owner keeps running. Five Node
      // processes take a few seconds to start on a busy machine, hence the generous bound.
      await until(() => starts.filter((s) => s.closed()).length >= starts.length - 1, 'the daemons that lost the race to exit', 60_000, 50);
      await until(() => starts.some((s) => s.log().includes('owning ')), 'the owner to say it owns the directory', 60_000, 50);
      const alive = starts.filter((s) => !s.closed());
      expect(alive).toHaveLength(1);
      expect(starts.filter((s) => s.log().includes('owning ')).length).toBe(1);
      expect(starts.filter((s) => s.log().includes('another daemon already owns')).length).toBe(4);
      const status = await connector.daemonStatus({ projectDir: dir });
      expect(status.running).toBe(true);
      expect(status.pid).toBe(alive[0]!.child.pid);
      // The data survived the restart.
      const { api, project } = await connector.open({ projectDir: dir });
      expect((await api.overview({ project_id: project.project_id })).counts.done).toBe(2 * TASKS); // both claim tests' tasks
      await api.close();
      expect(readFileSync(join(dir, '.loom/daemon.token'), 'utf8').length).toBeGreaterThan(10);
    } catch (e) {
      // Leave no daemon of ours behind to write into the directory while it is removed.
      const left = starts.filter((s) => !s.closed());
      left.forEach((s) => s.child.kill('SIGKILL'));
      await until(() => left.every((s) => s.closed()), 'the daemons to be killed', 30_000, 50).catch(() => undefined);
      throw e;
    }
  });
});
