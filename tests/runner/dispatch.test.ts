/** The agent runner loop over the real LoomService (in-memory PGlite) and real processes. */
import { openTestPglite } from '../support/pglite.js';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PglitePool } from '../../src/adapters/embedded/pglite-pool.js';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { CommandRunner } from '../../src/adapters/runner/command-runner.js';
import { shellQuote } from '../../src/adapters/runner/template.js';
import { dispatch, type DispatchOptions } from '../../src/app/orchestrator/dispatch.js';
import { serviceForPool } from '../../src/app/service-factory.js';
import type { LoomApi } from '../../src/ports/loom-api.js';
import { isAlive, until } from './proc.js';

const AGENT = resolve(import.meta.dirname, '../fixtures/runner/agent.mjs');
const origin = { kind: 'test', id: 'runner' };

let db: PglitePool;
let api: LoomApi;
const dirs: string[] = [];

beforeAll(async () => {
  db = await openTestPglite();
  await migrate(db.pool);
  api = serviceForPool(db.pool, { ownsPool: false, settings: { retry: { base_ms: 50, factor: 2, max_ms: 200 } } }).service;
});
afterAll(async () => {
  await api?.close();
  await db?.close();
  for (const d of dirs) {
    // A failed test must not leave fixture processes behind.
    const log = existsSync(join(d, 'log')) ? readFileSync(join(d, 'log'), 'utf8').split('\n') : [];
    for (const [kind, , pid] of log.map((l) => l.split(' '))) {
      if ((kind === 'start' || kind === 'child') && isAlive(Number(pid))) process.kill(Number(pid), 'SIGKILL');
    }
    rmSync(d, { recursive: true, force: true });
  }
});

/** A project, a scratch directory for the fixture, and dispatch options around them. */
async function setUp(name: string, over: Partial<DispatchOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'loom-dispatch-'));
  dirs.push(dir);
  const project = (await api.createProject({ name })).id;
  const runner = new CommandRunner({ template: `node ${shellQuote(AGENT)}`, env: { ...process.env, RUNNER_DIR: dir }, killGraceMs: 1000 });
  const lines: string[] = [];
  const options: DispatchOptions = {
    api,
    projectId: project,
    projectDir: dir,
    runner,
    agentId: 'runner',
    concurrency: 2,
    timeoutMs: null,
    leaseSeconds: 2,
    exitWhenIdle: true,
    pollMs: 50,
    log: (line) => lines.push(line),
    ...over,
  };
  const create = (title: string, extra: { max_attempts?: number; depends_on?: string[] } = {}) =>
    api.createTask({ project_id: project, title, origin, ...extra }).then((t) => t.id);
  const log = (): string[][] => (existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8').trim().split('\n').map((l) => l.split(' ')) : []);
  return { dir, project, options, create, log, lines };
}

/** Most intervals [start, end] open at one time. */
function maxOverlap(log: string[][]): number {
  const points = log
    .filter(([kind]) => kind === 'start' || kind === 'end')
    .map(([kind, , , ms]) => ({ t: Number(ms), d: kind === 'start' ? 1 : -1 }))
    .sort((a, b) => a.t - b.t || a.d - b.d);
  let open = 0;
  let max = 0;
  for (const p of points) max = Math.max(max, (open += p.d));
  return max;
}

