/** Every core tool through a real MCP Client: a happy path, and bad input that gets a coded error and writes nothing. */
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

const UNKNOWN = 'loom-00000000';

async function setup(name = 'tools'): Promise<{ project: ProjectContext; s: Session }> {
  const project = await newProject(b.api, name);
  return { project, s: await connect(b, project) };
}

describe('happy paths', () => {
  it('loom_create, loom_ready, loom_claim, loom_heartbeat, loom_done: the work loop', async () => {
    const { s } = await setup();
    const a = (await s.ok('loom_create', { title: 'write the parser', done_when: 'tests pass', priority: 'p0', context: { file: 'src/p.ts' } })).task;
    expect(a).toMatchObject({ title: 'write the parser', status: 'pending', priority: 'p0', done_when: 'tests pass', context: { file: 'src/p.ts' } });
    expect(a.origin).toEqual({ kind: 'agent', id: s.mcp.session.agentId });
    const dep = (await s.ok('loom_create', { title: 'use the parser', depends_on: [a.id] })).task;
    expect(dep.status).toBe('blocked');

    const ready = await s.ok('loom_ready', {});
    expect(ready.tasks.map((t: { id: string }) => t.id)).toEqual([a.id]);
    expect((await s.ok('loom_ready', { priority: 'p2' })).tasks).toEqual([]);

    const claim = await s.ok('loom_claim', {});
    expect(claim).toMatchObject({ claimed: true, task: { id: a.id, status: 'claimed', assignee: s.mcp.session.agentId }, agent_id: s.mcp.session.agentId });
    expect(typeof claim.lease.token).toBe('string');

    const hb = await s.ok('loom_heartbeat', { task_id: a.id, lease_seconds: 600 });
    expect(Date.parse(hb.lease.expires_at)).toBeGreaterThan(Date.parse(claim.lease.expires_at));

    const done = await s.ok('loom_done', { task_id: a.id, output: { files: ['src/p.ts'] } });
    expect(done).toMatchObject({ task: { id: a.id, status: 'done', output: { files: ['src/p.ts'] } }, unblocked: [dep.id], already_done: false });
    expect((await s.ok('loom_ready')).tasks.map((t: { id: string }) => t.id)).toEqual([dep.id]);
    await s.close();
  });

  it('loom_claim of nothing ready is a normal result, with a hint', async () => {
    const { s } = await setup();
    const r = await s.call('loom_claim', {});
    expect(r.isError).toBe(false);
    expect(r.data).toMatchObject({ claimed: false, reason: 'none_ready' });
    expect(r.data.hint).toMatch(/no task is ready/);
    await s.close();
  });

  it('loom_claim of a given task that is blocked says not_ready', async () => {
    const { s } = await setup();
    const a = (await s.ok('loom_create', { title: 'a' })).task;
    const c = (await s.ok('loom_create', { title: 'c', depends_on: [a.id] })).task;
    const r = await s.ok('loom_claim', { task_id: c.id });
    expect(r).toMatchObject({ claimed: false, reason: 'not_ready', task: { id: c.id, status: 'blocked' } });
    const given = await s.ok('loom_claim', { task_id: a.id, lease_seconds: 30 });
    expect(given).toMatchObject({ claimed: true, task: { id: a.id } });
    await s.close();
  });

  it('loom_fail: retryable requeues, retryable:false dead-letters', async () => {
    const { s } = await setup();
    const a = (await s.ok('loom_create', { title: 'flaky' })).task;
    await s.ok('loom_claim', { task_id: a.id });
    const r = await s.ok('loom_fail', { task_id: a.id, reason: 'network down' });
    expect(r).toMatchObject({ outcome: 'retrying', task: { id: a.id, status: 'pending' } });
    const c = (await s.ok('loom_create', { title: 'hopeless' })).task;
    await s.ok('loom_claim', { task_id: c.id });
    const dead = await s.ok('loom_fail', { task_id: c.id, reason: 'spec contradicts itself', retryable: false });
    expect(dead).toMatchObject({ outcome: 'dead_lettered', task: { id: c.id, status: 'failed' } });
    await s.close();
  });

  it('loom_update changes fields and dependencies', async () => {
    const { s } = await setup();
    const a = (await s.ok('loom_create', { title: 'a' })).task;
    const c = (await s.ok('loom_create', { title: 'c', done_when: 'x' })).task;
    const u = await s.ok('loom_update', { task_id: c.id, title: 'c2', priority: 'p0', depends_on: [a.id], context: { k: 1 }, done_when: null });
    expect(u.task).toMatchObject({ id: c.id, title: 'c2', priority: 'p0', depends_on: [a.id], status: 'blocked', context: { k: 1 }, done_when: null });
    const b = (await s.ok('loom_create', { title: 'b' })).task;
    const added = await s.ok('loom_update', { task_id: c.id, add_depends_on: [b.id] });
    expect(added.task.depends_on).toEqual([a.id, b.id].sort());
    const removed = await s.ok('loom_update', { task_id: c.id, remove_depends_on: [a.id, b.id] });
    expect(removed.task).toMatchObject({ depends_on: [], status: 'pending' });
    await s.close();
  });

  it('loom_create and loom_update take labels (replace, or add/remove), and loom_ready filters by all given', async () => {
    const { s } = await setup();
    const a = (await s.ok('loom_create', { title: 'a', labels: ['ui', 'bug'] })).task;
    expect(a.labels).toEqual(['bug', 'ui']);
    const c = (await s.ok('loom_create', { title: 'c', labels: ['bug'] })).task;
    expect((await s.ok('loom_ready', { labels: ['bug'] })).tasks.map((t: { id: string }) => t.id).sort()).toEqual([a.id, c.id].sort());
    expect((await s.ok('loom_ready', { labels: ['bug', 'ui'] })).tasks.map((t: { id: string }) => t.id)).toEqual([a.id]);
    const edited = await s.ok('loom_update', { task_id: c.id, add_labels: ['ui', 'area:mcp'], remove_labels: ['bug'] });
    expect(edited.task.labels).toEqual(['area:mcp', 'ui']);
    const replaced = await s.ok('loom_update', { task_id: c.id, labels: ['done-soon'] });
    expect(replaced.task.labels).toEqual(['done-soon']);
    expect((await s.ok('loom_ready', { labels: ['ui'] })).tasks.map((t: { id: string }) => t.id)).toEqual([a.id]);
    await s.close();
  });

  it('loom_create makes epics with children, and keeps an explicit origin', async () => {
    const { s } = await setup();
    const epic = (await s.ok('loom_create', { title: 'ship it', epic: true, origin: { kind: 'human', id: 'ana' } })).task;
    expect(epic).toMatchObject({ status: 'epic', origin: { kind: 'human', id: 'ana' } });
    const child = (await s.ok('loom_create', { title: 'step 1', parent_id: epic.id })).task;
    expect(child.parent_id).toBe(epic.id);
    await s.close();
  });

  it('loom_status shows one task, or the project overview', async () => {
    const { s, project } = await setup();
    const a = (await s.ok('loom_create', { title: 'a' })).task;
    const one = await s.ok('loom_status', { task_id: a.id });
    expect(one).toMatchObject({ task: { id: a.id }, dependents: [], children: [], escalations: [] });
    expect(one.recent_events.map((e: { type: string }) => e.type)).toContain('task.created');
    const all = await s.ok('loom_status');
    expect(all).toMatchObject({ project: { id: project.project_id }, total: 1, ready: 1 });
    await s.close();
  });

  it('loom_graph answers in every format, summary by default', async () => {
    const { s } = await setup();
    const a = (await s.ok('loom_create', { title: 'a' })).task;
    await s.ok('loom_create', { title: 'b', depends_on: [a.id] });
    const summary = await s.ok('loom_graph');
    expect(summary.format).toBe('summary');
    expect(typeof summary.text).toBe('string');
    expect(summary.graph).toBeUndefined();
    for (const format of ['waves', 'mermaid', 'dot']) {
      const r = await s.ok('loom_graph', { format });
      expect(r.format).toBe(format);
      expect(r.text).toContain(a.id);
    }
    const json = await s.ok('loom_graph', { format: 'json' });
    expect(json.graph.nodes).toHaveLength(2);
    expect(json.graph.edges).toHaveLength(1);
    const epic = (await s.ok('loom_create', { title: 'epic', epic: true })).task;
    const child = (await s.ok('loom_create', { title: 'child', parent_id: epic.id })).task;
    const one = await s.ok('loom_graph', { format: 'dot', epic_id: epic.id });
    expect(one.text).toContain(child.id);
    expect(one.text).not.toContain(a.id);
    expect(one.picture).toBeUndefined();
    await s.close();
  });

  it('loom_escalate blocks the task on a human', async () => {
    const { s } = await setup();
    const a = (await s.ok('loom_create', { title: 'a' })).task;
    const r = await s.ok('loom_escalate', { task_id: a.id, message: 'which database should this use?' });
    expect(r).toMatchObject({ task: { id: a.id, status: 'blocked', blocked_reason: 'escalation' }, escalation: { source: 'agent', raised_by: s.mcp.session.agentId } });
    await s.close();
  });

  it('loom_message and loom_inbox: direct and broadcast, read once', async () => {
    const project = await newProject(b.api, 'msgs');
    const alice = await connect(b, project, { agentId: 'alice' });
    const bob = await connect(b, project, { agentId: 'bob' });
    const sent = await alice.ok('loom_message', { to: 'bob', message: 'the parser is done', thread_id: 'parser' });
    expect(sent.message).toMatchObject({ from_agent: 'alice', to_agent: 'bob', body: 'the parser is done', thread_id: 'parser' });
    await alice.ok('loom_message', { to: '*', message: 'standup in 5' });
    const inbox = await bob.ok('loom_inbox');
    expect(inbox.agent_id).toBe('bob');
    expect(inbox.messages.map((m: { body: string }) => m.body)).toEqual(['the parser is done', 'standup in 5']);
    expect((await bob.ok('loom_inbox')).messages).toEqual([]);
    // A sender does not get its own broadcast.
    expect((await alice.ok('loom_inbox', { limit: 10 })).messages).toEqual([]);
    await alice.close();
    await bob.close();
  });
});

