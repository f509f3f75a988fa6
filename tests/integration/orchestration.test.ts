/**
 * Orchestration policy on real databases: crash recovery after a SIGKILL,
 * retries into the dead letters and back, stuck and bouncing work, escalation
 * resolution, agent liveness, and concurrent ticks acting once.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AppConnector } from '../../src/app/connector.js';
import { DEFAULT_ORCHESTRATION } from '../../src/domain/policy.js';
import type { LoomApi } from '../../src/ports/loom-api.js';
import { BUILT_MAIN, ROOT } from '../support/loom-cli.js';
import { usePgServices } from '../support/pg-services.js';

const origin = { kind: 'test', id: 't' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FAST_RETRY = { base_ms: 200, factor: 2, max_ms: 1000 };
/**
 * For checks made before a backoff ends: the shortest delay (half the base,
 * equal jitter) leaves a busy machine a second for the calls in between.
 */
const CHECKED_RETRY = { base_ms: 2000, factor: 1.5, max_ms: 3000 };

/** Starts the fixture that claims a task and hangs; resolves with its claim once printed. */
function claimAndHang(env: Record<string, string>): Promise<{ child: ReturnType<typeof spawn>; task_id: string; lease_token: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'tests/fixtures/claim-and-hang.mjs')], { env: { ...process.env, LOOM_ROOT: ROOT, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) {
        const r = JSON.parse(out.split('\n')[0]!);
        if (r.error) reject(new Error(r.error));
        else resolve({ child, ...r });
      }
    });
    child.on('exit', (code) => reject(new Error(`fixture exited ${code}: ${out}${err}`)));
  });
}

async function crashRecovery(api: LoomApi, projectId: string, env: Record<string, string>): Promise<void> {
  const t = await api.createTask({ project_id: projectId, title: 'survives a crash', origin });
  const dead = await claimAndHang({ ...env, LEASE_SECONDS: '1' });
  expect(dead.task_id).toBe(t.id);
  dead.child.kill('SIGKILL');
  await sleep(1200);
  const tick = await api.reconcile({ project_id: projectId });
  expect(tick.requeued).toEqual([t.id]);
  // Another agent takes it once the backoff has passed, and finishes it.
  let claim = await api.claim({ project_id: projectId, agent_id: 'rescuer', task_id: t.id });
  for (let i = 0; !claim.claimed && i < 50; i++) {
    await sleep(100);
    claim = await api.claim({ project_id: projectId, agent_id: 'rescuer', task_id: t.id });
  }
  if (!claim.claimed) throw new Error('not claimable again');
  await api.done({ project_id: projectId, task_id: t.id, agent_id: 'rescuer', lease_token: claim.lease.token, output: { by: 'rescuer' } });
  const before = await api.events({ project_id: projectId, limit: 10_000 });
  await expect(api.done({ project_id: projectId, task_id: t.id, agent_id: 'doomed', lease_token: dead.lease_token })).rejects.toMatchObject({ code: 'LEASE_LOST' });
  expect(await api.events({ project_id: projectId, limit: 10_000 })).toEqual(before);
  const after = (await api.status({ project_id: projectId, task_id: t.id })).task;
  expect(after).toMatchObject({ status: 'done', output: { by: 'rescuer' }, attempts: 2 });
}

