/** The admin tool group through a real MCP Client, on the real LoomService over in-memory PGlite. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProjectContext } from '../../src/ports/loom-connector.js';
import { allEvents, connect, newProject, openBackend, type Backend, type Session } from './harness.js';

let b: Backend;
beforeAll(async () => {
  b = await openBackend();
});
afterAll(async () => {
  await b.close();
});

const ADMIN = ['loom_dlq', 'loom_redrive', 'loom_escalations', 'loom_resolve', 'loom_hold', 'loom_resume', 'loom_agents', 'loom_tick', 'loom_fsck'];
const GROUPS = ['core', 'admin'];
const UNKNOWN = 'loom-00000000';
const UNKNOWN_ESCALATION = 'esc-000000000000';

async function setup(name = 'admin'): Promise<{ project: ProjectContext; s: Session }> {
  const project = await newProject(b.api, name);
  return { project, s: await connect(b, project, { toolGroups: GROUPS }) };
}

const ids = (list: Array<{ id: string }>): string[] => list.map((t) => t.id);

/** A task dead-lettered the ordinary way: created with one attempt, claimed, and failed. */
async function deadLetter(s: Session, project: ProjectContext, title: string): Promise<string> {
  const task = await b.api.createTask({ project_id: project.project_id, title, origin: { kind: 'cli', id: 'op' }, max_attempts: 1 });
  await s.ok('loom_claim', { task_id: task.id });
  const r = await s.ok('loom_fail', { task_id: task.id, reason: `${title} broke\nstack line 1\nstack line 2` });
  expect(r).toMatchObject({ outcome: 'dead_lettered', task: { status: 'failed' } });
  return task.id;
}

/** A pending task escalated by the session's agent. */
async function escalated(s: Session, title: string): Promise<{ task_id: string; escalation_id: string }> {
  const task = (await s.ok('loom_create', { title })).task;
  const r = await s.ok('loom_escalate', { task_id: task.id, message: `${title}: which way?` });
  return { task_id: task.id, escalation_id: r.escalation.id };
}

describe('tools/list', () => {
  it('the admin tools are not listed for the default core group', async () => {
    const project = await newProject(b.api, 'core-only');
    const s = await connect(b, project);
    const names = (await s.client.listTools()).tools.map((t) => t.name);
    for (const name of ADMIN) expect(names).not.toContain(name);
    const r = await s.call('loom_dlq', {});
    expect(r.isError).toBe(true);
    expect(r.data.error.code).toBe('VALIDATION_FAILED');
    await s.close();
  });

  it('core+admin lists every admin tool after the core ones, under 16,000 characters of JSON', async () => {
    const { s } = await setup();
    const listed = await s.client.listTools();
    const names = listed.tools.map((t) => t.name);
    expect(names.slice(-ADMIN.length)).toEqual(ADMIN);
    expect(names).toContain('loom_claim');
    const size = JSON.stringify(listed).length;
    console.log(`core+admin tools/list: ${size} characters of JSON`);
    expect(size).toBeLessThan(16_000);
    const admin = listed.tools.filter((t) => ADMIN.includes(t.name));
    for (const t of admin) {
      expect(t.description!.length).toBeGreaterThan(20);
      expect(t.inputSchema).toMatchObject({ type: 'object', additionalProperties: false });
    }
    expect(admin.filter((t) => t.annotations?.readOnlyHint === true).map((t) => t.name).sort()).toEqual(['loom_agents', 'loom_dlq', 'loom_escalations']);
    await s.close();
  });
});

describe('hold and resume', () => {
  it('loom_hold keeps a task out of loom_ready and loom_claim until loom_resume; a done task is refused', async () => {
    const { s } = await setup('hold');
    const task = (await s.ok('loom_create', { title: 'paused' })).task;
    expect(await s.ok('loom_hold', { task_id: task.id, reason: 'review' })).toMatchObject({ held: [task.id], task: { hold_reason: 'review' } });
    expect(ids((await s.ok('loom_ready')).tasks)).not.toContain(task.id);
    expect(await s.ok('loom_claim', { task_id: task.id })).toMatchObject({ claimed: false });
    expect(await s.ok('loom_resume', { task_id: task.id })).toMatchObject({ resumed: [{ id: task.id, status: 'pending' }] });
    await s.ok('loom_claim', { task_id: task.id });
    await s.ok('loom_done', { task_id: task.id });
    const r = await s.call('loom_hold', { task_id: task.id });
    expect(r.isError).toBe(true);
    expect(r.data.error).toMatchObject({ code: 'INVALID_TRANSITION', hint: expect.any(String) });
    await s.close();
  });
});

