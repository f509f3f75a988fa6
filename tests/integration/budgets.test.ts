/**
 * Budgets on both stores: 16 agents claiming and reporting under an epic's budget stop exactly at
 * the line (no claim commits after the crossing: every task claimed is held by it or was done
 * before it), the warning at 80% comes once, the escalation cannot be resolved by hand, raising the
 * budget resumes the held work; the project's budget holds new tasks too; a budget set below what
 * was spent stops at once; bad budgets are VALIDATION_FAILED.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoomError } from '../../src/domain/errors.js';
import type { LoomApi } from '../../src/ports/loom-api.js';
import { openStoreService } from '../support/store-services.js';

const origin = { kind: 'test', id: 't' };
const AGENTS = 16;

const codeOf = async (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'resolved',
    (e: unknown) => (LoomError.is(e) ? e.code : `not a LoomError: ${String(e)}`),
  );

describe.each(['embedded', 'postgres'] as const)('budgets (%s)', (mode) => {
  let api: LoomApi;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ api, close } = await openStoreService(mode, 'budgets', { connections: AGENTS + 2 }));
  });
  afterAll(async () => close());

  it(`stops claims under an epic exactly at the line, with ${AGENTS} agents claiming and reporting at once`, { timeout: 120_000 }, async () => {
    const p = (await api.createProject({ name: 'budget-race' })).id;
    const epic = await api.createTask({ project_id: p, title: 'capped', origin, epic: true });
    const inner = await api.createTask({ project_id: p, title: 'nested', origin, epic: true, parent_id: epic.id });
    const under: string[] = [];
    for (let i = 0; i < 80; i++) under.push((await api.createTask({ project_id: p, title: `u${i}`, origin, parent_id: i % 2 === 0 ? epic.id : inner.id, priority: 'p0' })).id);
    const outside: string[] = [];
    for (let i = 0; i < 5; i++) outside.push((await api.createTask({ project_id: p, title: `o${i}`, origin, priority: 'p2' })).id);
    // $1.00, reported $0.05 at a time (half with a heartbeat, half with the done): the line is the 20th report.
    const set = await api.setBudget({ project_id: p, epic_id: epic.id, budget_usd: 1 });
    expect(set.budget).toMatchObject({ scope: epic.id, budget_usd: 1, spent_usd: 0, state: 'ok' });

    const refusals: string[] = [];
    const agent = async (i: number): Promise<void> => {
      const agent_id = `agent-${i}`;
      for (;;) {
        let claim;
        try {
          claim = await api.claim({ project_id: p, agent_id });
        } catch (e) {
          if (LoomError.is(e) && e.code === 'BUDGET_EXCEEDED') {
            refusals.push(e.message);
            return;
          }
          throw e;
        }
        if (!claim.claimed) return;
        const lease = { project_id: p, task_id: claim.task.id, agent_id, lease_token: claim.lease.token };
        const usage = { input_tokens: 100, output_tokens: 10, cost_usd: 0.05 };
        if (i % 2 === 0) await api.heartbeat({ ...lease, usage });
        await api.done({ ...lease, ...(i % 2 === 0 ? {} : { usage }), output: { i } });
      }
    };
    await Promise.all(Array.from({ length: AGENTS }, (_, i) => agent(i)));

    const events = await api.events({ project_id: p, limit: 10_000 });
    const exceeded = events.filter((e) => e.type === 'budget.exceeded');
    expect(exceeded).toHaveLength(1);
    const line = exceeded[0]!;
    expect(line.task_id).toBe(epic.id);
    const tasks = new Map((await api.listTasks({ project_id: p, limit: 1000 })).map((t) => [t.id, t]));
    const doneAt = new Map(events.filter((e) => e.type === 'task.done').map((e) => [e.task_id!, e.id]));
    const claimed = new Set(events.filter((e) => e.type === 'task.claimed').map((e) => e.task_id!));
    for (const id of under) {
      if (!claimed.has(id)) {
        expect(tasks.get(id)?.held_at, `${id} never claimed: held`).not.toBeNull();
        continue;
      }
      // Claimed: either done before the crossing committed, or claimed before it and held by it.
      const t = tasks.get(id)!;
      const before = (doneAt.get(id) ?? Infinity) < line.id;
      expect(before || (t.held_at !== null && t.held_by_budget === epic.id), `${id}: claimed after the budget stop`).toBe(true);
    }
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals[0]).toMatch(/budget of epic/);
    // Every report was counted, including those of claims made before the stop that finished after it.
    const reports = events.filter((e) => (e.type === 'task.heartbeat' || e.type === 'task.done') && e.payload.usage !== undefined && under.includes(e.task_id!)).length;
    const view = (await api.budgets({ project_id: p })).budgets.find((b) => b.scope === epic.id)!;
    expect(view.spent_usd).toBeCloseTo(reports * 0.05, 6);
    expect(view.spent_usd).toBeGreaterThanOrEqual(1);
    expect(view.state).toBe('exceeded');
    expect(events.filter((e) => e.type === 'budget.warning')).toHaveLength(1);

    // The work outside the epic (lower priority, reached after the stop) was still handed out and done.
    for (const id of outside) expect(tasks.get(id)?.status, id).toBe('done');
    // Now: a claim anywhere under the epic is refused with the code, by id or not.
    expect(await codeOf(api.claim({ project_id: p, agent_id: 'late', task_id: under.find((id) => tasks.get(id)!.status === 'pending')! }))).toBe('BUDGET_EXCEEDED');
    expect(await codeOf(api.claim({ project_id: p, agent_id: 'late' }))).toBe('BUDGET_EXCEEDED');
    // A task created under the stopped epic is born held.
    const born = await api.createTask({ project_id: p, title: 'late child', origin, parent_id: inner.id });
    expect(born.held_at).not.toBeNull();
    expect(born.held_by_budget).toBe(epic.id);

    // The escalation asks for the budget: resolving it by hand is refused; raising the budget resolves it.
    const open = (await api.escalations({ project_id: p, status: 'open' })).filter((e) => e.task_id === epic.id);
    expect(open).toHaveLength(1);
    expect(open[0]!.message).toMatch(/loom budget set/);
    expect(await codeOf(api.resolveEscalation({ project_id: p, escalation_id: open[0]!.id, action: 'unblock' }))).toBe('BUDGET_EXCEEDED');
    const raised = await api.setBudget({ project_id: p, epic_id: epic.id, budget_usd: 100 });
    expect(raised.budget?.state).toBe('ok');
    expect(raised.resumed).toEqual(expect.arrayContaining([born.id]));
    expect((await api.escalations({ project_id: p, status: 'open' })).filter((e) => e.task_id === epic.id)).toEqual([]);
    const c = await api.claim({ project_id: p, agent_id: 'after', task_id: born.id });
    expect(c.claimed).toBe(true);
    const left = await api.listTasks({ project_id: p, held: true, limit: 1000 });
    expect(left.filter((t) => t.status !== 'done')).toEqual([]);
  });

  it("holds the whole project at its budget's line, tasks created afterwards too, until it is cleared", async () => {
    const p = (await api.createProject({ name: 'budget-project' })).id;
    const a = await api.createTask({ project_id: p, title: 'a', origin });
    const b = await api.createTask({ project_id: p, title: 'b', origin, depends_on: [a.id] });
    await api.setBudget({ project_id: p, budget_usd: 0.1 });
    const claim = await api.claim({ project_id: p, agent_id: 'x', task_id: a.id });
    if (!claim.claimed) throw new Error('not claimed');
    await api.heartbeat({ project_id: p, task_id: a.id, agent_id: 'x', lease_token: claim.lease.token, usage: { input_tokens: 1, output_tokens: 1, cost_usd: 0.1 } });
    // The claim already made goes on: its done is recorded and releases b, which stays held.
    const done = await api.done({ project_id: p, task_id: a.id, agent_id: 'x', lease_token: claim.lease.token, usage: { input_tokens: 1, output_tokens: 1, cost_usd: 0.02 } });
    expect(done.task.status).toBe('done');
    const fresh = await api.createTask({ project_id: p, title: 'fresh', origin });
    expect(fresh.held_by_budget).toBe('');
    expect(await codeOf(api.claim({ project_id: p, agent_id: 'y' }))).toBe('BUDGET_EXCEEDED');
    const [view] = (await api.budgets({ project_id: p })).budgets;
    expect(view).toMatchObject({ scope: '', state: 'exceeded', budget_usd: 0.1, spent_usd: 0.12 });
    // The escalation of a project budget sits on the task whose report crossed the line.
    const esc = await api.escalations({ project_id: p, status: 'open' });
    expect(esc.map((e) => e.task_id)).toEqual([a.id]);
    // A person's resume does not lift a budget's hold.
    expect(await codeOf(api.resume({ project_id: p, task_id: b.id }))).toBe('BUDGET_EXCEEDED');
    const cleared = await api.setBudget({ project_id: p, budget_usd: null });
    expect(cleared.budget).toBeNull();
    expect(cleared.resumed.sort()).toEqual([b.id, fresh.id].sort());
    expect((await api.status({ project_id: p, task_id: b.id })).task).toMatchObject({ status: 'pending', held_at: null, held_by_budget: null });
    expect((await api.escalations({ project_id: p, status: 'open' }))).toEqual([]);
    const next = await api.claim({ project_id: p, agent_id: 'y' });
    expect(next.claimed).toBe(true);
    const types = (await api.events({ project_id: p, limit: 1000 })).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['budget.set', 'budget.warning', 'budget.exceeded', 'task.held', 'task.resumed', 'escalation.resolved']));
  });

  it('a budget set below what was spent stops at once, without an escalation; a person hold survives the raise', async () => {
    const p = (await api.createProject({ name: 'budget-lower' })).id;
    const epic = await api.createTask({ project_id: p, title: 'e', origin, epic: true });
    const t1 = await api.createTask({ project_id: p, title: 't1', origin, parent_id: epic.id });
    const t2 = await api.createTask({ project_id: p, title: 't2', origin, parent_id: epic.id });
    const c = await api.claim({ project_id: p, agent_id: 'x', task_id: t1.id });
    if (!c.claimed) throw new Error('not claimed');
    await api.done({ project_id: p, task_id: t1.id, agent_id: 'x', lease_token: c.lease.token, usage: { input_tokens: 5, output_tokens: 5, cost_usd: 2 } });
    const set = await api.setBudget({ project_id: p, epic_id: epic.id, budget_usd: 1.5 });
    expect(set.budget).toMatchObject({ state: 'exceeded', spent_usd: 2, percent: 133.3 });
    expect(set.held.sort()).toEqual([epic.id, t2.id].sort());
    expect(await api.escalations({ project_id: p, status: 'open' })).toEqual([]);
    const refused = await api.claim({ project_id: p, agent_id: 'x', task_id: t2.id }).catch((e: unknown) => e);
    expect(LoomError.is(refused) && refused.code).toBe('BUDGET_EXCEEDED');
    expect(LoomError.is(refused) && refused.details).toMatchObject({ task_id: t2.id, budgets: [{ scope: epic.id, budget_usd: 1.5, spent_usd: 2 }] });
    expect(LoomError.is(refused) && refused.hint).toMatch(/loom budget set USD --epic/);
    // A person holds t2 too: raising the budget leaves it held (by the person), resumes the epic.
    await api.hold({ project_id: p, task_id: t2.id, reason: 'review first' });
    const raised = await api.setBudget({ project_id: p, epic_id: epic.id, budget_usd: 3 });
    expect(raised.resumed).toEqual([epic.id]);
    expect((await api.status({ project_id: p, task_id: t2.id })).task).toMatchObject({ hold_reason: 'review first', held_by_budget: null });
    expect(await api.claim({ project_id: p, agent_id: 'x' })).toEqual({ claimed: false, reason: 'none_ready' });
  });

  it('a workflow run takes its budget when it is written, and `run_id` names it afterwards', async () => {
    const p = (await api.createProject({ name: 'budget-run' })).id;
    expect(await codeOf(api.runWorkflow({ project_id: p, name: 'ship_feature', inputs: { feature: 'CSV export' }, budget_usd: -2 }))).toBe('VALIDATION_FAILED');
    expect(await api.workflowRuns({ project_id: p })).toEqual([]);
    const r = await api.runWorkflow({ project_id: p, name: 'ship_feature', inputs: { feature: 'CSV export' }, budget_usd: 2.5 });
    if (r.stage !== 'started') throw new Error('not started');
    expect((await api.budgets({ project_id: p })).budgets).toEqual([expect.objectContaining({ scope: r.epic_id, epic_id: r.epic_id, run_id: r.run_id, budget_usd: 2.5, spent_usd: 0, state: 'ok' })]);
    const raised = await api.setBudget({ project_id: p, run_id: r.run_id, budget_usd: 4 });
    expect(raised.budget).toMatchObject({ scope: r.epic_id, budget_usd: 4 });
    expect((await api.status({ project_id: p, task_id: r.epic_id })).budget).toMatchObject({ budget_usd: 4, state: 'ok' });
  });

  it('refuses bad budgets with VALIDATION_FAILED and writes nothing', async () => {
    const p = (await api.createProject({ name: 'budget-bad' })).id;
    const t = await api.createTask({ project_id: p, title: 'plain', origin });
    const epic = await api.createTask({ project_id: p, title: 'e', origin, epic: true });
    for (const budget_usd of [0, -1, 1e12, Number.NaN, Number.POSITIVE_INFINITY, 'ten' as unknown as number, 1e-9]) {
      expect(await codeOf(api.setBudget({ project_id: p, budget_usd })), String(budget_usd)).toBe('VALIDATION_FAILED');
    }
    expect(await codeOf(api.setBudget({ project_id: p, epic_id: t.id, budget_usd: 5 }))).toBe('VALIDATION_FAILED');
    expect(await codeOf(api.setBudget({ project_id: p, run_id: 999, budget_usd: 5 }))).toBe('VALIDATION_FAILED');
    expect(await codeOf(api.setBudget({ project_id: p, run_id: 1, epic_id: epic.id, budget_usd: 5 }))).toBe('VALIDATION_FAILED');
    expect(await codeOf(api.setBudget({ project_id: p, epic_id: 'loom-ffffffff', budget_usd: 5 }))).toBe('TASK_NOT_FOUND');
    expect(await codeOf(api.setBudget({ project_id: p, epic_id: '../x' as string, budget_usd: 5 }))).toBe('VALIDATION_FAILED');
    expect((await api.budgets({ project_id: p })).budgets).toEqual([]);
  });
});
