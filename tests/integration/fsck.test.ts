/**
 * `loom fsck` on real databases, real Postgres and the embedded PGlite: a
 * graph built through the API passes; the same kind of graph damaged by
 * hand with SQL is reported with the right ids; a repair recomputes what
 * follows from the graph (in one transaction, with its events) and leaves
 * the rest reported.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { serviceForPool } from '../../src/app/service-factory.js';
import type { LoomEvent } from '../../src/domain/events.js';
import type { Task } from '../../src/domain/task.js';
import type { EventBus } from '../../src/ports/event-bus.js';
import type { CreateTaskInput, FsckFinding, FsckReport, LoomApi } from '../../src/ports/loom-api.js';
import { createTestDatabase } from '../support/databases.js';
import { poolDrained } from '../support/pools.js';
import { openEmbeddedService } from '../support/embedded-service.js';

interface Target {
  api: LoomApi;
  bus: EventBus;
  pool: pg.Pool;
  close(): Promise<void>;
}

const TARGETS: Array<[string, () => Promise<Target>]> = [
  [
    'postgres',
    async () => {
      const db = await createTestDatabase('fsck');
      const pool = new pg.Pool({ connectionString: db.url, max: 4 });
      await migrate(pool);
      const { service, bus } = serviceForPool(pool, { ownsPool: true });
      return {
        api: service,
        bus,
        pool,
        async close() {
          const drained = poolDrained(pool);
          await service.close();
          await drained;
          await db.drop();
        },
      };
    },
  ],
  [
    'embedded (PGlite)',
    () => openEmbeddedService(),
  ],
];

const ORIGIN = { kind: 'test', id: 'fsck' };

/** Findings as [check, ids], in a stable order, to compare whole reports. */
const brief = (findings: readonly FsckFinding[]): Array<[string, string[]]> =>
  findings.map((f): [string, string[]] => [f.check, f.task_ids]).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
const sorted = (...findings: Array<[string, string[]]>): Array<[string, string[]]> => brief(findings.map(([check, task_ids]) => ({ check, message: '', task_ids })));
const cyclePath = (...ids: string[]): string[] => {
  // fsck names a cycle from its smallest id.
  const start = ids.indexOf([...ids].sort()[0]!);
  return [...ids.slice(start), ...ids.slice(0, start)];
};

