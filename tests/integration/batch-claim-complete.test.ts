/**
 * Batch claim, done and fail on both stores: a batch claim takes the tasks single claims would
 * have taken, in the same order, each with its own lease; a batch done or fail checks each item
 * against its own lease (a stale one refuses only that item); a batch leaves the graph as the
 * same reports one by one would; and the removed-project, held-task and hostile-input rules of
 * the single calls hold for batches too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoomEvent } from '../../src/domain/events.js';
import type { LoomApi } from '../../src/ports/loom-api.js';
import { LoomError } from '../../src/domain/errors.js';
import { openStoreServices } from '../support/store-services.js';

const origin = { kind: 'test', id: 't' };

const errorCode = async (call: Promise<unknown>): Promise<string> => {
  try {
    await call;
  } catch (e) {
    return LoomError.is(e) ? e.code : `not a LoomError: ${String(e)}`;
  }
  return 'no error';
};

describe.each(['embedded', 'postgres'] as const)('batch claim and complete (%s)', (mode) => {
  let api: LoomApi;
  let other: LoomApi; // a second service on the same database (another process, as far as caches go)
  let close: () => Promise<void>;
  let now = Date.now();
  const clock = { now: () => new Date(now) };
  beforeAll(async () => {
    const opened = await openStoreServices(mode, 'batch', { clock }, 2);
    [api, other] = opened.services as [LoomApi, LoomApi];
    close = opened.close;
  });
  afterAll(async () => close());

  const events = async (p: string, type: string): Promise<LoomEvent[]> => (await api.events({ project_id: p, limit: 10000 })).filter((e) => e.type === type);

  it('claims in ready order, each task with its own lease, skipping held, blocked and waiting tasks', async () => {
    const p = (await api.createProject({ name: 'claim-order' })).id;
    const mk = (title: string, extra: Record<string, unknown> = {}) => api.createTask({ project_id: p, title, origin, ...extra });
    const low = await mk('low', { priority: 'p2' });
    const high = await mk('high', { priority: 'p0' });
    const mid = await mk('mid', { priority: 'p1' });
    const root = await mk('root', { priority: 'p2' });
    await mk('heavy dependent', { priority: 'p2', depends_on: [root.id] }); // gives root weight: first among the p2
    const held = await mk('held', { priority: 'p0' });
    await api.hold({ project_id: p, task_id: held.id });
    const ready = (await api.ready({ project_id: p, limit: 10 })).map((t) => t.id);
    expect(ready).toEqual([high.id, mid.id, root.id, low.id]);

    const r = await api.claimBatch({ project_id: p, agent_id: 'batcher', count: 3, lease_seconds: 120 });
    expect(r.claims.map((c) => c.task.id)).toEqual(ready.slice(0, 3));
    expect(new Set(r.claims.map((c) => c.lease.token)).size).toBe(3);
    for (const c of r.claims) {
      expect(c.task).toMatchObject({ status: 'claimed', assignee: 'batcher', attempts: 1, lease_token: c.lease.token, lease_expires_at: c.lease.expires_at });
      expect(Date.parse(c.lease.expires_at)).toBe(now + 120_000);
    }
    const claimed = await events(p, 'task.claimed');
    expect(claimed.map((e) => e.task_id).sort()).toEqual(ready.slice(0, 3).sort());
    expect(claimed.every((e) => e.agent_id === 'batcher' && e.payload.attempt === 1)).toBe(true);

    // Asking for more than is ready takes what there is; then nothing, which is a result.
    const rest = await api.claimBatch({ project_id: p, agent_id: 'batcher', count: 10 });
    expect(rest.claims.map((c) => c.task.id)).toEqual([low.id]);
    expect((await api.claimBatch({ project_id: p, agent_id: 'batcher', count: 10 })).claims).toEqual([]);
    expect((await api.status({ project_id: p, task_id: held.id })).task.status).toBe('pending');
  });

  it('agent_ids leases the i-th task to the i-th agent (a runner filling its free slots)', async () => {
    const p = (await api.createProject({ name: 'claim-agents' })).id;
    for (let i = 0; i < 3; i++) await api.createTask({ project_id: p, title: `t${i}`, origin });
    const r = await api.claimBatch({ project_id: p, agent_id: 'runner', agent_ids: ['runner-0', 'runner-2', 'runner-5', 'runner-7'] });
    expect(r.claims.map((c) => c.task.assignee)).toEqual(['runner-0', 'runner-2', 'runner-5']);
    const claimed = await events(p, 'task.claimed');
    expect(new Map(claimed.map((e) => [e.task_id, e.agent_id]))).toEqual(new Map(r.claims.map((c) => [c.task.id, c.task.assignee])));
    const agents = await api.agentTasks({ project_id: p, agent_id: 'runner-2' });
    expect(agents.map((t) => t.id)).toEqual([r.claims[1]!.task.id]);
  });

  it('a stale lease in a batch done refuses only that task; the rest are done and their dependents released', async () => {
    const p = (await api.createProject({ name: 'stale-in-batch' })).id;
    const a = await api.createTask({ project_id: p, title: 'a', origin });
    const b = await api.createTask({ project_id: p, title: 'b', origin });
    const dep = await api.createTask({ project_id: p, title: 'after a', origin, depends_on: [a.id] });
    const claims = (await api.claimBatch({ project_id: p, agent_id: 'w', count: 3, lease_seconds: 60 })).claims;
    expect(claims.map((x) => x.task.id).sort()).toEqual([a.id, b.id].sort());
    const lease = new Map(claims.map((x) => [x.task.id, x.lease.token]));
    // b goes back to the queue and another agent takes it: the batch's lease on b is stale.
    await other.release({ project_id: p, task_id: b.id, agent_id: 'w', lease_token: lease.get(b.id)! });
    const again = await other.claim({ project_id: p, agent_id: 'w2', task_id: b.id });
    expect(again.claimed).toBe(true);

    const r = await api.doneBatch({
      project_id: p,
      items: [
        { task_id: a.id, agent_id: 'w', lease_token: lease.get(a.id)!, output: { n: 1 } },
        { task_id: b.id, agent_id: 'w', lease_token: lease.get(b.id)! },
        { task_id: 'loom-00000000', agent_id: 'w', lease_token: 'x' },
      ],
    });
    expect(r.results.map((x) => [x.task_id, x.ok ? 'ok' : x.error.code])).toEqual([
      [a.id, 'ok'],
      [b.id, 'LEASE_LOST'],
      ['loom-00000000', 'TASK_NOT_FOUND'],
    ]);
    const okA = r.results[0]!;
    if (!okA.ok) throw new Error('a refused');
    expect(okA.result).toMatchObject({ already_done: false, unblocked: [dep.id], completed_epics: [] });
    expect(okA.result.task).toMatchObject({ id: a.id, status: 'done', output: { n: 1 } });
    expect((await api.status({ project_id: p, task_id: b.id })).task).toMatchObject({ status: 'claimed', assignee: 'w2' });
    expect((await api.status({ project_id: p, task_id: dep.id })).task.status).toBe('pending');
    // The same batch again: a is already done under this lease (no second event), b still refused.
    const repeat = await api.doneBatch({ project_id: p, items: [{ task_id: a.id, agent_id: 'w', lease_token: lease.get(a.id)!, output: { n: 1 } }] });
    expect(repeat.results[0]).toMatchObject({ ok: true, result: { already_done: true } });
    expect((await events(p, 'task.done')).map((e) => e.task_id)).toEqual([a.id]);
    expect((await api.fsck({ project_id: p })).violations).toEqual([]);
  });

  it('a batch done leaves the graph as the same dones one by one would (shared dependents, epics, chains)', async () => {
    // The same graph twice: one completed in a batch, one task at a time, in the same order.
    const build = async (name: string) => {
      const p = (await api.createProject({ name })).id;
      const t = (title: string, extra: Record<string, unknown> = {}) => api.createTask({ project_id: p, title, origin, ...extra });
      const a = await t('a');
      const b = await t('b');
      const c = await t('c');
      const both = await t('after a and b', { depends_on: [a.id, b.id] });
      const all = await t('after a, b and c', { depends_on: [a.id, b.id, c.id] });
      const partial = await t('after a and both', { depends_on: [a.id, both.id] });
      const epic = await t('epic after c', { epic: true, depends_on: [c.id] });
      const child = await t('child', { parent_id: epic.id });
      return { p, ids: { a: a.id, b: b.id, c: c.id, both: both.id, all: all.id, partial: partial.id, epic: epic.id, child: child.id } };
    };
    const batch = await build('graph-batch');
    const single = await build('graph-single');

    const claimsB = (await api.claimBatch({ project_id: batch.p, agent_id: 'w', count: 10 })).claims;
    expect(claimsB.map((x) => x.task.title).sort()).toEqual(['a', 'b', 'c']);
    const r = await api.doneBatch({ project_id: batch.p, items: claimsB.map((x) => ({ task_id: x.task.id, agent_id: 'w', lease_token: x.lease.token })) });
    expect(r.results.every((x) => x.ok)).toBe(true);

    const claimsS = (await api.claimBatch({ project_id: single.p, agent_id: 'w', count: 10 })).claims;
    const singles = [];
    for (const x of claimsS) singles.push(await api.done({ project_id: single.p, task_id: x.task.id, agent_id: 'w', lease_token: x.lease.token }));

    // Per item, what the single call returned.
    const byTitle = (p: string, ids: Record<string, string>) => (id: string) => Object.entries(ids).find(([, v]) => v === id)![0];
    const nb = byTitle(batch.p, batch.ids);
    const ns = byTitle(single.p, single.ids);
    expect(r.results.map((x) => (x.ok ? { unblocked: x.result.unblocked.map(nb).sort() } : null))).toEqual(singles.map((x) => ({ unblocked: x.unblocked.map(ns).sort() })));

    const state = async (g: { p: string; ids: Record<string, string> }) => {
      const out: Record<string, unknown> = {};
      for (const [k, id] of Object.entries(g.ids)) {
        const t = (await api.status({ project_id: g.p, task_id: id })).task;
        out[k] = { status: t.status, unmet_deps: t.unmet_deps, blocked_reason: t.blocked_reason };
      }
      const unblocked = (await api.events({ project_id: g.p, limit: 10000 })).filter((e) => e.type === 'task.unblocked');
      out.unblocked_events = unblocked.map((e) => Object.entries(g.ids).find(([, v]) => v === e.task_id)![0]).sort();
      return out;
    };
    expect(await state(batch)).toEqual(await state(single));
    expect(await state(batch)).toMatchObject({ both: { status: 'pending' }, all: { status: 'pending' }, partial: { status: 'blocked', unmet_deps: 1 }, child: { status: 'pending' } });
    expect((await api.fsck({ project_id: batch.p })).violations).toEqual([]);
  });

  it('children of an epic complete it from a batch (the locking path), like single dones', async () => {
    const p = (await api.createProject({ name: 'epic-batch' })).id;
    const epic = await api.createTask({ project_id: p, title: 'epic', origin, epic: true });
    for (let i = 0; i < 3; i++) await api.createTask({ project_id: p, title: `c${i}`, origin, parent_id: epic.id });
    const after = await api.createTask({ project_id: p, title: 'after the epic', origin, depends_on: [epic.id] });
    const claims = (await api.claimBatch({ project_id: p, agent_id: 'w', count: 5 })).claims;
    expect(claims).toHaveLength(3);
    const r = await api.doneBatch({ project_id: p, items: claims.map((x) => ({ task_id: x.task.id, agent_id: 'w', lease_token: x.lease.token })) });
    expect(r.results.every((x) => x.ok)).toBe(true);
    const completed = r.results.flatMap((x) => (x.ok ? x.result.completed_epics : []));
    expect(completed).toEqual([epic.id]);
    expect((await api.status({ project_id: p, task_id: epic.id })).task.status).toBe('done');
    expect((await api.status({ project_id: p, task_id: after.id })).task.status).toBe('pending');
    expect((await api.fsck({ project_id: p })).violations).toEqual([]);
  });

  it('a batch fail: retryable ones retry, the last attempt dead-letters, a stale lease refuses only its item', async () => {
    const p = (await api.createProject({ name: 'fail-batch' })).id;
    const retry = await api.createTask({ project_id: p, title: 'retry', origin });
    const last = await api.createTask({ project_id: p, title: 'last', origin, max_attempts: 1 });
    const dependent = await api.createTask({ project_id: p, title: 'after last', origin, depends_on: [last.id] });
    const stale = await api.createTask({ project_id: p, title: 'stale', origin });
    const claims = (await api.claimBatch({ project_id: p, agent_id: 'w', count: 3 })).claims;
    const token = new Map(claims.map((x) => [x.task.id, x.lease.token]));
    const r = await api.failBatch({
      project_id: p,
      items: [
        { task_id: retry.id, agent_id: 'w', lease_token: token.get(retry.id)!, reason: 'flaky' },
        { task_id: last.id, agent_id: 'w', lease_token: token.get(last.id)!, reason: 'broken' },
        { task_id: stale.id, agent_id: 'w', lease_token: 'not-the-lease', reason: 'late' },
      ],
    });
    expect(r.results.map((x) => (x.ok ? x.result.outcome : x.error.code))).toEqual(['retrying', 'dead_lettered', 'LEASE_LOST']);
    const first = r.results[0]!;
    expect(first.ok && first.result.run_after !== null).toBe(true);
    expect((await api.status({ project_id: p, task_id: retry.id })).task).toMatchObject({ status: 'pending', attempts: 1 });
    expect((await api.status({ project_id: p, task_id: last.id })).task.status).toBe('failed');
    expect((await api.status({ project_id: p, task_id: dependent.id })).task).toMatchObject({ status: 'blocked', blocked_reason: 'dependency_failed' });
    expect((await api.status({ project_id: p, task_id: stale.id })).task.status).toBe('claimed');
    expect((await events(p, 'task.retrying')).map((e) => e.task_id)).toEqual([retry.id]);
    expect((await events(p, 'task.dead_lettered')).map((e) => e.task_id)).toEqual([last.id]);
    expect((await api.fsck({ project_id: p })).violations).toEqual([]);
  });

  it('a removed project: a batch claim and every refused item answer PROJECT_REMOVED', async () => {
    const p = (await api.createProject({ name: 'removed' })).id;
    for (let i = 0; i < 3; i++) await api.createTask({ project_id: p, title: `t${i}`, origin });
    const claims = (await api.claimBatch({ project_id: p, agent_id: 'w', count: 2 })).claims;
    await other.removeProject({ project_id: p }); // `api` still has the project cached as open
    const items = claims.map((x) => ({ task_id: x.task.id, agent_id: 'w', lease_token: x.lease.token }));
    // Its leases were ended by the removal: each item is refused, and says why.
    const r = await api.doneBatch({ project_id: p, items });
    expect(r.results.map((x) => (x.ok ? 'ok' : x.error.code))).toEqual(['PROJECT_REMOVED', 'PROJECT_REMOVED']);
    // Known removed now: refused up front, like every write.
    expect(await errorCode(api.claimBatch({ project_id: p, agent_id: 'w', count: 2 }))).toBe('PROJECT_REMOVED');
    expect(await errorCode(api.failBatch({ project_id: p, items: items.map((i) => ({ ...i, reason: 'x' })) }))).toBe('PROJECT_REMOVED');
    // A claim finding nothing in a project removed elsewhere says so too.
    const fresh = (await api.createProject({ name: 'removed-2' })).id;
    await api.claimBatch({ project_id: fresh, agent_id: 'w', count: 1 });
    await other.removeProject({ project_id: fresh });
    expect(await errorCode(api.claimBatch({ project_id: fresh, agent_id: 'w', count: 2 }))).toBe('PROJECT_REMOVED');
  });

  it('refuses hostile or malformed batches with VALIDATION_FAILED, writing nothing', async () => {
    const p = (await api.createProject({ name: 'hostile' })).id;
    const t = await api.createTask({ project_id: p, title: 't', origin });
    const item = { task_id: t.id, agent_id: 'w', lease_token: 'tok' };
    const proto = JSON.parse(`{"task_id":"${t.id}","agent_id":"w","lease_token":"tok","__proto__":{"polluted":true}}`);
    const bad: Array<[string, Promise<unknown>]> = [
      ['count 0', api.claimBatch({ project_id: p, agent_id: 'w', count: 0 })],
      ['count 101', api.claimBatch({ project_id: p, agent_id: 'w', count: 101 })],
      ['count not an integer', api.claimBatch({ project_id: p, agent_id: 'w', count: 1.5 })],
      ['count and agent_ids disagree', api.claimBatch({ project_id: p, agent_id: 'w', count: 2, agent_ids: ['a'] })],
      ['agent_ids twice the same', api.claimBatch({ project_id: p, agent_id: 'w', agent_ids: ['a', 'a'] })],
      ['NUL in an agent id', api.claimBatch({ project_id: p, agent_id: 'w', agent_ids: ['a\u0000b'] })],
      ['lone surrogate', api.claimBatch({ project_id: p, agent_id: 'w\ud800' })],
      ['no items', api.doneBatch({ project_id: p, items: [] })],
      ['101 items', api.doneBatch({ project_id: p, items: Array.from({ length: 101 }, () => item) })],
      ['a task twice', api.doneBatch({ project_id: p, items: [item, item] })],
      ['project_id in an item', api.doneBatch({ project_id: p, items: [{ ...item, project_id: p } as never] })],
      ['__proto__ in an item', api.doneBatch({ project_id: p, items: [proto] })],
      ['a bad task id', api.failBatch({ project_id: p, items: [{ ...item, task_id: '../etc/passwd', reason: 'x' }] })],
      ['fail without a reason', api.failBatch({ project_id: p, items: [item as never] })],
      ['a huge reason', api.failBatch({ project_id: p, items: [{ ...item, reason: 'x'.repeat(100_000) }] })],
      ['a huge output', api.doneBatch({ project_id: p, items: [{ ...item, output: { big: 'x'.repeat(1_000_000) } }] })],
      ['items not a list', api.doneBatch({ project_id: p, items: { 0: item } as never })],
    ];
    for (const [what, call] of bad) expect(await errorCode(call), what).toBe('VALIDATION_FAILED');
    expect((await api.status({ project_id: p, task_id: t.id })).task.status).toBe('pending');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