describe('dead letters', () => {
  it('a task failed with max_attempts 1 shows in loom_dlq; loom_redrive brings it back and closes its escalation', async () => {
    const { s, project } = await setup();
    const id = await deadLetter(s, project, 'flaky build');

    const dlq = await s.ok('loom_dlq', {});
    expect(ids(dlq.tasks)).toEqual([id]);
    expect(dlq.tasks[0]).toMatchObject({ status: 'failed', attempts: 1, max_attempts: 1 });
    expect(dlq.tasks[0].failure_reason).toMatch(/^flaky build broke/);
    expect(ids((await s.ok('loom_ready')).tasks)).not.toContain(id);

    // Running out of attempts asks a human: an open policy escalation on the task.
    const open = (await s.ok('loom_escalations')).escalations.filter((e: { task_id: string }) => e.task_id === id);
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ source: 'policy', status: 'open' });

    const r = await s.ok('loom_redrive', { task_id: id });
    expect(r).toEqual({ redriven: [id] });
    const detail = await s.ok('loom_status', { task_id: id });
    expect(detail.task).toMatchObject({ status: 'pending', attempts: 0, failure_reason: null });
    expect(detail.escalations).toEqual([expect.objectContaining({ id: open[0].id, status: 'resolved' })]);
    expect((await s.ok('loom_escalations')).escalations.map((e: { id: string }) => e.id)).not.toContain(open[0].id);
    expect((await s.ok('loom_dlq')).tasks).toEqual([]);
    expect(ids((await s.ok('loom_ready')).tasks)).toContain(id);
    const redriven = (await allEvents(b.api, project.project_id)).filter((e) => e.type === 'task.redriven');
    expect(redriven).toEqual([expect.objectContaining({ task_id: id, agent_id: s.mcp.session.agentId })]);
    await s.close();
  });

  it('loom_redrive all:true redrives every dead letter; with none left it redrives nothing', async () => {
    const { s, project } = await setup();
    const a = await deadLetter(s, project, 'a');
    const c = await deadLetter(s, project, 'c');
    expect(ids((await s.ok('loom_dlq', { limit: 1 })).tasks)).toHaveLength(1);
    const r = await s.ok('loom_redrive', { all: true });
    expect([...r.redriven].sort()).toEqual([a, c].sort());
    expect((await s.ok('loom_dlq')).tasks).toEqual([]);
    expect(await s.ok('loom_redrive', { all: true })).toEqual({ redriven: [] });
    await s.close();
  });
});