describe('dispatch', () => {
  it('runs ready tasks two at a time and records done, retried failures, dead letters and a timeout', { timeout: 180_000 }, async () => {
    // The timeout applies to every run: each fixture run is a Node process start (~0.1 s here, seconds on
    // a loaded machine), so it is well above that, and above the lease, which only heartbeats keep.
    const s = await setUp('mixed', { timeoutMs: 10_000, leaseSeconds: 3 });
    const ok1 = await s.create('ok one');
    const ok2 = await s.create('ok two');
    const ok3 = await s.create('ok three');
    const after = await s.create('ok after one', { depends_on: [ok1] });
    const plain = await s.create('plain text');
    const failTwice = await s.create('fail twice', { max_attempts: 2 });
    const failOnce = await s.create('fail once', { max_attempts: 1 });
    const hang = await s.create('hang forever', { max_attempts: 1 });
    const self = await s.create('self reporting');

    // The hung task is failed only once its processes are gone: checked at the moment of the call.
    const hangAliveAtFail: boolean[] = [];
    let reportedSelf = false; // the test reported it done through its lease
    let selfBeatsAfterReport = 0;
    const spied = new Proxy(api, {
      get(target, prop, receiver) {
        if (prop === 'heartbeat') {
          return async (input: Parameters<LoomApi['heartbeat']>[0]) => {
            const afterReport = input.task_id === self && reportedSelf;
            try {
              return await target.heartbeat(input);
            } finally {
              if (afterReport) selfBeatsAfterReport++; // answered: it found the task done
            }
          };
        }
        if (prop === 'fail') {
          return async (input: Parameters<LoomApi['fail']>[0]) => {
            if (input.task_id === hang) hangAliveAtFail.push(s.log().filter((l) => l[1] === hang && (l[0] === 'start' || l[0] === 'child')).some((l) => isAlive(Number(l[2]))));
            return target.fail(input);
          };
        }
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });

    const running = dispatch({ ...s.options, api: spied });
    // The self-reporting process: report it done through its lease (as `loom done` would), then let it exit 0.
    const token = await until(() => existsSync(join(s.dir, `token-${self}`)) && readFileSync(join(s.dir, `token-${self}`), 'utf8'), 60_000, 'the token file');
    await api.done({ project_id: s.project, task_id: self, agent_id: 'the-process', lease_token: token, output: { by: 'the process' } });
    reportedSelf = true;
    // A heartbeat (every second) now finds the task done: the process is left to finish.
    await until(() => selfBeatsAfterReport > 0, 60_000, 'a heartbeat after the report');
    writeFileSync(join(s.dir, `go-${self}`), '');
    const result = await running;

    expect(result.done.sort()).toEqual([ok1, ok2, ok3, after, plain, self].sort());
    expect(result.failed.sort()).toEqual([failTwice, failTwice, failOnce].sort());
    expect(result.timed_out).toEqual([hang]);
    expect(result.lease_lost).toEqual([]);

    const status = async (id: string) => (await api.status({ project_id: s.project, task_id: id })).task;
    expect((await status(ok1)).output).toEqual({ task: ok1, title: 'ok one', ok: true });
    expect((await status(after)).output).toEqual({ task: after, title: 'ok after one', ok: true });
    expect((await status(plain)).output).toEqual({ stdout: 'hello from plain\n' });
    expect(await status(self)).toMatchObject({ status: 'done', output: { by: 'the process' } });
    const selfEvents = (await api.events({ project_id: s.project, limit: 1000 })).filter((e) => e.task_id === self && e.type === 'task.done');
    expect(selfEvents).toHaveLength(1); // not completed twice
    expect(s.lines).toContain(`${self} done (reported by its process)`);

    expect(await status(failTwice)).toMatchObject({ status: 'failed', attempts: 2 });
    expect((await status(failTwice)).failure_reason).toMatch(/^exit code 3: boom in loom-/);
    expect(await status(failOnce)).toMatchObject({ status: 'failed', attempts: 1 });
    const hung = await status(hang);
    expect(hung).toMatchObject({ status: 'failed', attempts: 1 }); // leaseSeconds 3 < 10 s run: heartbeats kept the lease
    expect(hung.failure_reason).toMatch(/^timed out after 10 s/);
    expect(hangAliveAtFail).toEqual([false]);

    const log = s.log();
    const pids = log.filter(([kind]) => kind === 'start' || kind === 'child').map((l) => Number(l[2]));
    expect(pids.length).toBe(11); // 10 runs (fail twice ran twice) + the hung one's child
    expect(pids.filter(isAlive)).toEqual([]);
    expect(maxOverlap(log)).toBe(2);

    const { counts } = await api.overview({ project_id: s.project });
    expect(counts).toMatchObject({ pending: 0, claimed: 0, blocked: 0, done: 6, failed: 3 });
  });

  it('on shutdown kills the running jobs, verifies them gone, and gives the tasks back without using an attempt', async () => {
    const controller = new AbortController();
    const s = await setUp('shutdown', { signal: controller.signal, exitWhenIdle: false });
    const a = await s.create('hang one');
    const b = await s.create('hang two');
    const running = dispatch(s.options);
    await until(() => s.log().filter((l) => l[0] === 'child').length === 2, 60_000, 'both jobs');
    controller.abort();
    const result = await running;
    expect(result.released.sort()).toEqual([a, b].sort());
    expect(result.failed).toEqual([]);
    for (const id of [a, b]) {
      expect((await api.status({ project_id: s.project, task_id: id })).task).toMatchObject({ status: 'pending', attempts: 0, run_after: null });
    }
    expect(s.log().filter((l) => l[0] === 'start' || l[0] === 'child').map((l) => Number(l[2])).filter(isAlive)).toEqual([]);
  });

  it('kills a job whose lease is lost (the task was cancelled) and records nothing for it', async () => {
    // A lease long enough that only the cancellation, not a late heartbeat on a busy machine, loses it.
    const s = await setUp('lease-lost', { leaseSeconds: 3 });
    const t = await s.create('hang until cancelled');
    const running = dispatch(s.options);
    await until(() => s.log().some((l) => l[0] === 'child'), 60_000, 'the job');
    await api.cancel({ project_id: s.project, task_id: t, reason: 'not needed' });
    const result = await running;
    expect(result).toEqual({ done: [], failed: [], dead_lettered: [], timed_out: [], lease_lost: [t], released: [], rate_limited: [] });
    expect((await api.status({ project_id: s.project, task_id: t })).task.status).toBe('cancelled');
    const types = (await api.events({ project_id: s.project, limit: 1000 })).filter((e) => e.task_id === t).map((e) => e.type);
    expect(types).not.toContain('task.failed');
    expect(s.log().filter((l) => l[0] === 'start' || l[0] === 'child').map((l) => Number(l[2])).filter(isAlive)).toEqual([]);
  });

  it('with exitWhenIdle keeps polling while another agent holds a claim; a command that cannot start is dead-lettered', async () => {
    const s = await setUp('idle');
    const foreign = await s.create('ok held by someone else');
    const claim = await api.claim({ project_id: s.project, agent_id: 'someone-else', task_id: foreign });
    if (!claim.claimed) throw new Error('no claim');
    const broken = await s.create('ok but the shell is missing');
    let finished = false;
    const running = dispatch({ ...s.options, runner: new CommandRunner({ template: 'true', shell: join(s.dir, 'no-shell') }) }).then((r) => {
      finished = true;
      return r;
    });
    await until(async () => (await api.status({ project_id: s.project, task_id: broken })).task.status === 'failed', 60_000);
    await new Promise((r) => setTimeout(r, 1000)); // 20 polls
    expect(finished).toBe(false); // a claim is still out: its task may yet fail and come back
    await api.done({ project_id: s.project, task_id: foreign, agent_id: 'someone-else', lease_token: claim.lease.token });
    const result = await running;
    expect(result.failed).toEqual([broken]);
    const task = (await api.status({ project_id: s.project, task_id: broken })).task;
    expect(task).toMatchObject({ status: 'failed', attempts: 1 }); // not retryable: one attempt of 3
    expect(task.failure_reason).toMatch(/^could not start the agent command/);
  });

  it('leaves held tasks alone, and a held task does not keep exitWhenIdle waiting', async () => {
    const s = await setUp('held');
    const held = await s.create('ok but held');
    const t = await s.create('ok');
    await api.hold({ project_id: s.project, task_id: held });
    const result = await dispatch(s.options);
    expect(result.done).toEqual([t]);
    expect((await api.status({ project_id: s.project, task_id: held })).task).toMatchObject({ status: 'pending', attempts: 0 });
    expect(s.lines.filter((l) => l.startsWith('idle:'))).toEqual(['idle: nothing ready, claimed or waiting to retry; exiting']);
  });

  it('with exitWhenIdle requeues the expired claim of an agent that died, runs it, then exits', async () => {
    const s = await setUp('dead-agent');
    const t = await s.create('ok abandoned');
    const claim = await api.claim({ project_id: s.project, agent_id: 'died', lease_seconds: 1 });
    if (!claim.claimed) throw new Error('no claim');
    const result = await dispatch(s.options);
    expect(result.done).toEqual([t]);
    expect((await api.status({ project_id: s.project, task_id: t })).task).toMatchObject({ status: 'done', attempts: 2 });
    expect(s.lines.some((l) => l.includes(`requeued ${t}`))).toBe(true);
  });

  it('fills every free slot with one batch claim, each task leased to its slot\'s agent, never a single claim', async () => {
    const calls: Array<{ method: string; agents?: string[] }> = [];
    const counted = new Proxy(api, {
      get(target, prop, receiver) {
        if (prop === 'claim') return async (input: Parameters<LoomApi['claim']>[0]) => (calls.push({ method: 'claim' }), target.claim(input));
        if (prop === 'claimBatch') {
          return async (input: Parameters<LoomApi['claimBatch']>[0]) => {
            calls.push({ method: 'claimBatch', agents: input.agent_ids });
            return target.claimBatch(input);
          };
        }
        return Reflect.get(target, prop, receiver);
      },
    });
    const s = await setUp('batch-slots', { api: counted, concurrency: 3 });
    const ids = [await s.create('ok a'), await s.create('ok b'), await s.create('ok c'), await s.create('ok d')];
    const result = await dispatch(s.options);
    expect(result.done.sort()).toEqual([...ids].sort());
    expect(calls.filter((c) => c.method === 'claim')).toEqual([]);
    // The first round trip asks for all three slots at once and gets three tasks.
    expect(calls[0]).toEqual({ method: 'claimBatch', agents: ['runner-0', 'runner-1', 'runner-2'] });
    const claimed = (await api.events({ project_id: s.project, limit: 100 })).filter((e) => e.type === 'task.claimed');
    expect(claimed).toHaveLength(4);
    expect(new Set(claimed.slice(0, 3).map((e) => e.agent_id))).toEqual(new Set(['runner-0', 'runner-1', 'runner-2']));
    expect(maxOverlap(s.log())).toBeLessThanOrEqual(3);
  });

  it('records the usage a job prints: a Claude Code result on done, a loom_usage line on a failure; usage out of bounds is left out, the outcome kept', async () => {
    const s = await setUp('usage');
    const claude = await s.create('claude one', { max_attempts: 1 });
    const costly = await s.create('costly one', { max_attempts: 1 });
    const absurd = await s.create('absurd one', { max_attempts: 1 });
    const result = await dispatch(s.options);
    expect(result.done.sort()).toEqual([claude, absurd].sort());
    expect(result.failed).toEqual([costly]);
    const usage = async (id: string) => (await api.status({ project_id: s.project, task_id: id })).usage;
    expect(await usage(claude)).toEqual({ input_tokens: 12, output_tokens: 789, cache_read_tokens: 3456, cost_micros: 12_346, cost_usd: 0.012346, reports: 1 });
    expect(await usage(costly)).toEqual({ input_tokens: 5, output_tokens: 7, cache_read_tokens: 0, cost_micros: 500_000, cost_usd: 0.5, reports: 1 });
    expect(await usage(absurd)).toBeUndefined();
    expect(s.lines.filter((l) => l.includes('usage'))).toEqual([`${absurd}: usage in its output not recorded (input_tokens: must be <= 1000000000)`]);
    // The Claude result is the task's output, as any one JSON object on stdout would be; its model is on the report's event.
    const done = (await api.events({ project_id: s.project, task_id: claude })).find((e) => e.type === 'task.done');
    expect(done?.payload.usage).toMatchObject({ model: 'claude-sonnet-test', cost_usd: 0.0123456 });
    expect((await api.costs({ project_id: s.project })).total.cost_micros).toBe(512_346);
  });
});
