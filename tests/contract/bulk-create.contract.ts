import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BATCH_TASKS } from '../../src/domain/batch.js';
import type { BulkTaskInput, CreateTasksInput } from '../../src/ports/loom-api.js';
import type { ContractTarget } from './task-store.contract.js';

/**
 * Bulk create (LoomApi.createTasks) on every store: local keys and existing
 * ids in depends_on and parent_id, cycles inside the batch and through the
 * existing graph, every refusal coded and naming the item, one transaction
 * (a failure injected mid-write leaves nothing), 10,000 tasks in one call.
 */
const ORIGIN = { kind: 'test', id: 'bulk' };

export function bulkCreateContract(name: string, open: () => Promise<ContractTarget>): void {
  describe(`bulk create: ${name}`, () => {
    let t: ContractTarget;
    beforeAll(async () => {
      t = await open();
    });
    afterAll(async () => t?.close());

    let n = 0;
    const project = async () => (await t.api.createProject({ name: `bulk ${++n}` })).id;
    const bulk = (p: string, tasks: BulkTaskInput[], extra: Partial<CreateTasksInput> = {}) => t.api.createTasks({ project_id: p, origin: ORIGIN, tasks, ...extra });
    const sql = async (text: string, params: unknown[] = []) => (await t.pool.query(text, params)).rows as Array<Record<string, unknown>>;
    const count = async (p: string) => Number((await sql('SELECT count(*)::int AS n FROM tasks WHERE project_id = $1', [p]))[0]!.n);
    const edges = async (p: string) => Number((await sql('SELECT count(*)::int AS n FROM task_deps d JOIN tasks t ON t.id = d.task_id WHERE t.project_id = $1', [p]))[0]!.n);
    const created = async (p: string) => Number((await sql(`SELECT count(*)::int AS n FROM events WHERE project_id = $1 AND type = 'task.created'`, [p]))[0]!.n);
    const refused = async (p: string, tasks: unknown[], code: string, message?: RegExp) => {
      const before = { tasks: await count(p), events: await created(p) };
      const e = await bulk(p, tasks as BulkTaskInput[]).then(
        () => null,
        (err: unknown) => err,
      );
      expect(e).toMatchObject({ code, ...(message === undefined ? {} : { message: expect.stringMatching(message) }) });
      expect({ tasks: await count(p), events: await created(p) }).toEqual(before);
      return e as { code: string; message: string; details?: Record<string, unknown> };
    };

    it('creates tasks wired by local keys and existing ids, an epic with its children, in input order', async () => {
      const p = await project();
      const existing = await t.api.createTask({ project_id: p, title: 'Existing schema', origin: ORIGIN });
      const r = await bulk(p, [
        { key: 'auth', title: 'Auth', epic: true, depends_on: [existing.id] },
        { key: 'spec', title: 'Write the spec', parent_id: 'auth', priority: 'p0', done_when: 'spec.md exists', labels: ['docs', 'area:auth'], max_attempts: 5, context: { file: 'spec.md' } },
        { key: 'api', title: 'Build the API', parent_id: 'auth', depends_on: ['spec'] },
        { title: 'Unkeyed and free' },
        { key: 'ship', title: 'Ship it', depends_on: ['auth', 'api'], origin: { kind: 'human', id: 'ana' } },
      ]);
      expect(r.created).toBe(5);
      expect(r.tasks.map((x) => x.key)).toEqual(['auth', 'spec', 'api', undefined, 'ship']);
      expect(r.tasks.map((x) => x.status)).toEqual(['epic', 'blocked', 'blocked', 'pending', 'blocked']);
      const id = Object.fromEntries(r.tasks.filter((x) => x.key !== undefined).map((x) => [x.key!, x.id]));
      const spec = (await t.api.status({ project_id: p, task_id: id.spec! })).task;
      // A child inherits its epic's dependencies, as a single create under that epic does.
      expect(spec).toMatchObject({
        parent_id: id.auth, depends_on: [existing.id], priority: 'p0', done_when: 'spec.md exists', labels: ['area:auth', 'docs'],
        max_attempts: 5, context: { file: 'spec.md' }, unmet_deps: 1, origin: ORIGIN,
      });
      const api = (await t.api.status({ project_id: p, task_id: id.api! })).task;
      expect(api.depends_on).toEqual([existing.id, id.spec].sort());
      // Values rows share are sent once (recordsetJson): a row after one that differs keeps its own, the defaults.
      expect(api).toMatchObject({ priority: 'p1', done_when: null, labels: [], context: {}, origin: ORIGIN });
      expect(api.max_attempts).not.toBe(5);
      const ship = (await t.api.status({ project_id: p, task_id: id.ship! })).task;
      expect(ship).toMatchObject({ parent_id: null, unmet_deps: 2, origin: { kind: 'human', id: 'ana' } });
      // One event per task, no more.
      expect(await created(p)).toBe(6);
      // The existing task now has open work behind it: spec, api, ship (through the epic? no: through dependencies only).
      expect((await t.api.status({ project_id: p, task_id: existing.id })).task.weight).toBe(3);
      expect((await t.api.ready({ project_id: p })).map((x) => x.title).sort()).toEqual(['Existing schema', 'Unkeyed and free']);
      expect((await t.api.fsck({ project_id: p })).violations).toEqual([]);
      // Completing the existing task releases the children of the epic.
      const c = await t.api.claim({ project_id: p, agent_id: 'a', task_id: existing.id });
      if (!c.claimed) throw new Error('not claimed');
      await t.api.done({ project_id: p, task_id: existing.id, agent_id: 'a', lease_token: c.lease.token });
      expect((await t.api.ready({ project_id: p })).map((x) => x.id)).toContain(id.spec);
    });

    it('a child of an existing epic inherits its dependencies; a held epic holds the new child', async () => {
      const p = await project();
      const blocker = await t.api.createTask({ project_id: p, title: 'Blocker', origin: ORIGIN });
      const epic = await t.api.createTask({ project_id: p, title: 'Epic', origin: ORIGIN, epic: true, depends_on: [blocker.id] });
      await t.api.hold({ project_id: p, task_id: epic.id, reason: 'review' });
      const r = await bulk(p, [{ key: 'a', title: 'A', parent_id: epic.id }]);
      const a = (await t.api.status({ project_id: p, task_id: r.tasks[0]!.id })).task;
      expect(a).toMatchObject({ parent_id: epic.id, depends_on: [blocker.id], status: 'blocked', hold_reason: 'review' });
      expect(a.held_at).not.toBeNull();
    });

    it('refuses cycles inside the batch, naming them, and writes nothing', async () => {
      const p = await project();
      const e = await refused(p, [{ key: 'a', title: 'A', depends_on: ['b'] }, { key: 'b', title: 'B', depends_on: ['c'] }, { key: 'c', title: 'C', depends_on: ['a'] }], 'DEPENDENCY_CYCLE');
      expect(e.details!.cycle).toEqual(['a', 'b', 'c', 'a']);
      await refused(p, [{ key: 'self', title: 'S', depends_on: ['self'] }], 'DEPENDENCY_CYCLE');
      // An epic waits for its children: a child cannot depend on its epic, nor on what waits for the epic.
      await refused(p, [{ key: 'e', title: 'E', epic: true }, { key: 'c', title: 'C', parent_id: 'e', depends_on: ['e'] }], 'DEPENDENCY_CYCLE');
      await refused(p, [{ key: 'e', title: 'E', epic: true, depends_on: ['d'] }, { key: 'd', title: 'D', depends_on: ['c'] }, { key: 'c', title: 'C', parent_id: 'e' }], 'DEPENDENCY_CYCLE');
      await refused(p, [{ key: 'x', title: 'X', epic: true, parent_id: 'y' }, { key: 'y', title: 'Y', epic: true, parent_id: 'x' }], 'DEPENDENCY_CYCLE');
    });

    it('refuses a cycle through the existing graph and writes nothing', async () => {
      const p = await project();
      const epic = await t.api.createTask({ project_id: p, title: 'Epic', origin: ORIGIN, epic: true });
      const after = await t.api.createTask({ project_id: p, title: 'After the epic', origin: ORIGIN, depends_on: [epic.id] });
      // The new child makes the epic wait for it; it waits for `after`, which waits for the epic.
      const e = await refused(p, [{ key: 'ok', title: 'Fine' }, { key: 'c', title: 'C', parent_id: epic.id, depends_on: [after.id] }], 'DEPENDENCY_CYCLE');
      expect(e.details!.cycle).toEqual(expect.arrayContaining(['c', after.id, epic.id]));
      // Through an epic of the batch under the existing one.
      await refused(p, [{ key: 'sub', title: 'Sub', epic: true, parent_id: epic.id }, { key: 'c', title: 'C', parent_id: 'sub', depends_on: [after.id] }], 'DEPENDENCY_CYCLE');
      expect(await edges(p)).toBe(1);
    });

    it('refuses bad items with coded errors naming the item, and writes nothing', async () => {
      const p = await project();
      const plain = await t.api.createTask({ project_id: p, title: 'Not an epic', origin: ORIGIN });
      let e = await refused(p, [{ key: 'a', title: 'A' }, { key: 'b', title: 'B', depends_on: ['nope'] }], 'DEPENDENCY_NOT_FOUND', /b -> nope/);
      e = await refused(p, [{ key: 'a', title: 'A' }, { key: 'b', title: 'B', depends_on: ['loom-00000000'] }], 'DEPENDENCY_NOT_FOUND', /tasks\[1\] \(b\) -> loom-00000000/);
      e = await refused(p, [{ key: 'a', title: 'A' }, { key: 'b', title: 'B', parent_id: plain.id }], 'VALIDATION_FAILED', /tasks\[1\] \(b\).*not an epic/);
      expect(e.details).toMatchObject({ index: 1, key: 'b' });
      e = await refused(p, [{ key: 'a', title: 'A' }, { key: 'b', title: 'B', parent_id: 'a' }], 'VALIDATION_FAILED', /tasks\[1\] \(b\): parent a is not an epic/);
      await refused(p, [{ key: 'a', title: 'A' }, { key: 'b', title: 'B', parent_id: 'loom-00000000' }], 'TASK_NOT_FOUND', /tasks\[1\] \(b\)/);
      await refused(p, [{ key: 'a', title: 'A' }, { key: 'a', title: 'B' }], 'VALIDATION_FAILED', /duplicate batch keys: a/);
      await refused(p, [{ key: 'loom-0000abcd', title: 'A' }], 'VALIDATION_FAILED', /tasks\[0\]: key loom-0000abcd is shaped like a task id/);
      // Hostile input: the schema and the storable-text check name the field and position.
      await refused(p, [{ title: 'ok' }, { title: 'nul \u0000 here' }], 'VALIDATION_FAILED', /tasks\[1\]\.title.*NUL/);
      await refused(p, [{ title: 'ok' }, { title: 'lone \ud800' }], 'VALIDATION_FAILED', /surrogate/);
      await refused(p, [{ title: 'ok' }, JSON.parse('{"title":"x","__proto__":{"epic":true}}')], 'VALIDATION_FAILED', /tasks\.1: unknown field "__proto__"/);
      await refused(p, [{ title: 'ok' }, { title: 'x', key: '../etc' }], 'VALIDATION_FAILED', /tasks\.1\.key/);
      await refused(p, [{ title: 'x'.repeat(501) }], 'VALIDATION_FAILED', /tasks\.0\.title/);
      let deep: Record<string, unknown> = {};
      for (let i = 0; i < 100; i++) deep = { d: deep };
      await refused(p, [{ title: 'deep', context: deep }], 'VALIDATION_FAILED', /nested deeper/);
      await refused(p, [{ title: 'big', context: { blob: 'x'.repeat(70 * 1024) } }], 'VALIDATION_FAILED', /tasks\[0\]\.context is \d+ bytes/);
      await refused(p, [], 'VALIDATION_FAILED');
      const tooMany = await refused(p, Array.from({ length: MAX_BATCH_TASKS + 1 }, () => ({ title: 't' })), 'VALIDATION_FAILED', /at most 20000/);
      expect(tooMany).toMatchObject({ hint: expect.stringContaining('split') });
      // Thousands of bad items: the message names the first few, not all.
      const many = await refused(p, Array.from({ length: 5000 }, () => ({ title: '' })), 'VALIDATION_FAILED', /and 4980 more/);
      expect(many.message.length).toBeLessThan(4000);
    });

    it('is one transaction: a failure injected after the tasks and edges are written leaves nothing', async () => {
      const p = await project();
      const tasks: BulkTaskInput[] = Array.from({ length: 300 }, (_, i) => ({ key: `t${i}`, title: i === 200 ? 'boom' : `task ${i}`, depends_on: i === 0 ? [] : [`t${i - 1}`] }));
      // The events are written last, in one statement: the 201st task.created fails it.
      await t.pool.query(`CREATE OR REPLACE FUNCTION loom_test_fail_bulk() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`);
      await t.pool.query(`CREATE TRIGGER loom_test_fail_bulk BEFORE INSERT ON events FOR EACH ROW WHEN (NEW.type = 'task.created' AND NEW.payload->>'title' = 'boom') EXECUTE FUNCTION loom_test_fail_bulk()`);
      try {
        await expect(bulk(p, tasks)).rejects.toThrow();
      } finally {
        await t.pool.query('DROP TRIGGER loom_test_fail_bulk ON events');
      }
      expect(await count(p)).toBe(0);
      expect(await edges(p)).toBe(0);
      expect(await created(p)).toBe(0);
      const r = await bulk(p, tasks);
      expect(r).toMatchObject({ created: 300, edges: 299 });
      expect(await count(p)).toBe(300);
    });

    it('creates 10,000 tasks in one call, with a fan-in of 1,000', async () => {
      const p = await project();
      const tasks: BulkTaskInput[] = [];
      for (let i = 0; i < 9_999; i++) tasks.push({ key: `t${i}`, title: `task ${i}`, depends_on: i % 10 === 0 ? [] : [`t${i - 1}`] });
      tasks.push({ key: 'gather', title: 'Gather', depends_on: Array.from({ length: 1000 }, (_, i) => `t${i * 10 + 8}`) });
      const r = await bulk(p, tasks);
      expect(r.created).toBe(10_000);
      expect(r.edges).toBe(8_999 + 1_000);
      expect(r.tasks.map((x) => x.key)).toEqual(tasks.map((x) => x.key));
      expect(await count(p)).toBe(10_000);
      expect(await created(p)).toBe(10_000);
      const gather = (await t.api.status({ project_id: p, task_id: r.tasks[9_999]!.id })).task;
      expect(gather).toMatchObject({ status: 'blocked', unmet_deps: 1000 });
      // The head of each chain has its 9 followers and the gather behind it.
      expect((await t.api.status({ project_id: p, task_id: r.tasks[0]!.id })).task.weight).toBe(10);
      expect((await t.api.ready({ project_id: p, limit: 1000 })).length).toBe(1000);
      const report = await t.api.fsck({ project_id: p });
      expect(report.violations).toEqual([]);
    });
  });
}