describe('escalations', () => {
  it('loom_escalations lists an escalation raised with loom_escalate, and shows it resolved afterwards', async () => {
    const { s } = await setup();
    const { task_id, escalation_id } = await escalated(s, 'pick a database');
    const open = await s.ok('loom_escalations', {});
    expect(open.escalations).toEqual([
      expect.objectContaining({ id: escalation_id, task_id, source: 'agent', raised_by: s.mcp.session.agentId, status: 'open', message: 'pick a database: which way?' }),
    ]);
    expect((await s.ok('loom_escalations', { status: 'resolved' })).escalations).toEqual([]);

    const r = await s.ok('loom_resolve', { escalation_id, action: 'unblock', note: 'use Postgres' });
    expect(r.escalation).toMatchObject({ id: escalation_id, status: 'resolved', resolution: 'unblock: use Postgres' });
    expect((await s.ok('loom_escalations')).escalations).toEqual([]);
    expect((await s.ok('loom_escalations', { status: 'resolved' })).escalations.map((e: { id: string }) => e.id)).toEqual([escalation_id]);
    expect((await s.ok('loom_escalations', { status: 'all' })).escalations.map((e: { id: string }) => e.id)).toEqual([escalation_id]);
    await s.close();
  });

  it('unblock puts the task back in the queue as it is', async () => {
    const { s } = await setup();
    const { task_id, escalation_id } = await escalated(s, 'unblock me');
    expect((await s.ok('loom_status', { task_id })).task).toMatchObject({ status: 'blocked', blocked_reason: 'escalation' });
    const r = await s.ok('loom_resolve', { escalation_id, action: 'unblock' });
    expect(r.task).toMatchObject({ id: task_id, status: 'pending', blocked_reason: null });
    expect(ids((await s.ok('loom_ready')).tasks)).toContain(task_id);
    await s.close();
  });

  it('retry requeues the task with its attempts reset', async () => {
    const { s } = await setup();
    const task = (await s.ok('loom_create', { title: 'try again' })).task;
    await s.ok('loom_claim', { task_id: task.id });
    expect((await s.ok('loom_fail', { task_id: task.id, reason: 'timeout' })).task.attempts).toBe(1);
    const { escalation } = await s.ok('loom_escalate', { task_id: task.id, message: 'keeps timing out' });
    const r = await s.ok('loom_resolve', { escalation_id: escalation.id, action: 'retry' });
    expect(r.task).toMatchObject({ id: task.id, status: 'pending', attempts: 0, run_after: null });
    expect(r.escalation).toMatchObject({ status: 'resolved', resolution: 'retry' });
    await s.close();
  });

  it('retry of a dead-lettered task redrives it', async () => {
    const { s, project } = await setup();
    const id = await deadLetter(s, project, 'dead');
    const esc = (await s.ok('loom_escalations')).escalations.find((e: { task_id: string }) => e.task_id === id);
    const r = await s.ok('loom_resolve', { escalation_id: esc.id, action: 'retry' });
    expect(r.task).toMatchObject({ id, status: 'pending', attempts: 0 });
    expect((await s.ok('loom_dlq')).tasks).toEqual([]);
    await s.close();
  });

  it('done marks the task done with the output given, and releases its dependents', async () => {
    const { s } = await setup();
    const { task_id, escalation_id } = await escalated(s, 'do it by hand');
    const dep = (await s.ok('loom_create', { title: 'after', depends_on: [task_id] })).task;
    const r = await s.ok('loom_resolve', { escalation_id, action: 'done', output: { pr: '#42' } });
    expect(r.task).toMatchObject({ id: task_id, status: 'done', output: { pr: '#42' } });
    expect((await s.ok('loom_status', { task_id: dep.id })).task.status).toBe('pending');
    await s.close();
  });

  it('cancel cancels the task', async () => {
    const { s } = await setup();
    const { task_id, escalation_id } = await escalated(s, 'not needed');
    const r = await s.ok('loom_resolve', { escalation_id, action: 'cancel', note: 'out of scope' });
    expect(r.task).toMatchObject({ id: task_id, status: 'cancelled' });
    expect(r.escalation).toMatchObject({ status: 'resolved', resolution: 'cancel: out of scope' });
    await s.close();
  });

  it('a second resolve of the same escalation is INVALID_TRANSITION and changes nothing', async () => {
    const { s, project } = await setup();
    const { task_id, escalation_id } = await escalated(s, 'twice');
    await s.ok('loom_resolve', { escalation_id, action: 'unblock' });
    const before = await allEvents(b.api, project.project_id);
    const r = await s.call('loom_resolve', { escalation_id, action: 'cancel' });
    expect(r.isError).toBe(true);
    expect(r.data.error.code).toBe('INVALID_TRANSITION');
    expect(r.data.error.message).toContain(escalation_id);
    expect((await s.ok('loom_status', { task_id })).task.status).toBe('pending');
    expect(await allEvents(b.api, project.project_id)).toEqual(before);
    await s.close();
  });
});

describe('agents and the tick', () => {
  it('loom_agents lists the session agent as active, with its claim', async () => {
    const { s } = await setup();
    const task = (await s.ok('loom_create', { title: 'held' })).task;
    await s.ok('loom_claim', { task_id: task.id });
    const r = await s.ok('loom_agents');
    expect(r.agents).toEqual([expect.objectContaining({ agent_id: s.mcp.session.agentId, status: 'active', claims: [task.id] })]);
    await s.close();
  });

  it('loom_tick with nothing to do reports empty lists', async () => {
    const { s } = await setup();
    expect(await s.ok('loom_tick')).toEqual({
      requeued: [],
      dead_lettered: [],
      escalated: [],
      stuck: [],
      epics_completed: [],
      dependents_blocked: [],
      dependents_cancelled: [],
    });
    await s.close();
  });

  it('loom_tick requeues a task whose lease ran out', async () => {
    const { s } = await setup();
    const task = (await s.ok('loom_create', { title: 'abandoned' })).task;
    await s.ok('loom_claim', { task_id: task.id, lease_seconds: 1 });
    await new Promise((r) => setTimeout(r, 1_100));
    const r = await s.ok('loom_tick');
    expect(r.requeued).toEqual([task.id]);
    expect((await s.ok('loom_status', { task_id: task.id })).task).toMatchObject({ status: 'pending', assignee: null });
    expect((await s.ok('loom_tick')).requeued).toEqual([]);
    await s.close();
  });
});

