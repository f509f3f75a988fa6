/** What a session adds to the API: identity, remembered leases, live notifications, recovery; and many sessions at once. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASK_EVENT_METHOD } from '../../src/adapters/mcp/notifications.js';
import { allEvents, connect, newProject, openBackend, waitFor, type Backend } from './harness.js';

let b: Backend;
beforeAll(async () => {
  b = await openBackend();
});
afterAll(async () => {
  await b.close();
});

const origin = { kind: 'test', id: 'setup' };

describe('identity', () => {
  it('derives the agent id from the client name plus a per-session suffix', async () => {
    const project = await newProject(b.api);
    const one = await connect(b, project, { clientName: 'Claude Code (VS Code)' });
    const two = await connect(b, project, { clientName: 'Claude Code (VS Code)' });
    expect(one.mcp.session.agentId).toMatch(/^claude-code-vs-code-[0-9a-f]{6}$/);
    expect(two.mcp.session.agentId).toMatch(/^claude-code-vs-code-[0-9a-f]{6}$/);
    expect(one.mcp.session.agentId).not.toBe(two.mcp.session.agentId);
    await one.close();
    await two.close();
  });

  it('an agentId option is kept; a tool agent_id overrides it from then on', async () => {
    const project = await newProject(b.api);
    const s = await connect(b, project, { agentId: 'planner-1' });
    expect(s.mcp.session.agentId).toBe('planner-1');
    const made = (await s.ok('loom_create', { title: 'x' })).task;
    expect(made.origin).toEqual({ kind: 'agent', id: 'planner-1' });
    const claim = await s.ok('loom_claim', { agent_id: 'worker-7' });
    expect(claim).toMatchObject({ claimed: true, agent_id: 'worker-7', task: { assignee: 'worker-7' } });
    expect(s.mcp.session.agentId).toBe('worker-7');
    expect((await s.ok('loom_create', { title: 'y' })).task.origin.id).toBe('worker-7');
    await s.close();
  });
});

describe('remembered leases', () => {
  it('claim then done without a lease_token; another session cannot report on the task', async () => {
    const project = await newProject(b.api);
    const a = await connect(b, project, { agentId: 'a' });
    const other = await connect(b, project, { agentId: 'b' });
    const t1 = await b.api.createTask({ project_id: project.project_id, title: 't1', origin });
    const t2 = await b.api.createTask({ project_id: project.project_id, title: 't2', origin });
    await a.ok('loom_claim', { task_id: t1.id });
    const otherClaim = await other.ok('loom_claim', { task_id: t2.id });

    const before = await allEvents(b.api, project.project_id);
    // The other session holds no lease on t1: NOT_CLAIMED, nothing sent to the API.
    expect((await other.call('loom_done', { task_id: t1.id })).data.error.code).toBe('NOT_CLAIMED');
    // With a lease token that is not t1's (its own, on t2): LEASE_LOST.
    const lost = await other.call('loom_done', { task_id: t1.id, lease_token: otherClaim.lease.token });
    expect(lost.data.error.code).toBe('LEASE_LOST');
    expect(lost.data.error.hint).toMatch(/went back to the queue.*loom_claim/);
    expect(await allEvents(b.api, project.project_id)).toEqual(before);

    const done = await a.ok('loom_done', { task_id: t1.id, output: { ok: true } });
    expect(done.task).toMatchObject({ id: t1.id, status: 'done' });
    // The other session's own lease still works after all that.
    expect((await other.ok('loom_done', { task_id: t2.id })).task.status).toBe('done');
    // Done forgets the lease: a second report is NOT_CLAIMED, not a second completion.
    expect((await a.call('loom_done', { task_id: t1.id })).data.error.code).toBe('NOT_CLAIMED');
    await a.close();
    await other.close();
  });

  it("no tool shows another session's lease token", async () => {
    const project = await newProject(b.api);
    const a = await connect(b, project, { agentId: 'a' });
    const other = await connect(b, project, { agentId: 'b' });
    const t = await b.api.createTask({ project_id: project.project_id, title: 't', origin, context: { lease_token: 'user data stays' } });
    const claim = await a.ok('loom_claim', { task_id: t.id });
    expect(claim.task.lease_token).toBe(claim.lease.token);
    // Reads never carry a token, not even to its holder: the session keeps it.
    expect(JSON.stringify(await a.ok('loom_status', { task_id: t.id }))).not.toContain(claim.lease.token);
    const seen = await other.ok('loom_status', { task_id: t.id });
    expect(seen.task).toMatchObject({ status: 'claimed', assignee: 'a', context: { lease_token: 'user data stays' } });
    expect(JSON.stringify(seen)).not.toContain(claim.lease.token);
    expect(JSON.stringify(await other.ok('loom_graph', { format: 'json' }))).not.toContain(claim.lease.token);
    await a.close();
    await other.close();
  });

  it('an expired lease gets LEASE_LOST, and the session forgets it', async () => {
    const project = await newProject(b.api);
    const s = await connect(b, project);
    const t = await b.api.createTask({ project_id: project.project_id, title: 'slow', origin });
    await s.ok('loom_claim', { task_id: t.id, lease_seconds: 1 });
    await new Promise((r) => setTimeout(r, 1_100));
    const before = await allEvents(b.api, project.project_id);
    const r = await s.call('loom_heartbeat', { task_id: t.id });
    expect(r.data.error.code).toBe('LEASE_LOST');
    expect(await allEvents(b.api, project.project_id)).toEqual(before);
    expect(s.mcp.session.tokenFor(t.id)).toBeUndefined();
    await s.close();
  });

  it('an explicit lease_token wins over the remembered one', async () => {
    const project = await newProject(b.api);
    const s = await connect(b, project);
    const t = await b.api.createTask({ project_id: project.project_id, title: 't', origin });
    const claim = await s.ok('loom_claim', { task_id: t.id });
    expect((await s.call('loom_heartbeat', { task_id: t.id, lease_token: 'forged' })).data.error.code).toBe('LEASE_LOST');
    // A refused forged token does not make the session forget its real one.
    expect(s.mcp.session.tokenFor(t.id)).toBe(claim.lease.token);
    expect((await s.ok('loom_fail', { task_id: t.id, reason: 'gave up', lease_token: claim.lease.token })).outcome).toBe('retrying');
    await s.close();
  });
});

describe('many sessions on one project', () => {
  it('two sessions claiming concurrently from 50 ready tasks never get the same task', async () => {
    const project = await newProject(b.api);
    for (let i = 0; i < 50; i++) await b.api.createTask({ project_id: project.project_id, title: `t${i}`, origin });
    const sessions = [await connect(b, project, { clientName: 'A' }), await connect(b, project, { clientName: 'B' })];
    const claimed = new Map<string, string[]>();
    // Each session runs 3 claim loops at once, so calls interleave within and across sessions.
    await Promise.all(
      sessions.flatMap((s) =>
        [0, 1, 2].map(async () => {
          for (;;) {
            const r = await s.ok('loom_claim');
            if (!r.claimed) return;
            claimed.set(r.task.id, [...(claimed.get(r.task.id) ?? []), r.agent_id]);
          }
        }),
      ),
    );
    expect(claimed.size).toBe(50);
    expect([...claimed.values()].every((holders) => holders.length === 1)).toBe(true);
    const perSession = sessions.map((s) => s.mcp.session.heldTasks().length);
    expect(perSession[0]! + perSession[1]!).toBe(50);
    for (const s of sessions) await s.close();
  });

  it('session B hears about the task session A completed, and the dependent it unblocked is in its loom_ready', async () => {
    const project = await newProject(b.api);
    const a = await connect(b, project, { agentId: 'agent-a' });
    const bee = await connect(b, project, { agentId: 'agent-b' });
    const first = (await a.ok('loom_create', { title: 'first' })).task;
    const second = (await a.ok('loom_create', { title: 'second', depends_on: [first.id] })).task;
    expect((await bee.ok('loom_ready')).tasks.map((t: { id: string }) => t.id)).toEqual([first.id]);
    await a.ok('loom_claim', { task_id: first.id });
    await a.ok('loom_done', { task_id: first.id });

    const events = () => bee.notifications.filter((n) => n.method === TASK_EVENT_METHOD).map((n) => n.params as Record<string, any>);
    const unblocked = await waitFor(() => events().find((p) => p.type === 'task.unblocked' && p.task_id === second.id), 'task.unblocked');
    const done = events().find((p) => p.type === 'task.done')!;
    expect(done).toMatchObject({ task_id: first.id, agent_id: 'agent-a', payload: { attempt: 1 } });
    expect(typeof done.event_id).toBe('number');
    expect(Date.parse(done.at)).not.toBeNaN();
    expect(Object.keys(unblocked).sort()).toEqual(['agent_id', 'at', 'event_id', 'payload', 'task_id', 'type']);
    // In commit order, and the same events the log holds.
    const logged = (await allEvents(b.api, project.project_id)).filter((e) => e.type !== 'project.created');
    expect(events().map((p) => [p.event_id, p.type])).toEqual(logged.map((e) => [e.id, e.type]));
    expect((await bee.ok('loom_ready')).tasks.map((t: { id: string }) => t.id)).toEqual([second.id]);
    await a.close();
    await bee.close();
  });

  it('a closed session gets no more notifications and leaves the bus to the others', async () => {
    const project = await newProject(b.api);
    const gone = await connect(b, project);
    const stays = await connect(b, project);
    await gone.close();
    await b.api.createTask({ project_id: project.project_id, title: 'after', origin });
    await waitFor(() => stays.notifications.length === 1, 'the notification');
    expect(gone.notifications).toEqual([]);
    await stays.close();
  });

  it('events of other projects are not sent', async () => {
    const mine = await newProject(b.api);
    const theirs = await newProject(b.api);
    const s = await connect(b, mine);
    await b.api.createTask({ project_id: theirs.project_id, title: 'not mine', origin });
    const t = await b.api.createTask({ project_id: mine.project_id, title: 'mine', origin });
    await waitFor(() => s.notifications.length > 0, 'a notification');
    await new Promise((r) => setTimeout(r, 20));
    expect(s.notifications.map((n) => (n.params as { task_id: string }).task_id)).toEqual([t.id]);
    await s.close();
  });
});

describe('loom_recover', () => {
  it('lists the tasks the agent holds and re-heartbeats them for a session that lost the tokens', async () => {
    const project = await newProject(b.api);
    for (const title of ['r1', 'r2', 'r3']) await b.api.createTask({ project_id: project.project_id, title, origin });
    const before = await connect(b, project, { agentId: 'forgetful' });
    const c1 = await before.ok('loom_claim');
    const c2 = await before.ok('loom_claim');
    // The agent comes back in a new session (its context was compacted and the server restarted).
    await before.close();
    const after = await connect(b, project, { agentId: 'forgetful' });

    const listed = await after.ok('loom_recover');
    expect(listed.agent_id).toBe('forgetful');
    expect(listed.executed).toBeUndefined();
    expect(listed.tasks.map((t: { task_id: string }) => t.task_id).sort()).toEqual([c1.task.id, c2.task.id].sort());
    for (const t of listed.tasks) {
      expect(t).toMatchObject({ status: 'claimed', remembered: false });
      expect(t.lease.token).toBe(t.task_id === c1.task.id ? c1.lease.token : c2.lease.token);
    }
    expect((await after.call('loom_done', { task_id: c1.task.id })).data.error.code).toBe('NOT_CLAIMED');

    const hb = await after.ok('loom_recover', { execute: 'heartbeat' });
    expect(hb.executed).toBe('heartbeat');
    for (const t of hb.tasks) expect(t.outcome).toMatchObject({ ok: true, lease_expires_at: expect.any(String) });
    expect((await after.ok('loom_recover')).tasks.every((t: { remembered: boolean }) => t.remembered)).toBe(true);
    // Now the session holds the leases: done needs no token.
    expect((await after.ok('loom_done', { task_id: c1.task.id })).task.status).toBe('done');
    expect((await after.ok('loom_recover')).tasks.map((t: { task_id: string }) => t.task_id)).toEqual([c2.task.id]);
    await after.close();
  });

  it('with execute:"release" gives every held task back to the queue', async () => {
    const project = await newProject(b.api);
    for (const title of ['r1', 'r2']) await b.api.createTask({ project_id: project.project_id, title, origin });
    const s = await connect(b, project, { agentId: 'quitter' });
    const c1 = await s.ok('loom_claim');
    const c2 = await s.ok('loom_claim');
    expect((await s.ok('loom_ready')).tasks).toEqual([]);
    const r = await s.ok('loom_recover', { execute: 'release' });
    expect(r.executed).toBe('release');
    expect(r.tasks.map((t: { outcome: unknown }) => t.outcome)).toEqual([
      { ok: true, status: 'pending' },
      { ok: true, status: 'pending' },
    ]);
    expect((await s.ok('loom_ready')).tasks.map((t: { id: string }) => t.id).sort()).toEqual([c1.task.id, c2.task.id].sort());
    expect((await s.ok('loom_recover')).tasks).toEqual([]);
    expect(s.mcp.session.heldTasks()).toEqual([]);
    // Released, not failed: no attempt is used up, and a released lease reports nothing (the task is just not claimed).
    expect((await s.call('loom_done', { task_id: c1.task.id, lease_token: c1.lease.token })).data.error.code).toBe('NOT_CLAIMED');
    await s.close();
  });

  it('an agent holding nothing gets an empty list', async () => {
    const project = await newProject(b.api);
    const s = await connect(b, project);
    expect(await s.ok('loom_recover', { execute: 'heartbeat' })).toEqual({ agent_id: s.mcp.session.agentId, executed: 'heartbeat', tasks: [] });
    await s.close();
  });
});
