/**
 * No task or epic reaches done while one of its dependencies is not done;
 * the one exception is a person's explicit override (resolving an
 * escalation with action done), recorded on the event. On real Postgres and
 * on the embedded store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../src/domain/task.js';
import type { CreateTaskInput, LoomApi } from '../../src/ports/loom-api.js';
import { usePgServices } from '../support/pg-services.js';
import { openEmbeddedService } from '../support/embedded-service.js';

const ORIGIN = { kind: 'test', id: 'done-invariant' };
const AGENT = 'agent-1';

function suite(name: string, open: () => Promise<{ api: LoomApi; close(): Promise<void> }>): void {
  describe(`done invariant: ${name}`, () => {
    let target: { api: LoomApi; close(): Promise<void> };
    const api = () => target.api;
    beforeAll(async () => {
      target = await open();
    });
    afterAll(async () => target?.close());

    let n = 0;
    const project = async () => (await api().createProject({ name: `${name} ${++n}` })).id;
    const create = (p: string, title: string, extra: Partial<CreateTaskInput> = {}) => api().createTask({ project_id: p, title, origin: ORIGIN, ...extra });
    const get = async (p: string, id: string): Promise<Task> => (await api().status({ project_id: p, task_id: id })).task;
    const claim = async (p: string, id: string) => {
      const r = await api().claim({ project_id: p, agent_id: AGENT, task_id: id });
      if (!r.claimed) throw new Error(`could not claim ${id}: ${r.reason}`);
      return r.lease.token;
    };
    const done = async (p: string, id: string) => api().done({ project_id: p, task_id: id, agent_id: AGENT, lease_token: await claim(p, id) });
    const events = async (p: string, type: string) => (await api().events({ project_id: p, limit: 1000 })).filter((e) => e.type === type);

    it('refuses an unfinished dependency for a claimed task, so its done can never come ahead of it', async () => {
      const p = await project();
      const a = await create(p, 'a');
      const b = await create(p, 'b');
      const token = await claim(p, a.id);
      await expect(api().updateTask({ project_id: p, task_id: a.id, depends_on: [b.id] })).rejects.toMatchObject({
        code: 'INVALID_TRANSITION',
        details: { task_id: a.id, unfinished: [b.id] },
      });
      expect(await get(p, a.id)).toMatchObject({ status: 'claimed', depends_on: [], unmet_deps: 0 });
      expect(await get(p, b.id)).toMatchObject({ status: 'pending', weight: 0 });
      // A finished dependency is fine: it cannot be overtaken.
      const c = await create(p, 'c');
      await done(p, c.id);
      await api().updateTask({ project_id: p, task_id: a.id, depends_on: [c.id] });
      const r = await api().done({ project_id: p, task_id: a.id, agent_id: AGENT, lease_token: token });
      expect(r.task).toMatchObject({ status: 'done', depends_on: [c.id] });
    });

    it('refuses an epic new dependencies that a running child would inherit', async () => {
      const p = await project();
      const epic = await create(p, 'epic', { epic: true });
      const child = await create(p, 'child', { parent_id: epic.id });
      const b = await create(p, 'b');
      await claim(p, child.id);
      await expect(api().updateTask({ project_id: p, task_id: epic.id, depends_on: [b.id] })).rejects.toMatchObject({
        code: 'INVALID_TRANSITION',
        details: { task_id: child.id, epic_id: epic.id },
      });
      expect(await get(p, epic.id)).toMatchObject({ status: 'epic', depends_on: [], unmet_deps: 0 });
      expect(await get(p, child.id)).toMatchObject({ status: 'claimed', depends_on: [] });
    });

    it.each([
      ['a dependency without an epic of its own (the optimistic path)', false],
      ['a dependency inside an epic (the locking path)', true],
    ])('keeps an epic whose children are finished open until its own new dependency is done: %s', async (_label, nested) => {
      const p = await project();
      const outer = nested ? (await create(p, 'outer', { epic: true })).id : undefined;
      const b = await create(p, 'b', outer === undefined ? {} : { parent_id: outer });
      const epic = await create(p, 'epic', { epic: true });
      const c1 = await create(p, 'c1', { parent_id: epic.id });
      const c2 = await create(p, 'c2', { parent_id: epic.id });
      await done(p, c1.id);
      await api().updateTask({ project_id: p, task_id: epic.id, depends_on: [b.id] });
      expect(await get(p, c2.id)).toMatchObject({ status: 'blocked', depends_on: [b.id] });
      expect(await get(p, c1.id)).toMatchObject({ status: 'done', depends_on: [] }); // a done child keeps what it had
      // Its last open child is dropped: every child is finished, but the epic still waits for b.
      await api().cancel({ project_id: p, task_id: c2.id });
      expect(await get(p, epic.id)).toMatchObject({ status: 'epic', unmet_deps: 1 });
      expect((await api().reconcile({ project_id: p })).epics_completed).toEqual([]);
      expect(await get(p, epic.id)).toMatchObject({ status: 'epic' });
      // b done: the epic completes in the same call, and says so.
      const r = await done(p, b.id);
      expect(r.completed_epics).toContain(epic.id);
      expect(await get(p, epic.id)).toMatchObject({ status: 'done', unmet_deps: 0 });
      expect((await events(p, 'epic.completed')).map((e) => e.task_id)).toContain(epic.id);
    });

    it('passes an epic\'s new dependency down through a nested epic, and cancelling the outer epic reaches the nested children', async () => {
      const p = await project();
      const outer = await create(p, 'outer', { epic: true });
      const inner = await create(p, 'inner', { epic: true, parent_id: outer.id });
      const leaf = await create(p, 'leaf', { parent_id: inner.id });
      const b = await create(p, 'b');
      await api().updateTask({ project_id: p, task_id: outer.id, depends_on: [b.id] });
      expect(await get(p, inner.id)).toMatchObject({ status: 'epic', depends_on: [b.id], unmet_deps: 1 });
      expect(await get(p, leaf.id)).toMatchObject({ status: 'blocked', depends_on: [b.id] });
      expect((await api().fsck({ project_id: p })).violations).toEqual([]);
      await api().updateTask({ project_id: p, task_id: outer.id, depends_on: [] });
      expect(await get(p, leaf.id)).toMatchObject({ status: 'pending', depends_on: [] });
      const r = await api().cancel({ project_id: p, task_id: outer.id });
      expect(r.cancelled).toEqual(expect.arrayContaining([outer.id, inner.id, leaf.id]));
      expect(await get(p, leaf.id)).toMatchObject({ status: 'cancelled' });
      expect((await api().fsck({ project_id: p })).violations).toEqual([]);
    });

    it('keeps a dependent that waits for a person as it is when its dependency is dead-lettered', async () => {
      const p = await project();
      const a = await create(p, 'a', { max_attempts: 1 });
      const waiting = await create(p, 'waiting', { depends_on: [a.id] });
      const { escalation } = await api().escalate({ project_id: p, task_id: waiting.id, message: 'needs a decision' });
      const token = await claim(p, a.id);
      await api().fail({ project_id: p, task_id: a.id, agent_id: AGENT, lease_token: token, reason: 'broken' });
      expect(await get(p, waiting.id)).toMatchObject({ status: 'blocked', blocked_reason: 'escalation' });
      expect((await api().escalations({ project_id: p })).map((e) => e.id)).toContain(escalation.id);
    });

    it('lets a person mark a task done ahead of its dependencies, recorded as an override', async () => {
      const p = await project();
      const b = await create(p, 'b');
      const a = await create(p, 'a', { depends_on: [b.id] });
      const { escalation } = await api().escalate({ project_id: p, task_id: a.id, message: 'already done by hand' });
      const r = await api().resolveEscalation({ project_id: p, escalation_id: escalation.id, action: 'done', output: { note: 'shipped' } });
      expect(r.task).toMatchObject({ status: 'done', output: { note: 'shipped' } });
      const [doneEvent] = (await events(p, 'task.done')).filter((e) => e.task_id === a.id);
      expect(doneEvent?.payload).toMatchObject({ by_hand: true, override: true, unmet_dependencies: 1 });
      // b still runs, and nobody waits for a any more.
      expect(await get(p, b.id)).toMatchObject({ status: 'pending', weight: 0 });
    });
  });
}

describe('on Postgres', () => {
  const pg = usePgServices('done_invariant');
  suite('postgres', async () => ({ api: pg.service(), close: async () => {} }));
});

suite('embedded (PGlite)', () => openEmbeddedService());