describe('loom_fsck', () => {
  it('reports a clean project ok; a damaged weight is listed with its id, and repair:true recomputes it', async () => {
    const { s, project } = await setup();
    const a = (await s.ok('loom_create', { title: 'a' })).task;
    await s.ok('loom_create', { title: 'b', depends_on: [a.id] });
    expect(await s.ok('loom_fsck')).toMatchObject({ ok: true, project_id: project.project_id, checked: { tasks: 2, edges: 1 }, violations: [], due: [] });
    await b.pglite.pool.query('UPDATE tasks SET weight = 7 WHERE id = $1', [a.id]);
    const damaged = await s.ok('loom_fsck');
    expect(damaged.ok).toBe(false);
    expect(damaged.violations).toEqual([{ check: 'weight', message: `${a.id} has weight 7, but 1 open task waits on it`, task_ids: [a.id] }]);
    const repaired = await s.ok('loom_fsck', { repair: true });
    expect(repaired).toMatchObject({ ok: true, violations: [], repaired: { weights: [a.id] } });
    await s.close();
  });
});

describe('loom_heartbeat progress', () => {
  it('records the progress note on the task', async () => {
    const { s } = await setup();
    const task = (await s.ok('loom_create', { title: 'long work' })).task;
    await s.ok('loom_claim', { task_id: task.id });
    await s.ok('loom_heartbeat', { task_id: task.id, progress: 'parser written, tests next' });
    const t = (await s.ok('loom_status', { task_id: task.id })).task;
    expect(t.progress).toBe('parser written, tests next');
    expect(t.progress_at).not.toBeNull();
    await s.close();
  });
});