describe.each(TARGETS)('loom fsck (%s)', (_name, open) => {
  let t: Target;
  beforeAll(async () => {
    t = await open();
  });
  afterAll(async () => {
    await t?.close();
  });

  let projects = 0;
  const newProject = async (): Promise<string> => (await t.api.createProject({ name: `fsck ${++projects}` })).id;
  const create = (p: string, title: string, extra: Partial<CreateTaskInput> = {}): Promise<Task> => t.api.createTask({ project_id: p, title, origin: ORIGIN, ...extra });
  const claim = async (p: string, id: string, agent = 'agent-1', lease_seconds?: number) => {
    const r = await t.api.claim({ project_id: p, agent_id: agent, task_id: id, ...(lease_seconds === undefined ? {} : { lease_seconds }) });
    if (!r.claimed) throw new Error(`could not claim ${id}: ${r.reason}`);
    return r.lease.token;
  };
  const finish = async (p: string, id: string) => {
    const token = await claim(p, id);
    return t.api.done({ project_id: p, task_id: id, agent_id: 'agent-1', lease_token: token });
  };
  const fsck = (p: string, repair = false): Promise<FsckReport> => t.api.fsck({ project_id: p, ...(repair ? { repair } : {}) });
  const sql = (text: string, params: unknown[] = []) => t.pool.query(text, params);
  const get = async (p: string, id: string): Promise<Task> => (await t.api.status({ project_id: p, task_id: id })).task;
  const eventsOf = async (p: string, id: string): Promise<LoomEvent[]> => (await t.api.events({ project_id: p, limit: 10_000 })).filter((e) => e.task_id === id);

  it('a graph built through the API is ok: chains, epics, retries, dead letters, escalations, cancels, redrives', async () => {
    const p = await newProject();
    const a = await create(p, 'design');
    const b = await create(p, 'build', { depends_on: [a.id] });
    const epic = await create(p, 'ship', { epic: true, depends_on: [a.id] });
    const e1 = await create(p, 'ship: docs', { parent_id: epic.id });
    const e2 = await create(p, 'ship: release', { parent_id: epic.id, depends_on: [b.id] });
    const after = await create(p, 'announce', { depends_on: [epic.id] });
    await finish(p, a.id);
    await finish(p, e1.id);
    await finish(p, b.id);
    expect((await finish(p, e2.id)).completed_epics).toEqual([epic.id]);
    expect((await get(p, after.id)).status).toBe('pending');

    const flaky = await create(p, 'flaky', { max_attempts: 3 });
    await t.api.fail({ project_id: p, task_id: flaky.id, agent_id: 'agent-1', lease_token: await claim(p, flaky.id), reason: 'red' });
    const doomed = await create(p, 'doomed', { max_attempts: 1 });
    const behind = await create(p, 'behind doomed', { depends_on: [doomed.id] });
    await t.api.fail({ project_id: p, task_id: doomed.id, agent_id: 'agent-1', lease_token: await claim(p, doomed.id), reason: 'broken' });
    expect((await get(p, behind.id)).blocked_reason).toBe('dependency_failed');
    const again = await create(p, 'dead then redriven', { max_attempts: 1 });
    await t.api.fail({ project_id: p, task_id: again.id, agent_id: 'agent-1', lease_token: await claim(p, again.id), reason: 'once' });
    await t.api.redrive({ project_id: p, task_id: again.id });

    const asks = await create(p, 'asks a person', { depends_on: [after.id] });
    const esc = await t.api.escalate({ project_id: p, task_id: asks.id, message: 'which way?', agent_id: 'agent-1' });
    await t.api.resolveEscalation({ project_id: p, escalation_id: esc.escalation.id, action: 'unblock' });
    const running = await create(p, 'running');
    await claim(p, running.id, 'agent-2');
    const given = await create(p, 'given back');
    await t.api.release({ project_id: p, task_id: given.id, agent_id: 'agent-1', lease_token: await claim(p, given.id) });
    const dropped = await create(p, 'dropped');
    const orphan = await create(p, 'after dropped', { depends_on: [dropped.id] });
    await t.api.cancel({ project_id: p, task_id: dropped.id });
    expect((await get(p, orphan.id)).blocked_reason).toBe('dependency_failed');
    const rewired = await create(p, 'rewired');
    await t.api.updateTask({ project_id: p, task_id: rewired.id, depends_on: [asks.id, running.id] });

    const report = await fsck(p);
    expect(report.violations).toEqual([]);
    expect(report.due).toEqual([]);
    expect(report).toMatchObject({ ok: true, project_id: p, checked: { tasks: 16 }, totals: { violations: 0, due: 0 } });
    expect(report.checked.edges).toBe(11);
    expect(report.checked.events).toBeGreaterThan(40);
    expect(report.repaired).toBeUndefined();
  });

  it('a wrong unmet_deps counter and a wrong weight are reported with their ids', async () => {
    const p = await newProject();
    const a = await create(p, 'a');
    const b = await create(p, 'b', { depends_on: [a.id] });
    await sql('UPDATE tasks SET unmet_deps = 3 WHERE id = $1', [b.id]);
    await sql('UPDATE tasks SET weight = 42 WHERE id = $1', [a.id]);
    const r = await fsck(p);
    expect(r.ok).toBe(false);
    expect(brief(r.violations)).toEqual(sorted(['unmet_deps', [b.id]], ['weight', [a.id]]));
    expect(r.violations.find((v) => v.check === 'weight')!.message).toBe(`${a.id} has weight 42, but 1 open task waits on it`);
    expect(r.totals).toEqual({ violations: 2, due: 0 });
  });

  it('a done task whose dependency is not done is reported with both ids', async () => {
    const p = await newProject();
    const dep = await create(p, 'dependency');
    const early = await create(p, 'done too early', { depends_on: [dep.id] });
    await sql(`UPDATE tasks SET status = 'done', blocked_reason = NULL WHERE id = $1`, [early.id]);
    await sql(`INSERT INTO events (project_id, type, task_id, payload, at) VALUES ($1, 'task.done', $2, '{}', now())`, [p, early.id]);
    const r = await fsck(p);
    // Its dependency's weight counted it as open work: stale now, and reported too.
    expect(brief(r.violations)).toEqual(sorted(['done_dependencies', [early.id, dep.id]], ['weight', [dep.id]]));
  });

  it('a task a person marked done ahead of its dependency is not a violation', async () => {
    const p = await newProject();
    const dep = await create(p, 'dependency');
    const decided = await create(p, 'decided by a person', { depends_on: [dep.id] });
    const esc = await t.api.escalate({ project_id: p, task_id: decided.id, message: 'can we skip the wait?', agent_id: 'agent-1' });
    await t.api.resolveEscalation({ project_id: p, escalation_id: esc.escalation.id, action: 'done', output: { decided: true } });
    expect((await get(p, decided.id)).status).toBe('done');
    const r = await fsck(p);
    expect(r.violations.filter((v) => v.check === 'done_dependencies' || v.task_ids.includes(decided.id))).toEqual([]);
    // Whatever else a by-hand completion leaves behind is recomputable.
    const repaired = await fsck(p, true);
    expect(repaired.violations).toEqual([]);
    expect(repaired.ok).toBe(true);
  });

  it('a claimed task without a lease is reported; an expired lease is only due', async () => {
    const p = await newProject();
    const held = await create(p, 'held');
    const late = await create(p, 'late');
    await claim(p, held.id);
    await claim(p, late.id);
    // The schema refuses a claim without a lease (claimed_has_lease): lift it in this test's database to damage one.
    await sql('ALTER TABLE tasks DROP CONSTRAINT claimed_has_lease');
    try {
      await sql('UPDATE tasks SET lease_token = NULL WHERE id = $1', [held.id]);
      await sql(`UPDATE tasks SET lease_expires_at = now() - interval '1 minute' WHERE id = $1`, [late.id]);
      const r = await fsck(p);
      expect(brief(r.violations)).toEqual([['lease', [held.id]]]);
      expect(r.violations[0]!.message).toBe(`${held.id} is claimed without lease_token`);
      expect(brief(r.due)).toEqual([['lease', [late.id]]]);
    } finally {
      await sql(`UPDATE tasks SET status = 'cancelled' WHERE id = $1`, [held.id]);
      await sql(`ALTER TABLE tasks ADD CONSTRAINT claimed_has_lease CHECK (status <> 'claimed' OR (lease_token IS NOT NULL AND lease_expires_at IS NOT NULL AND assignee IS NOT NULL))`);
    }
  });

  it('a cycle inserted by hand is reported with its path, with the counters it broke', async () => {
    const p = await newProject();
    const a = await create(p, 'a');
    const b = await create(p, 'b', { depends_on: [a.id] });
    await sql('INSERT INTO task_deps (task_id, depends_on) VALUES ($1, $2)', [a.id, b.id]);
    const r = await fsck(p);
    const cycle = cyclePath(a.id, b.id);
    expect(r.violations.find((v) => v.check === 'cycle')).toEqual({
      check: 'cycle',
      message: `dependency cycle: ${[...cycle, cycle[0]].join(' -> ')}`,
      task_ids: cycle,
    });
    // a now waits on b without counting it, and runs although b is not done.
    expect(brief(r.violations)).toEqual(
      sorted(['cycle', cycle], ['unmet_deps', [a.id]], ['readiness', [a.id, b.id]], ['weight', [a.id]], ['weight', [b.id]]),
    );
  });

  it('a cycle through an epic waiting for its child is reported', async () => {
    const p = await newProject();
    const epic = await create(p, 'epic', { epic: true });
    const child = await create(p, 'child', { parent_id: epic.id });
    await sql('INSERT INTO task_deps (task_id, depends_on) VALUES ($1, $2)', [child.id, epic.id]);
    await sql(`UPDATE tasks SET unmet_deps = 1, status = 'blocked', blocked_reason = 'dependencies' WHERE id = $1`, [child.id]);
    await sql(`INSERT INTO events (project_id, type, task_id, payload, at) VALUES ($1, 'task.blocked', $2, '{}', now())`, [p, child.id]);
    const r = await fsck(p);
    expect(brief(r.violations)).toEqual([['cycle', cyclePath(epic.id, child.id)]]);
    expect(r.violations[0]!.message).toMatch(/\(an epic waits for its children\)$/);
  });

  it('a deleted event is reported: the status no longer matches the log, or the task has no event at all', async () => {
    const p = await newProject();
    const running = await create(p, 'running');
    const silent = await create(p, 'silent');
    await claim(p, running.id);
    await sql(`DELETE FROM events WHERE task_id = $1 AND type = 'task.claimed'`, [running.id]);
    await sql('DELETE FROM events WHERE task_id = $1', [silent.id]);
    const r = await fsck(p);
    expect(brief(r.violations)).toEqual(sorted(['events', [running.id]], ['events', [silent.id]]));
    const byId = new Map(r.violations.map((v) => [v.task_ids[0], v.message]));
    expect(byId.get(running.id)).toMatch(new RegExp(`^${running.id} is claimed, but its latest status event \\(#\\d+ task\\.created\\) leaves it pending$`));
    expect(byId.get(silent.id)).toMatch(/has no event that set a status/);
  });

  it("a done epic with an open child, and a child missing its epic's dependency, are reported", async () => {
    const p = await newProject();
    const gate = await create(p, 'gate');
    const epic = await create(p, 'epic', { epic: true, depends_on: [gate.id] });
    const open = await create(p, 'open child', { parent_id: epic.id });
    const other = await create(p, 'other child', { parent_id: epic.id });
    await finish(p, gate.id);
    await sql(`UPDATE tasks SET status = 'done' WHERE id = $1`, [epic.id]);
    await sql(`INSERT INTO events (project_id, type, task_id, payload, at) VALUES ($1, 'epic.completed', $2, '{}', now())`, [p, epic.id]);
    await sql('DELETE FROM task_deps WHERE task_id = $1', [other.id]);
    const r = await fsck(p);
    expect(brief(r.violations)).toEqual(
      sorted(['epic_children', [epic.id, ...[open.id, other.id].sort()]], ['epic_dependencies', [other.id, epic.id, gate.id]]),
    );
  });

  it('an epic whose children all finished is due, not a violation', async () => {
    const p = await newProject();
    const epic = await create(p, 'epic', { epic: true });
    const child = await create(p, 'child', { parent_id: epic.id });
    await finish(p, child.id);
    await sql(`UPDATE tasks SET status = 'epic' WHERE id = $1`, [epic.id]); // as if the completion had not run
    await sql(`DELETE FROM events WHERE task_id = $1 AND type = 'epic.completed'`, [epic.id]);
    const r = await fsck(p);
    expect(r.ok).toBe(true);
    expect(brief(r.due)).toEqual([['epic_completion', [epic.id]]]);
    expect((await t.api.reconcile({ project_id: p })).epics_completed).toEqual([epic.id]);
    expect((await fsck(p)).due).toEqual([]);
  });

  it('repair recounts counters and weights, moves the statuses they decide with events, and leaves the rest reported', async () => {
    const p = await newProject();
    // stale: blocked on a dependency that is done, its counter not moved
    const a = await create(p, 'a');
    const b = await create(p, 'b', { depends_on: [a.id] });
    await finish(p, a.id);
    await sql(`UPDATE tasks SET status = 'blocked', blocked_reason = 'dependencies', unmet_deps = 1 WHERE id = $1`, [b.id]);
    // runnable although it waits on an open task (an edge whose counter never moved)
    const c = await create(p, 'c');
    const d = await create(p, 'd');
    await sql('INSERT INTO task_deps (task_id, depends_on) VALUES ($1, $2)', [d.id, c.id]);
    // a stale weight
    const e = await create(p, 'e');
    await sql('UPDATE tasks SET weight = 9 WHERE id = $1', [e.id]);
    // not recomputable: done ahead of its dependency
    const f = await create(p, 'f');
    const g = await create(p, 'g', { depends_on: [f.id] });
    await sql(`UPDATE tasks SET status = 'done', blocked_reason = NULL WHERE id = $1`, [g.id]);
    await sql(`INSERT INTO events (project_id, type, task_id, payload, at) VALUES ($1, 'task.done', $2, '{}', now())`, [p, g.id]);
    await sql('UPDATE tasks SET weight = 0 WHERE id = $1', [f.id]);

    const before = await fsck(p);
    expect(brief(before.violations)).toEqual(
      sorted(
        ['unmet_deps', [b.id]],
        ['readiness', [b.id]],
        ['events', [b.id]],
        ['unmet_deps', [d.id]],
        ['readiness', [d.id, c.id]],
        ['weight', [c.id]],
        ['weight', [e.id]],
        ['done_dependencies', [g.id, f.id]],
      ),
    );

    const heard: LoomEvent[] = [];
    const off = t.bus.subscribe(p, (ev) => heard.push(ev));
    const revisionBefore = (await get(p, b.id)).revision;
    const r = await fsck(p, true);
    expect(r.repaired).toEqual({
      unmet_deps: [b.id, d.id].sort(),
      weights: [c.id, e.id].sort(),
      unblocked: [b.id],
      blocked: [d.id],
      counts: { unmet_deps: 2, weights: 2, unblocked: 1, blocked: 1 },
    });
    expect(brief(r.violations)).toEqual([['done_dependencies', [g.id, f.id]]]);
    expect(r.ok).toBe(false);

    expect(await get(p, b.id)).toMatchObject({ status: 'pending', blocked_reason: null, unmet_deps: 0 });
    expect((await get(p, b.id)).revision).toBeGreaterThan(revisionBefore);
    expect(await get(p, d.id)).toMatchObject({ status: 'blocked', blocked_reason: 'dependencies', unmet_deps: 1 });
    expect((await get(p, c.id)).weight).toBe(1);
    expect((await get(p, e.id)).weight).toBe(0);
    expect((await eventsOf(p, b.id)).slice(-2).map((ev) => [ev.type, ev.payload])).toEqual([
      ['task.updated', { changed: ['unmet_deps'], unmet_deps: { from: 1, to: 0 }, by: 'fsck' }],
      ['task.unblocked', { by: 'fsck' }],
    ]);
    expect((await eventsOf(p, d.id)).at(-1)).toMatchObject({ type: 'task.blocked', payload: { reason: 'dependencies', by: 'fsck' } });
    expect((await eventsOf(p, e.id)).at(-1)).toMatchObject({ type: 'task.updated', payload: { changed: ['weight'], weight: { from: 9, to: 0 }, by: 'fsck' } });
    await new Promise((resolve) => setTimeout(resolve, 50)); // the bus delivers on a later tick
    off();
    expect(heard.filter((ev) => ev.payload.by === 'fsck').map((ev) => `${ev.type} ${ev.task_id}`).sort()).toEqual(
      [`task.updated ${b.id}`, `task.updated ${c.id}`, `task.updated ${d.id}`, `task.updated ${e.id}`, `task.unblocked ${b.id}`, `task.blocked ${d.id}`].sort(),
    );
    // b can be claimed again; d waits for c like any dependent.
    expect((await t.api.ready({ project_id: p })).map((x) => x.id)).toContain(b.id);
    await finish(p, c.id);
    expect((await get(p, d.id)).status).toBe('pending');
  });

  it("repair keeps blocked a child that lost its epic's dependency: its counter is recounted, running it is a person's call", async () => {
    const p = await newProject();
    const gate = await create(p, 'gate');
    const epic = await create(p, 'epic', { epic: true, depends_on: [gate.id] });
    const child = await create(p, 'child', { parent_id: epic.id });
    await sql('DELETE FROM task_deps WHERE task_id = $1', [child.id]);
    const r = await fsck(p, true);
    expect(r.repaired).toMatchObject({ unmet_deps: [child.id], unblocked: [] });
    expect(brief(r.violations)).toEqual(sorted(['epic_dependencies', [child.id, epic.id, gate.id]], ['readiness', [child.id]]));
    expect(await get(p, child.id)).toMatchObject({ status: 'blocked', unmet_deps: 0 });
  });

  it('after a counters-only repair, a second fsck is ok and repairs nothing', async () => {
    const p = await newProject();
    const a = await create(p, 'a');
    const b = await create(p, 'b', { depends_on: [a.id] });
    const c = await create(p, 'c', { depends_on: [b.id] });
    await sql('UPDATE tasks SET unmet_deps = 0 WHERE id = $1', [c.id]);
    await sql('UPDATE tasks SET weight = 0 WHERE id = $1', [a.id]);
    expect((await fsck(p)).ok).toBe(false);
    const repaired = await fsck(p, true);
    expect(repaired.ok).toBe(true);
    expect(repaired.repaired!.counts).toEqual({ unmet_deps: 1, weights: 1, unblocked: 0, blocked: 0 });
    const again = await fsck(p, true);
    expect(again).toMatchObject({ ok: true, violations: [], repaired: { counts: { unmet_deps: 0, weights: 0, unblocked: 0, blocked: 0 } } });
    expect(await fsck(p)).toMatchObject({ ok: true, violations: [] });
  });

  it('keeps each list readable on a badly damaged project: 200 per check, then a count', async () => {
    const p = await newProject();
    await sql(
      `INSERT INTO tasks (id, project_id, title, status, priority, origin, max_attempts, weight, created_at, updated_at)
       SELECT 'loom-' || lpad(to_hex(g), 8, '0'), $1, 'bulk ' || g, 'pending', 'p1', '{"kind":"test","id":"bulk"}', 3, 5, now(), now()
         FROM generate_series(1, 250) g`,
      [p],
    );
    await sql(
      `INSERT INTO events (project_id, type, task_id, payload, at)
       SELECT $1, 'task.created', id, '{"status":"pending"}', now() FROM tasks WHERE project_id = $1`,
      [p],
    );
    const r = await fsck(p);
    expect(r.totals.violations).toBe(250);
    expect(r.violations).toHaveLength(201);
    expect(r.violations.at(-1)).toEqual({ check: 'weight', message: '50 more weight finding(s) not listed', task_ids: [] });
    const fixed = await fsck(p, true);
    expect(fixed.repaired!.counts.weights).toBe(250);
    expect(fixed.repaired!.weights).toHaveLength(200);
    expect(fixed.ok).toBe(true);
  });

  it('refuses bad input and unknown projects with coded errors', async () => {
    await expect(t.api.fsck({ project_id: 'nope' })).rejects.toMatchObject({ code: 'PROJECT_NOT_FOUND' });
    await expect(t.api.fsck({ project_id: await newProject(), repair: 'yes' } as never)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
