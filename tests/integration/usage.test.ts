/**
 * Usage reports on both stores: 16 agents reporting at once (heartbeats, done, fail, under nested
 * epics and outside them) add up exactly per task, epic, agent and project; a repeated done and a
 * refused report count nothing; bad usage is VALIDATION_FAILED and writes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoomError } from '../../src/domain/errors.js';
import type { UsageReport, UsageTotals } from '../../src/domain/usage.js';
import type { LoomApi } from '../../src/ports/loom-api.js';
import { openStoreService } from '../support/store-services.js';

const origin = { kind: 'test', id: 't' };
const AGENTS = 16;
const HEARTBEATS = 5;

const codeOf = async (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'resolved',
    (e: unknown) => (LoomError.is(e) ? e.code : `not a LoomError: ${String(e)}`),
  );

type Sums = Omit<UsageTotals, 'cost_usd'>;
const zero = (): Sums => ({ input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cost_micros: 0, reports: 0 });
const add = (s: Sums, u: UsageReport & { micros: number }): void => {
  s.input_tokens += u.input_tokens;
  s.output_tokens += u.output_tokens;
  s.cache_read_tokens += u.cache_read_tokens ?? 0;
  s.cost_micros += u.micros;
  s.reports += 1;
};
const pick = (t: UsageTotals | undefined): Sums | undefined =>
  t === undefined ? undefined : { input_tokens: t.input_tokens, output_tokens: t.output_tokens, cache_read_tokens: t.cache_read_tokens, cost_micros: t.cost_micros, reports: t.reports };

describe.each(['embedded', 'postgres'] as const)('usage reports (%s)', (mode) => {
  let api: LoomApi;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ api, close } = await openStoreService(mode, 'usage', { connections: AGENTS + 2 }));
  });
  afterAll(async () => close());

  it(`sums exactly under ${AGENTS} concurrent reporters, per task, epic, agent and project`, async () => {
    const p = (await api.createProject({ name: 'usage-race' })).id;
    const outer = await api.createTask({ project_id: p, title: 'outer', origin, epic: true });
    const inner = await api.createTask({ project_id: p, title: 'inner', origin, epic: true, parent_id: outer.id });
    const tasks: string[] = [];
    // Three in four under the inner epic (done takes the locking path), the rest on their own (the one-statement path).
    for (let i = 0; i < AGENTS; i++) {
      tasks.push((await api.createTask({ project_id: p, title: `t${i}`, origin, ...(i % 4 === 3 ? {} : { parent_id: inner.id }) })).id);
    }
    const perTask = new Map(tasks.map((t) => [t, zero()]));
    const perAgent = new Map<string, Sums>();
    const underInner = zero();
    const project = zero();
    let seed = 7;
    const next = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;

    const agent = async (i: number): Promise<void> => {
      const agent_id = `agent-${i}`;
      const task_id = tasks[i]!;
      const mine = zero();
      perAgent.set(agent_id, mine);
      const claim = await api.claim({ project_id: p, agent_id, task_id });
      if (!claim.claimed) throw new Error(`could not claim ${task_id}`);
      const lease = { project_id: p, task_id, agent_id, lease_token: claim.lease.token };
      const report = (): UsageReport & { micros: number } => {
        const micros = 1 + next(2_000_000); // up to $2, to the micro-dollar
        const u = { input_tokens: next(100_000), output_tokens: next(20_000), cache_read_tokens: next(500_000), cost_usd: micros / 1_000_000, model: 'claude-test' };
        for (const s of [mine, perTask.get(task_id)!, project, ...(i % 4 === 3 ? [] : [underInner])]) add(s, { ...u, micros });
        return { ...u, micros };
      };
      for (let h = 0; h < HEARTBEATS; h++) {
        const { micros: _m, ...usage } = report();
        await api.heartbeat({ ...lease, usage });
      }
      const { micros: _m, ...usage } = report();
      // One in eight fails (retryable: the one-statement path); the rest complete.
      if (i % 8 === 5) await api.fail({ ...lease, reason: 'flaky', usage });
      else await api.done({ ...lease, usage, output: { n: i } });
    };
    await Promise.all(Array.from({ length: AGENTS }, (_, i) => agent(i)));

    for (const t of tasks) expect(pick((await api.status({ project_id: p, task_id: t })).usage), t).toEqual(perTask.get(t));
    expect(pick((await api.status({ project_id: p, task_id: inner.id })).usage)).toEqual(underInner);
    expect(pick((await api.status({ project_id: p, task_id: outer.id })).usage)).toEqual(underInner);
    expect(project.reports).toBe(AGENTS * (HEARTBEATS + 1));

    const byTask = await api.costs({ project_id: p, by: 'task', limit: 1000 });
    expect(pick(byTask.total)).toEqual(project);
    expect(byTask.total.cost_usd).toBe(project.cost_micros / 1_000_000);
    expect(new Map(byTask.groups.map((g) => [g.key, pick(g)]))).toEqual(perTask);
    const costsSorted = byTask.groups.map((g) => g.cost_micros);
    expect(costsSorted).toEqual([...costsSorted].sort((a, b) => b - a));
    expect(byTask.groups.find((g) => g.key === tasks[0])?.label).toBe('t0');

    const byAgent = await api.costs({ project_id: p, by: 'agent', limit: 1000 });
    expect(new Map(byAgent.groups.map((g) => [g.key, pick(g)]))).toEqual(perAgent);

    const byEpic = await api.costs({ project_id: p, by: 'epic' });
    expect(new Map(byEpic.groups.map((g) => [g.key, pick(g)]))).toEqual(new Map([[outer.id, underInner], [inner.id, underInner]]));

    const byDay = await api.costs({ project_id: p, by: 'day' });
    const days = byDay.groups.reduce((s, g) => s + g.cost_micros, 0);
    expect(days).toBe(project.cost_micros);

    // Since a time after every report: nothing.
    const later = await api.costs({ project_id: p, by: 'task', since: new Date(Date.now() + 3_600_000).toISOString() });
    expect(later.groups).toEqual([]);
    expect(later.total.reports).toBe(0);
    const earlier = await api.costs({ project_id: p, by: 'agent', since: '2000-01-01' });
    expect(pick(earlier.total)).toEqual(project);
  });

  it('a repeated done counts nothing; a report refused with LEASE_LOST counts nothing', async () => {
    const p = (await api.createProject({ name: 'usage-once' })).id;
    const t = await api.createTask({ project_id: p, title: 'once', origin });
    const claim = await api.claim({ project_id: p, agent_id: 'a', task_id: t.id });
    if (!claim.claimed) throw new Error('not claimed');
    const lease = { project_id: p, task_id: t.id, agent_id: 'a', lease_token: claim.lease.token };
    const usage = { input_tokens: 10, output_tokens: 5, cost_usd: 0.25 };
    await api.done({ ...lease, usage });
    const again = await api.done({ ...lease, usage });
    expect(again.already_done).toBe(true);
    expect(await codeOf(api.heartbeat({ ...lease, usage }))).toBe('LEASE_LOST');
    expect(await codeOf(api.fail({ ...lease, reason: 'late', usage }))).toBe('LEASE_LOST');
    const other = await api.createTask({ project_id: p, title: 'other', origin });
    expect(await codeOf(api.heartbeat({ ...lease, task_id: other.id, usage }))).toBe('NOT_CLAIMED');
    const s = (await api.status({ project_id: p, task_id: t.id })).usage;
    expect(pick(s)).toEqual({ input_tokens: 10, output_tokens: 5, cache_read_tokens: 0, cost_micros: 250_000, reports: 1 });
    expect((await api.costs({ project_id: p })).total.reports).toBe(1);
    // The done event carries the usage it came with.
    const events = await api.events({ project_id: p, task_id: t.id });
    expect(events.find((e) => e.type === 'task.done')?.payload.usage).toEqual(usage);
  });

  it('refuses bad usage with VALIDATION_FAILED and writes nothing', async () => {
    const p = (await api.createProject({ name: 'usage-bad' })).id;
    const t = await api.createTask({ project_id: p, title: 'bad', origin });
    const claim = await api.claim({ project_id: p, agent_id: 'a', task_id: t.id });
    if (!claim.claimed) throw new Error('not claimed');
    const lease = { project_id: p, task_id: t.id, agent_id: 'a', lease_token: claim.lease.token };
    const ok = { input_tokens: 1, output_tokens: 1 };
    const bad: unknown[] = [
      { ...ok, input_tokens: -1 },
      { ...ok, output_tokens: 1.5 },
      { ...ok, cache_read_tokens: 1_000_000_001 },
      { ...ok, input_tokens: Number.MAX_SAFE_INTEGER + 2 },
      { ...ok, cost_usd: -0.01 },
      { ...ok, cost_usd: 10_000.01 },
      { ...ok, cost_usd: Number.NaN },
      { ...ok, cost_usd: Number.POSITIVE_INFINITY },
      { ...ok, cost_usd: '0.1' },
      { ...ok, input_tokens: '1' },
      { output_tokens: 1 },
      { ...ok, extra: 1 },
      JSON.parse('{"input_tokens":1,"output_tokens":1,"__proto__":{"polluted":true}}'),
      { ...ok, model: '' },
      { ...ok, model: 'x'.repeat(201) },
      { ...ok, model: 'a\u0000b' },
      { ...ok, model: '\ud800' },
      [1, 2],
      'usage',
      null,
    ];
    for (const usage of bad) {
      for (const call of [
        api.heartbeat({ ...lease, usage } as never),
        api.done({ ...lease, usage } as never),
        api.fail({ ...lease, reason: 'x', usage } as never),
      ]) {
        expect(await codeOf(call), JSON.stringify(usage) ?? String(usage)).toBe('VALIDATION_FAILED');
      }
    }
    for (const input of [
      { project_id: p, by: 'week' },
      { project_id: p, since: 'yesterday' },
      { project_id: p, since: '2026-13-45' },
      { project_id: p, since: '../../etc' },
      { project_id: p, limit: 0 },
    ]) {
      expect(await codeOf(api.costs(input as never)), JSON.stringify(input)).toBe('VALIDATION_FAILED');
    }
    expect((await api.status({ project_id: p, task_id: t.id })).usage).toBeUndefined();
    expect((await api.costs({ project_id: p })).total.reports).toBe(0);
    expect((await api.status({ project_id: p, task_id: t.id })).task.status).toBe('claimed');
  });

  it("a workflow run's usage is its epic's: loom costs --by epic names the run", async () => {
    const p = (await api.createProject({ name: 'usage-run' })).id;
    const r = await api.runWorkflow({ project_id: p, name: 'ship_feature', inputs: { feature: 'CSV export' } });
    if (r.stage !== 'started') throw new Error(`not started: ${r.stage}`);
    const spec = r.tasks.spec!;
    const claim = await api.claim({ project_id: p, agent_id: 'w', task_id: spec });
    if (!claim.claimed) throw new Error('not claimed');
    await api.done({ project_id: p, task_id: spec, agent_id: 'w', lease_token: claim.lease.token, usage: { input_tokens: 4, output_tokens: 2, cost_usd: 0.75 } });
    const byEpic = await api.costs({ project_id: p, by: 'epic' });
    expect(byEpic.groups).toEqual([expect.objectContaining({ key: r.epic_id, label: 'Ship: CSV export', run_id: r.run_id, cost_micros: 750_000, reports: 1 })]);
    expect((await api.status({ project_id: p, task_id: r.epic_id })).usage).toMatchObject({ cost_micros: 750_000, input_tokens: 4 });
  });
});