describe('bad input: a coded error and nothing written', () => {
  type Case = [tool: string, args: Record<string, unknown>, code: string, mentions?: RegExp];
  let dead = '';
  let pending = '';
  let escalation = '';
  const cases: Array<Case | (() => Case)> = [
    ['loom_dlq', { limit: 0 }, 'VALIDATION_FAILED', /limit/],
    ['loom_dlq', { limit: 'ten' }, 'VALIDATION_FAILED', /limit/],
    ['loom_dlq', { status: 'failed' }, 'VALIDATION_FAILED', /unknown field "status"/],
    ['loom_redrive', {}, 'VALIDATION_FAILED', /task_id or all/],
    ['loom_redrive', { all: false }, 'VALIDATION_FAILED', /task_id or all/],
    () => ['loom_redrive', { task_id: dead, all: true }, 'VALIDATION_FAILED', /not both/],
    ['loom_redrive', { task_id: 'task-1' }, 'VALIDATION_FAILED', /task_id: must be a task id/],
    ['loom_redrive', { all: 'yes' }, 'VALIDATION_FAILED', /all/],
    ['loom_redrive', { task_id: UNKNOWN }, 'TASK_NOT_FOUND', new RegExp(UNKNOWN)],
    () => ['loom_redrive', { task_id: pending }, 'INVALID_TRANSITION', /not failed/],
    ['loom_escalations', { status: 'closed' }, 'VALIDATION_FAILED', /status: must be one of open, resolved, all/],
    ['loom_escalations', { task_id: UNKNOWN }, 'VALIDATION_FAILED', /unknown field "task_id"/],
    ['loom_resolve', {}, 'VALIDATION_FAILED', /missing required field "escalation_id"/],
    () => ['loom_resolve', { escalation_id: escalation }, 'VALIDATION_FAILED', /missing required field "action"/],
    ['loom_resolve', { escalation_id: 'esc-1', action: 'retry' }, 'VALIDATION_FAILED', /escalation_id/],
    () => ['loom_resolve', { escalation_id: escalation, action: 'ignore' }, 'VALIDATION_FAILED', /action: must be one of retry, cancel, done, unblock/],
    () => ['loom_resolve', { escalation_id: escalation, action: 'retry', output: { pr: 1 } }, 'VALIDATION_FAILED', /output goes only with action done/],
    () => ['loom_resolve', { escalation_id: escalation, action: 'done', output: 'it works' }, 'VALIDATION_FAILED', /output/],
    () => ['loom_resolve', { escalation_id: escalation, action: 'unblock', note: '' }, 'VALIDATION_FAILED', /note/],
    () => ['loom_resolve', { escalation_id: escalation, action: 'unblock', agent_id: 'boss' }, 'VALIDATION_FAILED', /unknown field "agent_id"/],
    ['loom_resolve', { escalation_id: UNKNOWN_ESCALATION, action: 'retry' }, 'ESCALATION_NOT_FOUND', new RegExp(UNKNOWN_ESCALATION)],
    ['loom_hold', {}, 'VALIDATION_FAILED', /missing required field "task_id"/],
    () => ['loom_hold', { task_id: pending, reason: 'a\u0000b' }, 'VALIDATION_FAILED', /NUL/],
    () => ['loom_hold', { task_id: pending, reason: 'x'.repeat(2001) }, 'VALIDATION_FAILED', /reason/],
    ['loom_hold', { task_id: UNKNOWN }, 'TASK_NOT_FOUND', new RegExp(UNKNOWN)],
    () => ['loom_resume', { task_id: pending }, 'INVALID_TRANSITION', /not held/],
    ['loom_resume', { task_id: UNKNOWN }, 'TASK_NOT_FOUND', new RegExp(UNKNOWN)],
    ['loom_agents', { agent_id: 'bob' }, 'VALIDATION_FAILED', /unknown field "agent_id"/],
    ['loom_tick', { once: true }, 'VALIDATION_FAILED', /unknown field "once"/],
    ['loom_fsck', { repair: 'yes' }, 'VALIDATION_FAILED', /repair/],
    ['loom_fsck', { project_id: 'other' }, 'VALIDATION_FAILED', /unknown field "project_id"/],
    () => ['loom_heartbeat', { task_id: pending, lease_token: 'x', progress: '' }, 'VALIDATION_FAILED', /progress/],
    () => ['loom_heartbeat', { task_id: pending, lease_token: 'x', progress: 42 }, 'VALIDATION_FAILED', /progress/],
    () => ['loom_heartbeat', { task_id: pending, lease_token: 'x', progress: 'x'.repeat(2001) }, 'VALIDATION_FAILED', /progress/],
  ];

  let project: ProjectContext;
  let s: Session;
  beforeAll(async () => {
    ({ project, s } = await setup('admin-bad-input'));
    // Some state of every kind, so that a stray write would show.
    dead = await deadLetter(s, project, 'dead');
    ({ task_id: pending, escalation_id: escalation } = await escalated(s, 'open question'));
    await s.ok('loom_resolve', { escalation_id: escalation, action: 'unblock' });
    escalation = (await s.ok('loom_escalate', { task_id: pending, message: 'again' })).escalation.id;
  });
  afterAll(async () => {
    await s.close();
  });

  // Cases that need ids from beforeAll are functions; their names show the ids empty.
  const resolve = (c: Case | (() => Case)): Case => (typeof c === 'function' ? c() : c);
  it.each(cases.map((c) => [resolve(c)[0], JSON.stringify(resolve(c)[1]), resolve(c)[2], c] as const))('%s %s -> %s', async (_t, _a, _c, c) => {
    const [tool, args, code, mentions] = resolve(c);
    const before = await allEvents(b.api, project.project_id);
    const r = await s.call(tool, args);
    expect(r.isError, `${tool} ${JSON.stringify(args)}`).toBe(true);
    expect(r.data.error.code, `${tool} ${JSON.stringify(args)}: ${r.text}`).toBe(code);
    expect(Object.keys(r.data.error).sort()).toEqual(['code', 'hint', 'message']);
    expect(r.data.error.hint.length).toBeGreaterThan(0);
    if (mentions !== undefined) expect(`${r.data.error.message} | ${r.data.error.hint}`).toMatch(mentions);
    expect(r.text).not.toMatch(/\n\s+at |node_modules|SELECT|INSERT/);
    expect(await allEvents(b.api, project.project_id)).toEqual(before);
  });

  it('every admin tool has at least one bad-input case', () => {
    const tools = new Set(cases.map((c) => resolve(c)[0]));
    for (const name of ADMIN) expect(tools).toContain(name);
  });

  it('after all that, the state is as it was', async () => {
    expect(ids((await s.ok('loom_dlq')).tasks)).toEqual([dead]);
    expect((await s.ok('loom_escalations')).escalations.map((e: { id: string }) => e.id)).toContain(escalation);
  });
});