describe('bad input: a coded error and nothing written', () => {
  type Case = [tool: string, args: Record<string, unknown>, code: string, mentions?: RegExp];
  const cases: Case[] = [
    ['loom_ready', { limit: 'ten' }, 'VALIDATION_FAILED', /limit/],
    ['loom_ready', { limit: 0 }, 'VALIDATION_FAILED', /limit/],
    ['loom_ready', { priority: 'urgent' }, 'VALIDATION_FAILED', /priority: must be one of p0, p1, p2/],
    ['loom_ready', { project_id: 'other' }, 'VALIDATION_FAILED', /unknown field "project_id"/],
    ['loom_claim', { task_id: 'task-1' }, 'VALIDATION_FAILED', /task_id: must be a task id/],
    ['loom_claim', { task_id: UNKNOWN }, 'TASK_NOT_FOUND', new RegExp(UNKNOWN)],
    ['loom_claim', { lease_seconds: -5 }, 'VALIDATION_FAILED', /lease_seconds/],
    ['loom_claim', { agent_id: 7 }, 'VALIDATION_FAILED', /agent_id/],
    ['loom_claim', { agent_id: '' }, 'VALIDATION_FAILED', /agent_id/],
    ['loom_claim', { force: true }, 'VALIDATION_FAILED', /unknown field "force"/],
    ['loom_heartbeat', {}, 'VALIDATION_FAILED', /missing required field "task_id"/],
    ['loom_heartbeat', { task_id: UNKNOWN }, 'TASK_NOT_FOUND', new RegExp(UNKNOWN)], // an unknown task is said so, not "claim it first"
    ['loom_heartbeat', { task_id: UNKNOWN, lease_token: 'x' }, 'TASK_NOT_FOUND'],
    ['loom_heartbeat', { task_id: UNKNOWN, lease_token: 42 }, 'VALIDATION_FAILED', /lease_token/],
    ['loom_heartbeat', { task_id: UNKNOWN, lease_seconds: 1.5, lease_token: 'x' }, 'VALIDATION_FAILED', /lease_seconds/],
    ['loom_done', {}, 'VALIDATION_FAILED', /task_id/],
    ['loom_done', { task_id: UNKNOWN, output: 'it works' }, 'VALIDATION_FAILED', /output: must be object/],
    ['loom_done', { task_id: UNKNOWN, output: ['a'] }, 'VALIDATION_FAILED', /output/],
    ['loom_done', { task_id: UNKNOWN, lease_token: 'x' }, 'TASK_NOT_FOUND'],
    ['loom_done', { task_id: UNKNOWN, result: {} }, 'VALIDATION_FAILED', /unknown field "result"/],
    ['loom_fail', { task_id: UNKNOWN }, 'VALIDATION_FAILED', /missing required field "reason"/],
    ['loom_fail', { task_id: UNKNOWN, reason: 'x', retryable: 'no' }, 'VALIDATION_FAILED', /retryable/],
    ['loom_fail', { task_id: UNKNOWN, reason: '', lease_token: 'x' }, 'VALIDATION_FAILED', /reason/],
    ['loom_fail', { task_id: UNKNOWN, reason: 'x', lease_token: 'x' }, 'TASK_NOT_FOUND'],
    ['loom_recover', { execute: 'everything' }, 'VALIDATION_FAILED', /execute: must be one of heartbeat, release/],
    ['loom_recover', { agent_id: 'someone-else' }, 'VALIDATION_FAILED', /unknown field "agent_id"/],
    ['loom_create', {}, 'VALIDATION_FAILED', /missing required field "title"/],
    ['loom_create', { title: 5 }, 'VALIDATION_FAILED', /title/],
    ['loom_create', { title: 'x', priority: 'high' }, 'VALIDATION_FAILED', /priority/],
    ['loom_create', { title: 'x', depends_on: 'loom-00000000' }, 'VALIDATION_FAILED', /depends_on/],
    ['loom_create', { title: 'x', depends_on: [UNKNOWN] }, 'DEPENDENCY_NOT_FOUND', new RegExp(UNKNOWN)],
    ['loom_create', { title: 'x', parent_id: UNKNOWN }, 'TASK_NOT_FOUND'],
    ['loom_create', { title: 'x', origin: { kind: 'agent' } }, 'VALIDATION_FAILED', /origin: missing required field "id"/],
    ['loom_create', { title: 'x', context: 'notes' }, 'VALIDATION_FAILED', /context/],
    ['loom_create', { title: 'x', assignee: 'me' }, 'VALIDATION_FAILED', /unknown field "assignee"/],
    ['loom_update', { title: 'x' }, 'VALIDATION_FAILED', /missing required field "task_id"/],
    ['loom_update', { task_id: UNKNOWN, title: 'x' }, 'TASK_NOT_FOUND'],
    ['loom_update', { task_id: UNKNOWN, title: '' }, 'VALIDATION_FAILED', /title/],
    ['loom_update', { task_id: UNKNOWN, status: 'done' }, 'VALIDATION_FAILED', /unknown field "status"/],
    ['loom_update', { task_id: UNKNOWN, done_when: 3 }, 'VALIDATION_FAILED', /done_when/],
    ['loom_create', { title: 'x', labels: ['Bug'] }, 'VALIDATION_FAILED', /labels\.0: not a label/],
    ['loom_create', { title: 'x', labels: ['__proto__'] }, 'VALIDATION_FAILED', /labels/],
    ['loom_create', { title: 'x', labels: ['a', 'a'] }, 'VALIDATION_FAILED', /labels/],
    ['loom_create', { title: 'x', labels: Array.from({ length: 21 }, (_, i) => `l${i}`) }, 'VALIDATION_FAILED', /labels/],
    ['loom_update', { task_id: UNKNOWN, labels: ['a'], add_labels: ['b'] }, 'VALIDATION_FAILED', /labels/],
    ['loom_update', { task_id: UNKNOWN, add_labels: ['x'.repeat(65)] }, 'VALIDATION_FAILED', /add_labels/],
    ['loom_update', { task_id: UNKNOWN, remove_labels: [] }, 'VALIDATION_FAILED', /remove_labels/],
    ['loom_ready', { labels: ['a\u0000'] }, 'VALIDATION_FAILED', /labels/],
    ['loom_ready', { labels: 'bug' }, 'VALIDATION_FAILED', /labels/],
    ['loom_status', { task_id: 'nope' }, 'VALIDATION_FAILED', /task_id/],
    ['loom_status', { task_id: UNKNOWN }, 'TASK_NOT_FOUND', /loom_ready|loom_status/],
    ['loom_status', { verbose: true }, 'VALIDATION_FAILED', /unknown field "verbose"/],
    ['loom_graph', { format: 'png' }, 'VALIDATION_FAILED', /format: must be one of/],
    ['loom_graph', { format: 1 }, 'VALIDATION_FAILED', /format/],
    ['loom_graph', { depth: 2 }, 'VALIDATION_FAILED', /unknown field "depth"/],
    ['loom_graph', { format: 'dot', epic_id: '../loom-00000001' }, 'VALIDATION_FAILED', /epic_id/],
    ['loom_graph', { format: 'dot', epic_id: UNKNOWN }, 'TASK_NOT_FOUND'],
    ['loom_escalate', { task_id: UNKNOWN }, 'VALIDATION_FAILED', /missing required field "message"/],
    ['loom_escalate', { task_id: UNKNOWN, message: 'help' }, 'TASK_NOT_FOUND'],
    ['loom_escalate', { task_id: UNKNOWN, message: ['help'] }, 'VALIDATION_FAILED', /message/],
    ['loom_message', { message: 'hi' }, 'VALIDATION_FAILED', /missing required field "to"/],
    ['loom_message', { to: 'bob', message: 42 }, 'VALIDATION_FAILED', /message/],
    ['loom_message', { to: '', message: 'hi' }, 'VALIDATION_FAILED', /to/],
    ['loom_message', { to: 'bob', message: 'hi', from: 'alice' }, 'VALIDATION_FAILED', /unknown field "from"/],
    ['loom_inbox', { since: -1 }, 'VALIDATION_FAILED', /since/],
    ['loom_inbox', { limit: 'all' }, 'VALIDATION_FAILED', /limit/],
    ['loom_inbox', { agent_id: 'bob' }, 'VALIDATION_FAILED', /unknown field "agent_id"/],
    ['loom_skills', { task_id: 'task-1' }, 'VALIDATION_FAILED', /task_id/],
    ['loom_skills', { task_id: 'loom-00000000' }, 'TASK_NOT_FOUND', /loom-00000000/],
    ['loom_skill', { name: '../etc/passwd' }, 'VALIDATION_FAILED', /name/],
    ['loom_skill', { name: 'no_such_skill' }, 'SKILL_NOT_FOUND', /no_such_skill/],
    ['loom_skill', { name: 'x', arguments: { a: 1 } }, 'VALIDATION_FAILED', /arguments/],
    ['loom_decompose', {}, 'VALIDATION_FAILED', /exactly one of goal, spec_path or epic_id/],
    ['loom_decompose', { goal: 'g', plan: 'write a spec' }, 'VALIDATION_FAILED', /plan/],
    ['loom_decompose', { goal: 'g', plan: { title: 't', tasks: [] }, apply: true, plan_hash: 'x' }, 'VALIDATION_FAILED', /plan_hash/],
    ['loom_decompose', { epic_id: UNKNOWN }, 'TASK_NOT_FOUND', new RegExp(UNKNOWN)],
    ['loom_decompose', { goal: 'g', auto: 'yes' }, 'VALIDATION_FAILED', /auto/],
    ['loom_run_workflow', { name: 'no_such_workflow' }, 'WORKFLOW_NOT_FOUND', /no_such_workflow/],
    ['loom_run_workflow', { name: '../etc/passwd' }, 'VALIDATION_FAILED', /name/],
    ['loom_run_workflow', { name: 'ship_feature', inputs: {} }, 'VALIDATION_FAILED', /feature/],
    ['loom_run_workflow', { name: 'ship_feature', inputs: { feature: 'x', colour: 'red' } }, 'VALIDATION_FAILED', /colour/],
    ['loom_run_workflow', { run_id: 'latest' }, 'VALIDATION_FAILED', /run_id/],
  ];

  let project: ProjectContext;
  let s: Session;
  beforeAll(async () => {
    ({ project, s } = await setup('bad-input'));
    // Some state, so that a stray write would show.
    const a = (await s.ok('loom_create', { title: 'a' })).task;
    await s.ok('loom_create', { title: 'b', depends_on: [a.id] });
  });
  afterAll(async () => {
    await s.close();
  });

  it.each(cases)('%s %j -> %s', async (tool, args, code, mentions) => {
    const before = await allEvents(b.api, project.project_id);
    const r = await s.call(tool, args);
    expect(r.isError).toBe(true);
    expect(r.data.error.code).toBe(code);
    expect(JSON.parse(r.text)).toEqual(r.data.error);
    expect(Object.keys(r.data.error).sort()).toEqual(['code', 'hint', 'message']);
    expect(r.data.error.hint.length).toBeGreaterThan(0);
    if (mentions !== undefined) expect(`${r.data.error.message} | ${r.data.error.hint}`).toMatch(mentions);
    expect(r.text).not.toMatch(/\n\s+at |node_modules|SELECT|INSERT/);
    expect(await allEvents(b.api, project.project_id)).toEqual(before);
  });

  it('every tool of the default groups (core, planning) has at least one bad-input case', async () => {
    const listed = (await s.client.listTools()).tools.map((t) => t.name);
    expect(new Set(cases.map((c) => c[0]))).toEqual(new Set(listed));
  });

  it('a dependency cycle is refused, naming the cycle', async () => {
    const a = (await s.ok('loom_create', { title: 'x' })).task;
    const c = (await s.ok('loom_create', { title: 'y', depends_on: [a.id] })).task;
    const before = await allEvents(b.api, project.project_id);
    const r = await s.call('loom_update', { task_id: a.id, depends_on: [c.id] });
    expect(r.data.error.code).toBe('DEPENDENCY_CYCLE');
    expect(r.data.error.message).toContain(`${a.id} -> ${c.id} -> ${a.id}`);
    expect(await allEvents(b.api, project.project_id)).toEqual(before);
  });

  it('reporting on a task this session never claimed is NOT_CLAIMED, with a hint to claim first', async () => {
    const t = (await s.ok('loom_create', { title: 'unclaimed' })).task;
    const before = await allEvents(b.api, project.project_id);
    for (const [tool, args] of [
      ['loom_done', {}],
      ['loom_fail', { reason: 'x' }],
      ['loom_heartbeat', {}],
    ] as const) {
      const r = await s.call(tool, { task_id: t.id, ...args });
      expect(r.data.error.code).toBe('NOT_CLAIMED');
      expect(r.data.error.hint).toMatch(/loom_claim/);
    }
    expect(await allEvents(b.api, project.project_id)).toEqual(before);
  });

  it('an unknown tool name lists the available tools', async () => {
    const r = await s.call('loom_delete_everything', {});
    expect(r.isError).toBe(true);
    expect(r.data.error.code).toBe('VALIDATION_FAILED');
    expect(r.data.error.message).toContain('loom_claim');
    expect(r.data.error.message).toContain('loom_inbox');
  });
});