describe('orchestration (postgres)', () => {
  const { service, url } = usePgServices('orchestration', { retry: FAST_RETRY });

  it('a claimer SIGKILLed mid-task: lease expires, task requeued and finished by another; the late done is refused', async () => {
    const api = service();
    const p = (await api.createProject({ name: 'crash' })).id;
    await crashRecovery(api, p, { DATABASE_URL: url(), PROJECT_ID: p });
  });

  it('fails 3 times into the dead letters with an escalation, respecting backoff; redrive brings it back', async () => {
    const api = service({ retry: CHECKED_RETRY });
    const p = (await api.createProject({ name: 'retries' })).id;
    const t = await api.createTask({ project_id: p, title: 'flaky', origin, max_attempts: 3 });
    for (let attempt = 1; attempt <= 3; attempt++) {
      let c = await api.claim({ project_id: p, agent_id: 'a', task_id: t.id });
      const waited = Date.now();
      while (!c.claimed) {
        await sleep(25);
        c = await api.claim({ project_id: p, agent_id: 'a', task_id: t.id });
      }
      if (attempt > 1) expect(Date.now() - waited).toBeGreaterThanOrEqual(50); // backoff: not claimable at once
      const f = await api.fail({ project_id: p, task_id: t.id, agent_id: 'a', lease_token: c.lease.token, reason: `boom ${attempt}` });
      if (attempt < 3) {
        expect(f.outcome).toBe('retrying');
        expect(Date.parse(f.run_after!)).toBeGreaterThan(Date.now());
        expect(await api.ready({ project_id: p })).toEqual([]); // not before run_after
      } else {
        expect(f.outcome).toBe('dead_lettered');
      }
    }
    await sleep(CHECKED_RETRY.max_ms + 100); // past any backoff
    expect(await api.ready({ project_id: p })).toEqual([]); // a dead letter is never ready
    expect((await api.deadLetters({ project_id: p })).map((x) => [x.id, x.attempts, x.failure_reason])).toEqual([[t.id, 3, 'boom 3']]);
    const open = await api.escalations({ project_id: p });
    expect(open).toHaveLength(1);
    expect((await api.redrive({ project_id: p, task_id: t.id })).redriven).toEqual([t.id]);
    expect((await api.ready({ project_id: p })).map((x) => [x.id, x.attempts])).toEqual([[t.id, 0]]);
    expect(await api.escalations({ project_id: p })).toEqual([]); // the dead letter's escalation closed with the redrive
    await expect(api.redrive({ project_id: p, task_id: t.id })).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });
  });

  it('escalates work that keeps heartbeating without progress, once', async () => {
    // The heartbeat with progress must reach the tick within stuck_after_ms: generous room for a busy machine.
    const api = service({ orchestration: { ...DEFAULT_ORCHESTRATION, stuck_after_ms: 2000 } });
    const p = (await api.createProject({ name: 'stuck' })).id;
    const moving = await api.createTask({ project_id: p, title: 'moving', origin });
    const stuck = await api.createTask({ project_id: p, title: 'stuck', origin });
    const cm = await api.claim({ project_id: p, agent_id: 'busy', task_id: moving.id });
    const cs = await api.claim({ project_id: p, agent_id: 'spinning', task_id: stuck.id });
    if (!cm.claimed || !cs.claimed) throw new Error('claims failed');
    await sleep(2200);
    await api.heartbeat({ project_id: p, task_id: moving.id, agent_id: 'busy', lease_token: cm.lease.token, progress: 'tests pass locally' });
    await api.heartbeat({ project_id: p, task_id: stuck.id, agent_id: 'spinning', lease_token: cs.lease.token });
    expect((await api.reconcile({ project_id: p })).stuck).toEqual([stuck.id]);
    expect((await api.reconcile({ project_id: p })).stuck).toEqual([]); // not twice
    const escalations = await api.escalations({ project_id: p });
    expect(escalations.map((e) => [e.task_id, e.source])).toEqual([[stuck.id, 'policy']]);
    expect((await api.status({ project_id: p, task_id: stuck.id })).task.status).toBe('claimed'); // the agent keeps working
  });

  it('escalates a task whose lease keeps running out instead of requeueing it forever', async () => {
    const api = service({ orchestration: { ...DEFAULT_ORCHESTRATION, max_lease_expiries: 2 } });
    const p = (await api.createProject({ name: 'bounce' })).id;
    const t = await api.createTask({ project_id: p, title: 'hot potato', origin, max_attempts: 10 });
    for (let i = 0; i < 2; i++) {
      let c = await api.claim({ project_id: p, agent_id: `vanisher-${i}`, task_id: t.id, lease_seconds: 1 });
      while (!c.claimed) {
        await sleep(50);
        c = await api.claim({ project_id: p, agent_id: `vanisher-${i}`, task_id: t.id, lease_seconds: 1 });
      }
      await sleep(1100);
      const tick = await api.reconcile({ project_id: p });
      expect(i === 0 ? tick.requeued : tick.escalated).toEqual([t.id]);
    }
    const detail = await api.status({ project_id: p, task_id: t.id });
    expect(detail.task).toMatchObject({ status: 'blocked', blocked_reason: 'escalation', expiry_count: 2 });
    expect(detail.escalations[0]!.message).toContain('keeps bouncing');
  });

  it('resolves escalations with retry, unblock, done and cancel, each as one step with its events', async () => {
    const api = service();
    const p = (await api.createProject({ name: 'resolve' })).id;
    const mk = async (title: string) => api.createTask({ project_id: p, title, origin });
    const [a, b, c, d] = [await mk('a'), await mk('b'), await mk('c'), await mk('d')];
    const after = await api.createTask({ project_id: p, title: 'after c', origin, depends_on: [c.id] });
    const esc = async (id: string) => (await api.escalate({ project_id: p, task_id: id, message: `help with ${id}`, agent_id: 'ada' })).escalation.id;
    const [ea, eb, ec, ed] = [await esc(a.id), await esc(b.id), await esc(c.id), await esc(d.id)];
    expect((await api.ready({ project_id: p })).map((t) => t.id)).toEqual([]);

    expect((await api.resolveEscalation({ project_id: p, escalation_id: ea, action: 'retry', note: 'try again' })).task.status).toBe('pending');
    expect((await api.resolveEscalation({ project_id: p, escalation_id: eb, action: 'unblock' })).task.status).toBe('pending');
    const done = await api.resolveEscalation({ project_id: p, escalation_id: ec, action: 'done', output: { decided: 'by hand' } });
    expect(done.task).toMatchObject({ status: 'done', output: { decided: 'by hand' } });
    expect((await api.status({ project_id: p, task_id: after.id })).task.status).toBe('pending'); // its dependent moved on
    expect((await api.resolveEscalation({ project_id: p, escalation_id: ed, action: 'cancel' })).task.status).toBe('cancelled');
    await expect(api.resolveEscalation({ project_id: p, escalation_id: ea, action: 'retry' })).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });
    expect(await api.escalations({ project_id: p })).toEqual([]);
    expect((await api.escalations({ project_id: p, status: 'resolved' })).map((e) => e.resolution).sort()).toEqual(['cancel', 'done', 'retry: try again', 'unblock']);
    const types = (await api.events({ project_id: p, limit: 1000 })).map((e) => e.type);
    expect(types.filter((t) => t === 'escalation.resolved')).toHaveLength(4);
  });

  it('one decision settles every open escalation of the task, once each; an unknown id is ESCALATION_NOT_FOUND', async () => {
    const api = service();
    const p = (await api.createProject({ name: 'resolve-all' })).id;
    const t = await api.createTask({ project_id: p, title: 'doomed', origin, max_attempts: 1 });
    const c = await api.claim({ project_id: p, agent_id: 'a', task_id: t.id });
    if (!c.claimed) throw new Error('no claim');
    await api.fail({ project_id: p, task_id: t.id, agent_id: 'a', lease_token: c.lease.token, reason: 'broken' }); // dead letter: one policy escalation
    const [dead] = await api.escalations({ project_id: p });
    await api.resolveEscalation({ project_id: p, escalation_id: dead!.id, action: 'retry', note: 'fixed the env' });
    const resolvedEvents = (await api.events({ project_id: p, limit: 1000 })).filter((e) => e.type === 'escalation.resolved');
    expect(resolvedEvents).toHaveLength(1);
    expect(resolvedEvents[0]!.payload).toMatchObject({ escalation_id: dead!.id, action: 'retry', note: 'fixed the env' });

    const other = await api.createTask({ project_id: p, title: 'twice escalated', origin });
    const e1 = (await api.escalate({ project_id: p, task_id: other.id, message: 'first' })).escalation.id;
    const c2 = await api.claim({ project_id: p, agent_id: 'b', task_id: other.id }); // not claimable: blocked
    expect(c2.claimed).toBe(false);
    await api.resolveEscalation({ project_id: p, escalation_id: e1, action: 'unblock' });
    await api.escalate({ project_id: p, task_id: other.id, message: 'second' });
    await api.escalate({ project_id: p, task_id: other.id, message: 'third' }).catch(() => undefined); // blocked already: refused or not, at most one more
    const open = await api.escalations({ project_id: p });
    await api.resolveEscalation({ project_id: p, escalation_id: open[0]!.id, action: 'cancel' });
    expect(await api.escalations({ project_id: p })).toEqual([]);
    await expect(api.resolveEscalation({ project_id: p, escalation_id: 'esc-000000000000', action: 'retry' })).rejects.toMatchObject({ code: 'ESCALATION_NOT_FOUND' });
  });

  it('lists agents with their claims as active, idle or gone; a gone agent keeps its lease until it expires', async () => {
    // chatter must be looked at between idle (300 ms) and gone: a wide window, for a busy machine.
    const api = service({ orchestration: { ...DEFAULT_ORCHESTRATION, agent_idle_after_ms: 300, agent_gone_after_ms: 3000 } });
    const p = (await api.createProject({ name: 'agents' })).id;
    const t = await api.createTask({ project_id: p, title: 'held', origin });
    await api.claim({ project_id: p, agent_id: 'holder', task_id: t.id, lease_seconds: 600 });
    await api.sendMessage({ project_id: p, from_agent: 'chatter', to_agent: '*', body: 'hi' });
    await api.createTask({ project_id: p, title: 'filed by an operator', origin: { kind: 'cli', id: 'operator' } });
    await sleep(500);
    const mid = Object.fromEntries((await api.agents({ project_id: p })).map((a) => [a.agent_id, a]));
    expect(mid.holder).toMatchObject({ status: 'active', claims: [t.id] });
    expect(mid.chatter).toMatchObject({ status: 'idle', claims: [] });
    expect(mid.operator).toBeUndefined(); // filing a task does not make you an agent
    await sleep(2600); // past agent_gone_after_ms since the claim
    const late = Object.fromEntries((await api.agents({ project_id: p })).map((a) => [a.agent_id, a]));
    expect(late.holder!.status).toBe('gone');
    expect((await api.reconcile({ project_id: p })).requeued).toEqual([]); // no early steal
    expect((await api.status({ project_id: p, task_id: t.id })).task.status).toBe('claimed');
  });

  it('two ticks at once over 1,000 expired leases requeue each exactly once', async () => {
    const [a, b] = [service(), service()];
    const p = (await a.createProject({ name: 'race' })).id;
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => a.createTask({ project_id: p, title: `t${i + j}`, origin })));
    }
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, () => a.claim({ project_id: p, agent_id: 'gone', lease_seconds: 1 })));
    }
    await sleep(1200);
    const [ra, rb] = await Promise.all([a.reconcile({ project_id: p }), b.reconcile({ project_id: p })]);
    const all = [...ra.requeued, ...rb.requeued];
    expect(all).toHaveLength(1000);
    expect(new Set(all).size).toBe(1000);
    const expired = (await a.events({ project_id: p, limit: 10_000 })).filter((e) => e.type === 'task.lease_expired');
    expect(expired).toHaveLength(1000);
  });
});

describe('orchestration (embedded)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-orch-'));
  const env = { ...process.env, LOOM_DATABASE_URL: '', LOOM_DAEMON_IDLE_SECONDS: '60' };
  const connector = new AppConnector({ env, cwd: dir, daemonEntry: BUILT_MAIN });
  afterAll(async () => {
    await connector.daemonStop({ projectDir: dir }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a claimer SIGKILLed mid-task: lease expires, task requeued and finished by another; the late done is refused', async () => {
    await connector.init({ projectDir: dir, name: 'crash' });
    // The test runs the tick that finds the expired lease: the daemon's own (every 5 s) must not
    // beat it to it, however long a busy machine takes between the expiry and the test's tick.
    await connector.daemonStop({ projectDir: dir });
    appendFileSync(join(dir, '.loom/config.yaml'), 'orchestration:\n  tick_seconds: 3600\n');
    const { api, project } = await connector.open({ projectDir: dir });
    try {
      await crashRecovery(api, project.project_id, { PROJECT_DIR: dir, LOOM_DATABASE_URL: '' });
    } finally {
      await api.close();
    }
  });
});
