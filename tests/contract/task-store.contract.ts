import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceOptions } from '../../src/app/service-factory.js';
import { LoomError } from '../../src/domain/errors.js';
import type { EventType } from '../../src/domain/events.js';
import { compareReady, criticalPathWeights, type GraphView } from '../../src/domain/graph.js';
import { TASK_ID_PATTERN, type Priority, type Task } from '../../src/domain/task.js';
import type { CreateTaskInput, LoomApi } from '../../src/ports/loom-api.js';

/**
 * The contract every store behind the LoomApi keeps: each adapter's test file
 * opens the API over its own database (real Postgres, embedded PGlite) and runs
 * this suite. Every test works in a project of its own, so one database serves
 * the whole file. State is read through the API; SQL on `pool` only proves that
 * a refused call wrote nothing.
 */
export interface ContractTarget {
  api: LoomApi;
  pool: pg.Pool;
  close(): Promise<void>;
}

/**
 * Build the service under test with these options: retries come due in 1-2 s,
 * so the suite can wait for one instead of faking time, and the checks made
 * before one comes due (several calls in a row) have a second for them even on
 * a loaded machine.
 */
/**
 * The real time, but never the same millisecond twice: tasks a test creates
 * one after another are ordered by age, as tasks created a moment apart are
 * (two creates in one millisecond would tie on age and fall back to their
 * random ids). It runs ahead of the wall clock only while calls outpace
 * milliseconds: a few ms in this suite.
 */
function monotonicClock(): { now(): Date } {
  let last = 0;
  return {
    now() {
      last = Math.max(Date.now(), last + 1);
      return new Date(last);
    },
  };
}

export const CONTRACT_SERVICE_OPTIONS = {
  settings: { retry: { base_ms: 2000, factor: 1, max_ms: 2000 } },
  clock: monotonicClock(),
} satisfies ServiceOptions;

const ORIGIN = { kind: 'test', id: 'contract-suite' };
const AGENT = 'agent-1';
const UNKNOWN_ID = 'loom-00000000';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** mulberry32: a small seeded PRNG, so a failing random graph can be replayed. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function taskStoreContract(name: string, open: () => Promise<ContractTarget>): void {
  describe(`task store contract: ${name}`, () => {
    let target: ContractTarget | undefined;
    const api = (): LoomApi => target!.api;

    beforeAll(async () => {
      target = await open();
    });
    afterAll(async () => {
      await target?.close();
    });

    // ---- helpers -------------------------------------------------------

    let projects = 0;
    const newProject = async (): Promise<string> => (await api().createProject({ name: `contract ${++projects}` })).id;

    const create = (p: string, title: string, extra: Partial<CreateTaskInput> = {}): Promise<Task> =>
      api().createTask({ project_id: p, title, origin: ORIGIN, ...extra });

    const get = async (p: string, id: string): Promise<Task> => (await api().status({ project_id: p, task_id: id })).task;

    const readyIds = async (p: string, extra: { limit?: number; priority?: Priority } = {}): Promise<string[]> =>
      (await api().ready({ project_id: p, limit: 1000, ...extra })).map((t) => t.id);

    const claim = async (p: string, id: string, lease_seconds?: number) => {
      const r = await api().claim({ project_id: p, agent_id: AGENT, task_id: id, ...(lease_seconds === undefined ? {} : { lease_seconds }) });
      if (!r.claimed) throw new Error(`expected to claim ${id}, got ${r.reason} (${r.task?.status})`);
      return r;
    };

    const complete = async (p: string, id: string, output?: Record<string, unknown>) => {
      const c = await claim(p, id);
      return api().done({ project_id: p, task_id: id, agent_id: AGENT, lease_token: c.lease.token, ...(output === undefined ? {} : { output }) });
    };

    const allEvents = (p: string, since = 0) => api().events({ project_id: p, since, limit: 10_000 });
    const lastEventId = async (p: string): Promise<number> => (await allEvents(p)).reduce((m, e) => Math.max(m, e.id), 0);
    const typesSince = async (p: string, since: number, taskId?: string): Promise<EventType[]> =>
      (await allEvents(p, since)).filter((e) => taskId === undefined || e.task_id === taskId).map((e) => e.type);

    /** Everything a project holds in the database: equal before and after means nothing was written. */
    const footprint = async (p: string) => {
      const r = await target!.pool.query(
        `SELECT
           (SELECT count(*)::int FROM events WHERE project_id = $1) AS events,
           (SELECT count(*)::int FROM escalations WHERE project_id = $1) AS escalations,
           (SELECT count(*)::int FROM task_deps d JOIN tasks t ON t.id = d.task_id WHERE t.project_id = $1) AS deps,
           (SELECT coalesce(json_agg(json_build_object(
                     'id', id, 'status', status, 'revision', revision, 'title', title, 'priority', priority,
                     'unmet', unmet_deps, 'weight', weight, 'blocked', blocked_reason, 'lease', lease_token,
                     'expires', lease_expires_at, 'attempts', attempts, 'output', output, 'labels', labels) ORDER BY id), '[]'::json)
              FROM tasks WHERE project_id = $1) AS tasks`,
        [p],
      );
      return r.rows[0] as { events: number; escalations: number; deps: number; tasks: unknown[] };
    };

    const diamond = async (p: string) => {
      const a = await create(p, 'A');
      const b = await create(p, 'B', { depends_on: [a.id] });
      const c = await create(p, 'C', { depends_on: [a.id] });
      const d = await create(p, 'D', { depends_on: [b.id, c.id] });
      return { a, b, c, d };
    };

    // ---- create --------------------------------------------------------

    describe('createTask', () => {
      it('starts a task pending, blocked behind open dependencies, or as an epic', async () => {
        const p = await newProject();
        const a = await create(p, 'A');
        const b = await create(p, 'B', { depends_on: [a.id], priority: 'p0', context: { file: 'x.ts' }, done_when: 'tests pass' });
        const e = await create(p, 'E', { epic: true });

        expect(a).toMatchObject({ project_id: p, title: 'A', status: 'pending', blocked_reason: null, unmet_deps: 0, priority: 'p1', attempts: 0, origin: ORIGIN, depends_on: [] });
        expect(a.id).toMatch(TASK_ID_PATTERN);
        expect(b).toMatchObject({ status: 'blocked', blocked_reason: 'dependencies', unmet_deps: 1, depends_on: [a.id], priority: 'p0', context: { file: 'x.ts' }, done_when: 'tests pass' });
        expect(e).toMatchObject({ status: 'epic', unmet_deps: 0 });
        // what the API returned is what was stored
        expect(await get(p, b.id)).toMatchObject({ status: 'blocked', depends_on: [a.id], context: { file: 'x.ts' } });
        expect(await readyIds(p)).toEqual([a.id]);
        expect((await allEvents(p)).filter((ev) => ev.type === 'task.created').map((ev) => ev.task_id)).toEqual([a.id, b.id, e.id]);
      });

      it('starts a task pending when its dependencies are already done', async () => {
        const p = await newProject();
        const a = await create(p, 'A');
        await complete(p, a.id);
        const b = await create(p, 'B', { depends_on: [a.id] });
        expect(b).toMatchObject({ status: 'pending', unmet_deps: 0, depends_on: [a.id] });
        expect(await readyIds(p)).toEqual([b.id]);
      });

      it('refuses an unknown dependency with DEPENDENCY_NOT_FOUND and writes nothing', async () => {
        const p = await newProject();
        const a = await create(p, 'A');
        const before = await footprint(p);
        await expect(create(p, 'B', { depends_on: [a.id, UNKNOWN_ID] })).rejects.toMatchObject({
          code: 'DEPENDENCY_NOT_FOUND',
          details: { task_ids: [UNKNOWN_ID] },
        });
        expect(await footprint(p)).toEqual(before);
      });

      it('refuses a dependency on a task of another project', async () => {
        const p = await newProject();
        const other = await newProject();
        const foreign = await create(other, 'foreign');
        const before = await footprint(p);
        await expect(create(p, 'B', { depends_on: [foreign.id] })).rejects.toMatchObject({ code: 'DEPENDENCY_NOT_FOUND' });
        expect(await footprint(p)).toEqual(before);
      });

      it('accepts only an epic of the project as parent', async () => {
        const p = await newProject();
        const plain = await create(p, 'plain task');
        const before = await footprint(p);
        await expect(create(p, 'child', { parent_id: plain.id })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await expect(create(p, 'child', { parent_id: UNKNOWN_ID })).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
        expect(await footprint(p)).toEqual(before);

        const epic = await create(p, 'epic', { epic: true });
        const child = await create(p, 'child', { parent_id: epic.id });
        expect(child).toMatchObject({ parent_id: epic.id, status: 'pending' });
        expect((await api().status({ project_id: p, task_id: epic.id })).children).toEqual([child.id]);
      });

      it("blocks the children of an epic on the epic's own dependencies until they are done", async () => {
        const p = await newProject();
        const x = await create(p, 'X');
        const epic = await create(p, 'epic', { epic: true, depends_on: [x.id] });
        const own = await create(p, 'own dep');
        const child = await create(p, 'child', { parent_id: epic.id });
        const child2 = await create(p, 'child 2', { parent_id: epic.id, depends_on: [own.id] });

        expect(child).toMatchObject({ status: 'blocked', blocked_reason: 'dependencies', unmet_deps: 1, depends_on: [x.id] });
        expect(child2).toMatchObject({ status: 'blocked', unmet_deps: 2, depends_on: [x.id, own.id].sort() });
        expect(await readyIds(p)).not.toContain(child.id);
        await expect(api().claim({ project_id: p, agent_id: AGENT, task_id: child.id })).resolves.toMatchObject({ claimed: false, reason: 'not_ready' });

        const since = await lastEventId(p);
        const done = await complete(p, x.id);
        expect(done.unblocked).toEqual([child.id]);
        expect(await get(p, child.id)).toMatchObject({ status: 'pending', unmet_deps: 0 });
        expect(await get(p, child2.id)).toMatchObject({ status: 'blocked', unmet_deps: 1 });
        expect(await readyIds(p)).toContain(child.id);
        expect((await allEvents(p, since)).filter((e) => e.type === 'task.unblocked').map((e) => e.task_id)).toEqual([child.id]);
      });

      it('refuses a child that would wait on a dependent of its own epic (a deadlock) with DEPENDENCY_CYCLE', async () => {
        const p = await newProject();
        const epic = await create(p, 'epic', { epic: true });
        const x = await create(p, 'X waits for the whole epic', { depends_on: [epic.id] });
        const before = await footprint(p);
        // X waits for the epic, the epic for its children, and this child for X: nothing could ever run
        await expect(create(p, 'child', { parent_id: epic.id, depends_on: [x.id] })).rejects.toMatchObject({ code: 'DEPENDENCY_CYCLE' });
        expect(await footprint(p)).toEqual(before);
      });

      it('refuses a project that does not exist with PROJECT_NOT_FOUND and writes nothing', async () => {
        const missing = `missing-${Date.now()}`;
        await expect(create(missing, 'A')).rejects.toMatchObject({ code: 'PROJECT_NOT_FOUND' });
        await expect(api().ready({ project_id: missing })).rejects.toMatchObject({ code: 'PROJECT_NOT_FOUND' });
        const r = await target!.pool.query(
          `SELECT (SELECT count(*)::int FROM tasks WHERE project_id = $1) + (SELECT count(*)::int FROM events WHERE project_id = $1)
                + (SELECT count(*)::int FROM projects WHERE id = $1) AS n`,
          [missing],
        );
        expect(r.rows[0].n).toBe(0);
      });

      const badInputs: Array<[string, Record<string, unknown>]> = [
        ['an empty title', { title: '' }],
        ['a title that is not a string', { title: 42 }],
        ['an unknown field', { colour: 'blue' }],
        ['a malformed dependency id', { depends_on: ['abc'] }],
        ['dependencies that are not a list', { depends_on: 'loom-0000000a' }],
        ['a malformed parent id', { parent_id: 'epic-1' }],
        ['an unknown priority', { priority: 'p9' }],
        ['max_attempts below 1', { max_attempts: 0 }],
        ['a fractional max_attempts', { max_attempts: 1.5 }],
        ['a context that is not an object', { context: 'text' }],
        ['an origin without an id', { origin: { kind: 'test' } }],
        ['no origin', { origin: undefined }],
        ['an epic flag that is not a boolean', { epic: 'yes' }],
      ];
      it.each(badInputs)('refuses %s with VALIDATION_FAILED and writes nothing', async (_what, patch) => {
        const p = await newProject();
        const a = await create(p, 'A');
        const before = await footprint(p);
        const input: Record<string, unknown> = { project_id: p, title: 'T', origin: ORIGIN, depends_on: [a.id], ...patch };
        for (const k of Object.keys(input)) if (input[k] === undefined) delete input[k];
        await expect(api().createTask(input as unknown as CreateTaskInput)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        expect(await footprint(p)).toEqual(before);
      });
    });

    // ---- update --------------------------------------------------------

    describe('updateTask', () => {
      it('changes fields and records a task.updated event', async () => {
        const p = await newProject();
        const a = await create(p, 'A');
        const since = await lastEventId(p);
        const updated = await api().updateTask({ project_id: p, task_id: a.id, title: 'A, renamed', priority: 'p0', context: { k: 1 }, done_when: 'it works' });
        expect(updated).toMatchObject({ title: 'A, renamed', priority: 'p0', context: { k: 1 }, done_when: 'it works', status: 'pending' });
        expect(updated.revision).toBeGreaterThan(a.revision);
        expect(await get(p, a.id)).toMatchObject({ title: 'A, renamed', priority: 'p0', context: { k: 1 }, done_when: 'it works' });
        const events = await allEvents(p, since);
        expect(events.map((e) => e.type)).toEqual(['task.updated']);
        // it names the fields that changed, and only those
        expect([...(events[0]!.payload.changed as string[])].sort()).toEqual(['context', 'done_when', 'priority', 'title']);

        await api().updateTask({ project_id: p, task_id: a.id, done_when: null });
        expect((await get(p, a.id)).done_when).toBeNull();
      });

      it('re-orders ready work when a priority changes', async () => {
        const p = await newProject();
        await create(p, 'A');
        await create(p, 'B');
        // Two creates in one millisecond tie on age and fall back to id order: take the order the store gives.
        const [first, second] = await readyIds(p);
        await api().updateTask({ project_id: p, task_id: second!, priority: 'p0' });
        expect(await readyIds(p)).toEqual([second, first]);
      });

      it('refuses a dependency change that closes a cycle with DEPENDENCY_CYCLE naming it, and changes nothing', async () => {
        const p = await newProject();
        const a = await create(p, 'A');
        const b = await create(p, 'B', { depends_on: [a.id] });
        const c = await create(p, 'C', { depends_on: [b.id] });
        const before = await footprint(p);
        await expect(api().updateTask({ project_id: p, task_id: a.id, depends_on: [c.id], title: 'renamed too' })).rejects.toMatchObject({
          code: 'DEPENDENCY_CYCLE',
          details: { cycle: [a.id, c.id, b.id, a.id] },
        });
        expect(await footprint(p)).toEqual(before);
        expect(await get(p, a.id)).toMatchObject({ title: 'A', status: 'pending', depends_on: [] });
      });

      it('treats a dependency on itself as a cycle', async () => {
        const p = await newProject();
        const a = await create(p, 'A');
        const before = await footprint(p);
        await expect(api().updateTask({ project_id: p, task_id: a.id, depends_on: [a.id] })).rejects.toMatchObject({
          code: 'DEPENDENCY_CYCLE',
          details: { cycle: [a.id, a.id] },
        });
        expect(await footprint(p)).toEqual(before);
      });

      it('refuses an unknown dependency on update and changes nothing', async () => {
        const p = await newProject();
        const a = await create(p, 'A');
        const before = await footprint(p);
        await expect(api().updateTask({ project_id: p, task_id: a.id, depends_on: [UNKNOWN_ID] })).rejects.toMatchObject({ code: 'DEPENDENCY_NOT_FOUND' });
        expect(await footprint(p)).toEqual(before);
      });

      it('blocks a pending task when it gains an open dependency, and unblocks it when it loses it', async () => {
        const p = await newProject();
        const a = await create(p, 'A');
        const b = await create(p, 'B');
        const doneDep = await create(p, 'done dep');
        await complete(p, doneDep.id);

        let since = await lastEventId(p);
        const blocked = await api().updateTask({ project_id: p, task_id: b.id, depends_on: [a.id] });
        expect(blocked).toMatchObject({ status: 'blocked', blocked_reason: 'dependencies', unmet_deps: 1, depends_on: [a.id] });
        expect(await readyIds(p)).toEqual([a.id]);
        expect(await typesSince(p, since)).toEqual(['task.updated', 'task.blocked']);
        // a's critical-path weight now counts b
        expect((await get(p, a.id)).weight).toBe(1);

        since = await lastEventId(p);
        const freed = await api().updateTask({ project_id: p, task_id: b.id, depends_on: [doneDep.id] });
        expect(freed).toMatchObject({ status: 'pending', blocked_reason: null, unmet_deps: 0, depends_on: [doneDep.id] });
        expect(await readyIds(p)).toEqual([a.id, b.id]);
        expect(await typesSince(p, since)).toEqual(['task.updated', 'task.unblocked']);
        expect((await get(p, a.id)).weight).toBe(0);
      });

      it("re-wires an epic's open children when the epic's dependencies change", async () => {
        const p = await newProject();
        const x = await create(p, 'X');
        const epic = await create(p, 'epic', { epic: true });
        const child = await create(p, 'child', { parent_id: epic.id });
        expect(child.status).toBe('pending');
        await api().updateTask({ project_id: p, task_id: epic.id, depends_on: [x.id] });
        expect(await get(p, child.id)).toMatchObject({ status: 'blocked', blocked_reason: 'dependencies', depends_on: [x.id], unmet_deps: 1 });
        expect(await readyIds(p)).toEqual([x.id]);
        await complete(p, x.id);
        expect(await get(p, child.id)).toMatchObject({ status: 'pending', unmet_deps: 0 });
      });

      it('refuses to change a finished task with INVALID_TRANSITION', async () => {
        const p = await newProject();
        const a = await create(p, 'A');
        await complete(p, a.id);
        const before = await footprint(p);
        await expect(api().updateTask({ project_id: p, task_id: a.id, title: 'again' })).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });
        expect(await footprint(p)).toEqual(before);
      });
    });

    // ---- ready order ---------------------------------------------------

    describe('listTasks', () => {
      it('lists the tasks oldest first, narrowed by statuses, title text (any case, wildcards literal) and epic, up to the limit', async () => {
        const p = await newProject();
        const a = await create(p, 'Fix LOGIN form');
        const b = await create(p, 'login: 50% off_banner', { depends_on: [a.id] });
        const epic = await create(p, 'Epic', { epic: true });
        const child = await create(p, 'child of the epic', { parent_id: epic.id });
        const other = await newProject();
        await create(other, 'login elsewhere');
        const ids = async (extra: Partial<Parameters<LoomApi['listTasks']>[0]>) => (await api().listTasks({ project_id: p, ...extra })).map((t) => t.id);

        expect(await ids({})).toEqual([a.id, b.id, epic.id, child.id]);
        expect(await ids({ limit: 2 })).toEqual([a.id, b.id]);
        expect(await ids({ statuses: ['blocked', 'epic'] })).toEqual([b.id, epic.id]);
        expect(await ids({ search: 'login' })).toEqual([a.id, b.id]);
        expect(await ids({ search: '50% off_' })).toEqual([b.id]);
        // % and _ are the text typed, not LIKE wildcards; neither is a backslash
        expect(await ids({ search: 'x%' })).toEqual([]);
        expect(await ids({ search: 'fix_login' })).toEqual([]);
        expect(await ids({ search: '\\' })).toEqual([]);
        expect(await ids({ parent_id: epic.id })).toEqual([child.id]);
        expect(await ids({ parent_id: epic.id, statuses: ['done'] })).toEqual([]);
        const [listed] = await api().listTasks({ project_id: p, search: '50%' });
        expect(listed).toMatchObject({ id: b.id, status: 'blocked', depends_on: [a.id] });
      });

      it('refuses a bad filter with VALIDATION_FAILED', async () => {
        const p = await newProject();
        for (const bad of [{ statuses: ['open'] }, { limit: 1001 }, { limit: 0 }, { search: '' }, { search: 'a\u0000b' }, { search: 'x'.repeat(501) }, { parent_id: 'nope' }]) {
          await expect(api().listTasks({ project_id: p, ...(bad as object) })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        }
      });
    });

    describe('labels', () => {
      it('creates a task with its labels (sorted), in the task.created event too, and lists or readies by ALL given labels', async () => {
        const p = await newProject();
        const a = await create(p, 'A', { labels: ['ui', 'area:cli'] });
        const b = await create(p, 'B', { labels: ['area:cli'] });
        const c = await create(p, 'C');
        const blocked = await create(p, 'D', { labels: ['area:cli', 'ui'], depends_on: [c.id] });
        expect(a.labels).toEqual(['area:cli', 'ui']);
        expect(c.labels).toEqual([]);
        expect((await get(p, a.id)).labels).toEqual(['area:cli', 'ui']);
        const created = (await allEvents(p)).find((e) => e.type === 'task.created' && e.task_id === a.id);
        expect(created?.payload).toMatchObject({ labels: ['area:cli', 'ui'] });
        const listed = async (labels: string[]) => (await api().listTasks({ project_id: p, labels })).map((t) => t.id);
        expect(await listed(['area:cli'])).toEqual([a.id, b.id, blocked.id]);
        expect(await listed(['ui', 'area:cli'])).toEqual([a.id, blocked.id]);
        expect(await listed(['nope'])).toEqual([]);
        expect(await listed(['area:cli', 'nope'])).toEqual([]);
        expect((await api().listTasks({ project_id: p, labels: ['ui'], statuses: ['blocked'] })).map((t) => t.id)).toEqual([blocked.id]);
        expect((await api().listTasks({ project_id: p })).find((t) => t.id === b.id)?.labels).toEqual(['area:cli']);
        expect(await readyIds(p)).toHaveLength(3);
        expect((await api().ready({ project_id: p, labels: ['area:cli'] })).map((t) => t.id).sort()).toEqual([a.id, b.id].sort());
        expect((await api().ready({ project_id: p, labels: ['ui', 'area:cli'] })).map((t) => t.id)).toEqual([a.id]);
        expect(await api().ready({ project_id: p, labels: ['ui', 'area:cli'], priority: 'p0' })).toEqual([]);
      });

      it('updates labels: replaces them, or adds and removes some (removal wins), with labels in the task.updated event', async () => {
        const p = await newProject();
        const a = await create(p, 'A', { labels: ['one', 'two'] });
        const since = await lastEventId(p);
        const added = await api().updateTask({ project_id: p, task_id: a.id, add_labels: ['three', 'one'] });
        expect(added.labels).toEqual(['one', 'three', 'two']);
        const removed = await api().updateTask({ project_id: p, task_id: a.id, remove_labels: ['two', 'absent'], add_labels: ['four', 'two'] });
        expect(removed.labels).toEqual(['four', 'one', 'three']);
        const replaced = await api().updateTask({ project_id: p, task_id: a.id, labels: ['z'] });
        expect(replaced.labels).toEqual(['z']);
        expect((await get(p, a.id)).labels).toEqual(['z']);
        const cleared = await api().updateTask({ project_id: p, task_id: a.id, labels: [] });
        expect(cleared.labels).toEqual([]);
        const updates = (await allEvents(p, since)).filter((e) => e.type === 'task.updated');
        expect(updates.map((e) => e.payload)).toEqual([
          { changed: ['labels'], labels: ['one', 'three', 'two'] },
          { changed: ['labels'], labels: ['four', 'one', 'three'] },
          { changed: ['labels'], labels: ['z'] },
          { changed: ['labels'], labels: [] },
        ]);
        // Removing a label the task has not, or adding one it has, changes nothing and says so in no event.
        const quiet = await lastEventId(p);
        await api().updateTask({ project_id: p, task_id: a.id, remove_labels: ['gone'] });
        expect(await typesSince(p, quiet)).toEqual([]);
        // Labels with a dependency edit, in one update.
        const b = await create(p, 'B');
        const both = await api().updateTask({ project_id: p, task_id: a.id, add_depends_on: [b.id], add_labels: ['x'] });
        expect(both).toMatchObject({ labels: ['x'], depends_on: [b.id], status: 'blocked' });
      });

      it('refuses bad labels with VALIDATION_FAILED naming the field, writing nothing', async () => {
        const p = await newProject();
        const a = await create(p, 'A', { labels: ['keep'] });
        const before = await footprint(p);
        const many = Array.from({ length: 21 }, (_, i) => `l${i}`);
        const bads: Array<[Record<string, unknown>, string]> = [
          [{ labels: ['Bug'] }, 'labels'],
          [{ labels: ['a\u0000b'] }, 'labels'],
          [{ labels: ['x'.repeat(65)] }, 'labels'],
          [{ labels: many }, 'labels'],
          [{ labels: ['__proto__'] }, 'labels'],
          [{ labels: ['dup', 'dup'] }, 'labels'],
          [{ labels: [''] }, 'labels'],
          [{ labels: ['-lead'] }, 'labels'],
          [{ labels: 'bug' }, 'labels'],
          [{ add_labels: ['Bug'] }, 'add_labels'],
          [{ remove_labels: [] }, 'remove_labels'],
          [{ labels: ['a'], add_labels: ['b'] }, 'labels'],
          [{ labels: ['a'], remove_labels: ['b'] }, 'labels'],
        ];
        for (const [bad, field] of bads) {
          const create$ = api().createTask({ project_id: p, title: 'T', origin: ORIGIN, ...bad } as CreateTaskInput);
          const update$ = api().updateTask({ project_id: p, task_id: a.id, ...bad });
          if (!('add_labels' in bad) && !('remove_labels' in bad)) {
            await expect(create$).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('labels') });
          } else {
            await expect(create$).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
          }
          await expect(update$).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining(field) });
        }
        await expect(api().listTasks({ project_id: p, labels: ['NO'] })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('labels') });
        await expect(api().ready({ project_id: p, labels: [] })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('labels') });
        // 20 labels is the most a task holds, also when added to the ones it has.
        const full = Array.from({ length: 20 }, (_, i) => `l${i}`);
        await expect(api().updateTask({ project_id: p, task_id: a.id, add_labels: full })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('labels') });
        expect(await footprint(p)).toEqual(before);
        expect((await api().updateTask({ project_id: p, task_id: a.id, labels: full })).labels).toHaveLength(20);
      });
    });

    describe('dependency edits (add_depends_on, remove_depends_on)', () => {
      it('adds edges to those a task has and removes some, blocking and unblocking it, with the events of a dependency change', async () => {
        const p = await newProject();
        const a = await create(p, 'A');
        const b = await create(p, 'B');
        const c = await create(p, 'C', { depends_on: [a.id] });
        let since = await lastEventId(p);
        const added = await api().updateTask({ project_id: p, task_id: c.id, add_depends_on: [b.id, a.id] });
        expect(added).toMatchObject({ status: 'blocked', unmet_deps: 2, depends_on: [a.id, b.id].sort() });
        expect(await typesSince(p, since)).toEqual(['task.updated']);
        expect((await get(p, b.id)).weight).toBe(1);

        await complete(p, a.id);
        since = await lastEventId(p);
        const removed = await api().updateTask({ project_id: p, task_id: c.id, remove_depends_on: [b.id] });
        expect(removed).toMatchObject({ status: 'pending', blocked_reason: null, unmet_deps: 0, depends_on: [a.id] });
        expect(await typesSince(p, since)).toEqual(['task.updated', 'task.unblocked']);
        expect(await readyIds(p)).toContain(c.id);
        expect((await get(p, b.id)).weight).toBe(0);
        // removing an edge that is not there, or adding one that is, writes nothing (no event either)
        const before = await footprint(p);
        expect((await api().updateTask({ project_id: p, task_id: c.id, remove_depends_on: [b.id] })).depends_on).toEqual([a.id]);
        expect((await api().updateTask({ project_id: p, task_id: c.id, add_depends_on: [a.id] })).depends_on).toEqual([a.id]);
        expect(await footprint(p)).toEqual(before);
        // with another change as well, that change is made
        expect(await api().updateTask({ project_id: p, task_id: c.id, add_depends_on: [a.id], title: 'C2' })).toMatchObject({ title: 'C2', depends_on: [a.id] });
      });

      it('refuses an added edge that closes a cycle, or an unknown one, and writes nothing', async () => {
        const p = await newProject();
        const a = await create(p, 'A');
        const b = await create(p, 'B', { depends_on: [a.id] });
        const before = await footprint(p);
        await expect(api().updateTask({ project_id: p, task_id: a.id, add_depends_on: [b.id] })).rejects.toMatchObject({
          code: 'DEPENDENCY_CYCLE',
          details: { cycle: [a.id, b.id, a.id] },
        });
        await expect(api().updateTask({ project_id: p, task_id: b.id, add_depends_on: [UNKNOWN_ID] })).rejects.toMatchObject({ code: 'DEPENDENCY_NOT_FOUND' });
        await expect(api().updateTask({ project_id: p, task_id: UNKNOWN_ID, add_depends_on: [a.id] })).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
        await expect(api().updateTask({ project_id: p, task_id: b.id, depends_on: [], remove_depends_on: [a.id] })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await expect(api().updateTask({ project_id: p, task_id: b.id, add_depends_on: [] })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        expect(await footprint(p)).toEqual(before);
      });

      it("keeps an edge a child inherits from its epic when asked to remove it", async () => {
        const p = await newProject();
        const x = await create(p, 'X');
        const epic = await create(p, 'epic', { epic: true, depends_on: [x.id] });
        const child = await create(p, 'child', { parent_id: epic.id });
        const after = await api().updateTask({ project_id: p, task_id: child.id, remove_depends_on: [x.id] });
        expect(after).toMatchObject({ status: 'blocked', depends_on: [x.id] });
      });

      it('status lists dependencies and dependents with their status and title, and events filter by task', async () => {
        const p = await newProject();
        const { a, b, c, d } = await diamond(p);
        const detail = await api().status({ project_id: p, task_id: b.id });
        expect(detail.dependency_tasks).toEqual([{ id: a.id, title: 'A', status: 'pending', priority: a.priority, unmet_deps: 0, blocked_reason: null }]);
        expect(detail.dependent_tasks).toEqual([{ id: d.id, title: 'D', status: 'blocked', priority: d.priority, unmet_deps: 2, blocked_reason: 'dependencies' }]);
        await api().updateTask({ project_id: p, task_id: c.id, title: 'C2' });
        const history = await api().events({ project_id: p, task_id: c.id });
        expect(history.map((e) => e.type)).toEqual(['task.created', 'task.updated']);
        expect(history.every((e) => e.task_id === c.id)).toBe(true);
      });
    });

    describe('ready', () => {
      it('orders by priority, then critical-path weight (transitive, open dependents), then age', async () => {
        const p = await newProject();
        const a = await create(p, 'A p1, one dependent');
        const b = await create(p, 'B p1, newer, a chain of two dependents');
        const f = await create(p, 'F p1, newest, no dependents');
        const e = await create(p, 'E p2, three dependents', { priority: 'p2' });
        const c = await create(p, 'C p0, newest of all, no dependents', { priority: 'p0' });
        await create(p, 'a1', { depends_on: [a.id] });
        const d1 = await create(p, 'd1', { depends_on: [b.id] });
        await create(p, 'd2', { depends_on: [d1.id] });
        for (const i of [1, 2, 3]) await create(p, `e${i}`, { depends_on: [e.id] });

        const ready = await api().ready({ project_id: p });
        expect(ready.map((t) => t.id)).toEqual([c.id, b.id, a.id, f.id, e.id]);
        expect(Object.fromEntries(ready.map((t) => [t.title[0], t.weight]))).toEqual({ C: 0, B: 2, A: 1, F: 0, E: 3 });
      });

      it('stops counting a dependent once it is cancelled or done', async () => {
        const p = await newProject();
        const a = await create(p, 'A');
        const b = await create(p, 'B');
        const a1 = await create(p, 'a1', { depends_on: [a.id] });
        const z = await create(p, 'Z');
        // Equal priority and weight: by age, then id (two creates in one millisecond tie on age).
        const byAge = await readyIds(p);
        expect([...byAge].sort()).toEqual([a.id, b.id, z.id].sort());
        // Z learns it needs B: B gains weight and goes first
        await api().updateTask({ project_id: p, task_id: z.id, depends_on: [b.id] });
        await api().cancel({ project_id: p, task_id: a1.id });
        expect(await readyIds(p)).toEqual([b.id, a.id]);
        expect((await get(p, a.id)).weight).toBe(0);
        expect((await get(p, b.id)).weight).toBe(1);
        // A person marks Z done by hand while B is not (an override): B no longer counts it
        const { escalation } = await api().escalate({ project_id: p, task_id: z.id, message: 'done elsewhere' });
        await api().resolveEscalation({ project_id: p, escalation_id: escalation.id, action: 'done' });
        expect((await get(p, b.id)).weight).toBe(0);
        expect(await readyIds(p)).toEqual(byAge.filter((id) => id !== z.id));
      });

      it('applies limit and priority filters', async () => {
        const p = await newProject();
        const ids: Record<string, string> = {};
        for (const [title, priority] of [['x0', 'p2'], ['x1', 'p1'], ['x2', 'p0'], ['x3', 'p1'], ['x4', 'p2']] as const) {
          ids[title] = (await create(p, title, { priority })).id;
        }
        expect(await readyIds(p)).toEqual([ids.x2, ids.x1, ids.x3, ids.x0, ids.x4]);
        expect((await api().ready({ project_id: p, limit: 2 })).map((t) => t.id)).toEqual([ids.x2, ids.x1]);
        expect(await readyIds(p, { priority: 'p1' })).toEqual([ids.x1, ids.x3]);
        expect(await readyIds(p, { priority: 'p2', limit: 1 })).toEqual([ids.x0]);
        await expect(api().ready({ project_id: p, limit: 0 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      });

      it.each([11, 2024])("matches the domain's ready order over a random graph of 60 tasks (seed %i)", async (seed) => {
        const rand = seededRandom(seed);
        const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
        const p = await newProject();
        const ids: string[] = [];
        for (let i = 0; i < 60; i++) {
          const deps = new Set<string>();
          const n = ids.length === 0 ? 0 : Math.floor(rand() * 4);
          for (let k = 0; k < n; k++) deps.add(pick(ids));
          const t = await create(p, `t${i}`, { priority: pick(['p0', 'p1', 'p2'] as const), depends_on: [...deps], max_attempts: 1 });
          ids.push(t.id);
        }
        // Move the graph along: complete most of what becomes ready, dead-letter one, leave one claimed.
        for (let step = 0; step < 14; step++) {
          const ready = await readyIds(p);
          if (ready.length === 0) break;
          const id = pick(ready);
          const c = await claim(p, id);
          const lease = { project_id: p, task_id: id, agent_id: AGENT, lease_token: c.lease.token };
          if (step === 5) await api().fail({ ...lease, reason: 'broken', retryable: false });
          else if (step !== 9) await api().done(lease);
        }
        const open = (await api().graph({ project_id: p })).graph.nodes.filter((n) => n.status === 'blocked');
        if (open.length > 0) await api().cancel({ project_id: p, task_id: pick(open).id });

        const nodes = (await api().graph({ project_id: p, format: 'json' })).graph.nodes;
        const weights = criticalPathWeights(nodes);
        const expected = nodes
          .filter((n) => n.status === 'pending')
          .map((n) => ({ ...n, weight: weights.get(n.id)! }))
          .sort(compareReady)
          .map((n) => n.id);
        expect(expected.length).toBeGreaterThan(3);
        expect(await readyIds(p)).toEqual(expected);
        // the stored weights of all open work agree with the domain's
        const openWork = nodes.filter((n) => ['pending', 'blocked', 'claimed'].includes(n.status));
        expect(Object.fromEntries(openWork.map((n) => [n.id, n.weight]))).toEqual(Object.fromEntries(openWork.map((n) => [n.id, weights.get(n.id)])));
      });
    });

    // ---- claim ---------------------------------------------------------

    describe('claim', () => {
      it('claims the best ready task with a lease, and takes it out of ready', async () => {
        const p = await newProject();
        const low = await create(p, 'low', { priority: 'p2' });
        const best = await create(p, 'best', { priority: 'p0' });
        const t0 = Date.now();
        const r = await api().claim({ project_id: p, agent_id: AGENT });
        if (!r.claimed) throw new Error(`expected a claim, got ${r.reason}`);
        expect(r.task).toMatchObject({ id: best.id, status: 'claimed', assignee: AGENT, attempts: 1, lease_token: r.lease.token });
        expect(r.lease.token.length).toBeGreaterThanOrEqual(16);
        const expires = Date.parse(r.lease.expires_at);
        expect(expires).toBeGreaterThanOrEqual(t0 + 299_000);
        expect(expires).toBeLessThanOrEqual(Date.now() + 301_000);
        expect(Date.parse(r.task.lease_expires_at!)).toBe(expires);
        expect(await readyIds(p)).toEqual([low.id]);
        expect(await get(p, best.id)).toMatchObject({ status: 'claimed', assignee: AGENT, attempts: 1 });
      });

      it('claims a given task even when better work is ready, with the lease length asked for', async () => {
        const p = await newProject();
        const low = await create(p, 'low', { priority: 'p2' });
        await create(p, 'best', { priority: 'p0' });
        const t0 = Date.now();
        const r = await api().claim({ project_id: p, agent_id: AGENT, task_id: low.id, lease_seconds: 60 });
        if (!r.claimed) throw new Error(`expected a claim, got ${r.reason}`);
        expect(r.task.id).toBe(low.id);
        expect(Date.parse(r.lease.expires_at)).toBeGreaterThanOrEqual(t0 + 59_000);
        expect(Date.parse(r.lease.expires_at)).toBeLessThanOrEqual(Date.now() + 61_000);
      });

      it('returns claimed:false none_ready when nothing is ready', async () => {
        const p = await newProject();
        await expect(api().claim({ project_id: p, agent_id: AGENT })).resolves.toEqual({ claimed: false, reason: 'none_ready' });
        const a = await create(p, 'A');
        await create(p, 'B', { depends_on: [a.id] });
        await claim(p, a.id);
        await expect(api().claim({ project_id: p, agent_id: AGENT })).resolves.toEqual({ claimed: false, reason: 'none_ready' });
      });

      it('returns claimed:false not_ready for a blocked or already claimed task, changing nothing', async () => {
        const p = await newProject();
        const a = await create(p, 'A');
        const b = await create(p, 'B', { depends_on: [a.id] });
        await claim(p, a.id);
        const before = await footprint(p);
        await expect(api().claim({ project_id: p, agent_id: 'agent-2', task_id: b.id })).resolves.toMatchObject({
          claimed: false,
          reason: 'not_ready',
          task: { id: b.id, status: 'blocked' },
        });
        await expect(api().claim({ project_id: p, agent_id: 'agent-2', task_id: a.id })).resolves.toMatchObject({
          claimed: false,
          reason: 'not_ready',
          task: { id: a.id, status: 'claimed', assignee: AGENT },
        });
        expect(await footprint(p)).toEqual(before);
      });

      it('refuses an unknown task, or one of another project, with TASK_NOT_FOUND', async () => {
        const p = await newProject();
        const other = await newProject();
        const foreign = await create(other, 'foreign');
        await expect(api().claim({ project_id: p, agent_id: AGENT, task_id: UNKNOWN_ID })).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
        await expect(api().claim({ project_id: p, agent_id: AGENT, task_id: foreign.id })).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
        expect((await get(other, foreign.id)).status).toBe('pending');
      });

      it('never hands the same task to two claimers', async () => {
        const p = await newProject();
        for (let i = 0; i < 5; i++) await create(p, `t${i}`);
        const results = await Promise.all(Array.from({ length: 8 }, (_, i) => api().claim({ project_id: p, agent_id: `agent-${i}` })));
        const claimed = results.flatMap((r) => (r.claimed ? [r.task.id] : []));
        expect(claimed).toHaveLength(5);
        expect(new Set(claimed).size).toBe(5);
        expect(results.filter((r) => !r.claimed)).toHaveLength(3);
      });
    });

    // ---- heartbeat and leases ------------------------------------------

    describe('heartbeat and leases', () => {
      it('extends the lease with a heartbeat', async () => {
        const p = await newProject();
        const a = await create(p, 'A');
        const c = await claim(p, a.id, 60);
        const since = await lastEventId(p);
        const t0 = Date.now();
        const hb = await api().heartbeat({ project_id: p, task_id: a.id, agent_id: AGENT, lease_token: c.lease.token, lease_seconds: 600 });
        expect(hb.lease.token).toBe(c.lease.token);
        expect(Date.parse(hb.lease.expires_at)).toBeGreaterThanOrEqual(t0 + 599_000);
        expect(Date.parse(hb.lease.expires_at)).toBeGreaterThan(Date.parse(c.lease.expires_at));
        expect(Date.parse((await get(p, a.id)).lease_expires_at!)).toBe(Date.parse(hb.lease.expires_at));
        expect(await typesSince(p, since)).toEqual(['task.heartbeat']);
      });

      it('refuses a heartbeat with the wrong token with LEASE_LOST, changing nothing', async () => {
        const p = await newProject();
        const a = await create(p, 'A');
        await claim(p, a.id);
        const before = await footprint(p);
        await expect(api().heartbeat({ project_id: p, task_id: a.id, agent_id: AGENT, lease_token: 'lease-not-mine' })).rejects.toMatchObject({ code: 'LEASE_LOST' });
        expect(await footprint(p)).toEqual(before);
      });

      it('refuses heartbeat, done and fail on an expired lease with LEASE_LOST, changing nothing', async () => {
        const p = await newProject();
        const a = await create(p, 'A');
        const c = await claim(p, a.id, 1);
        await sleep(1_200);
        const before = await footprint(p);
        const lease = { project_id: p, task_id: a.id, agent_id: AGENT, lease_token: c.lease.token };
        await expect(api().heartbeat(lease)).rejects.toMatchObject({ code: 'LEASE_LOST' });
        await expect(api().done({ ...lease, output: { late: true } })).rejects.toMatchObject({ code: 'LEASE_LOST' });
        await expect(api().fail({ ...lease, reason: 'late' })).rejects.toMatchObject({ code: 'LEASE_LOST' });
        expect(await footprint(p)).toEqual(before);
        const after = await get(p, a.id);
        expect(after).toMatchObject({ status: 'claimed', revision: c.task.revision, output: null });
      });
    });

    // ---- done ----------------------------------------------------------

    describe('done', () => {
      it('requires the current lease, and stores the output', async () => {
        const p = await newProject();
        const a = await create(p, 'A');
        const c = await claim(p, a.id);
        const before = await footprint(p);
        await expect(api().done({ project_id: p, task_id: a.id, agent_id: AGENT, lease_token: 'lease-wrong' })).rejects.toMatchObject({ code: 'LEASE_LOST' });
        expect(await footprint(p)).toEqual(before);

        const r = await api().done({ project_id: p, task_id: a.id, agent_id: AGENT, lease_token: c.lease.token, output: { pr: 17, files: ['a.ts'] } });
        expect(r).toMatchObject({ already_done: false, unblocked: [], completed_epics: [], task: { status: 'done', output: { pr: 17, files: ['a.ts'] } } });
        expect(await get(p, a.id)).toMatchObject({ status: 'done', output: { pr: 17, files: ['a.ts'] }, lease_expires_at: null });
        expect(await readyIds(p)).toEqual([]);
      });

      it('refuses done on a task that was never claimed with NOT_CLAIMED', async () => {
        const p = await newProject();
        const a = await create(p, 'A');
        const before = await footprint(p);
        await expect(api().done({ project_id: p, task_id: a.id, agent_id: AGENT, lease_token: 'lease-made-up' })).rejects.toMatchObject({ code: 'NOT_CLAIMED' });
        await expect(api().done({ project_id: p, task_id: UNKNOWN_ID, agent_id: AGENT, lease_token: 'lease-made-up' })).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
        expect(await footprint(p)).toEqual(before);
      });

      it('unblocks exactly the dependents with nothing else left to wait for', async () => {
        const p = await newProject();
        const a = await create(p, 'A');
        const other = await create(p, 'other');
        const b = await create(p, 'B', { depends_on: [a.id] });
        const c = await create(p, 'C', { depends_on: [a.id] });
        const d = await create(p, 'D', { depends_on: [a.id, other.id] });
        const since = await lastEventId(p);
        const r = await complete(p, a.id);
        expect(r.unblocked).toEqual([b.id, c.id].sort());
        expect(await get(p, d.id)).toMatchObject({ status: 'blocked', unmet_deps: 1 });
        expect(new Set(await readyIds(p))).toEqual(new Set([other.id, b.id, c.id]));
        const unblockedEvents = (await allEvents(p, since)).filter((e) => e.type === 'task.unblocked');
        expect(unblockedEvents.map((e) => e.task_id).sort()).toEqual([b.id, c.id].sort());
      });

      it("completes an epic with its last child, and unblocks the epic's dependents", async () => {
        const p = await newProject();
        const epic = await create(p, 'epic', { epic: true });
        const c1 = await create(p, 'c1', { parent_id: epic.id });
        const c2 = await create(p, 'c2', { parent_id: epic.id });
        const after = await create(p, 'after the epic', { depends_on: [epic.id] });
        expect(after.status).toBe('blocked');

        const first = await complete(p, c1.id);
        expect(first.completed_epics).toEqual([]);
        expect((await get(p, epic.id)).status).toBe('epic');

        const since = await lastEventId(p);
        const last = await complete(p, c2.id);
        expect(last.completed_epics).toEqual([epic.id]);
        expect(last.unblocked).toEqual([after.id]);
        expect((await get(p, epic.id)).status).toBe('done');
        expect(await get(p, after.id)).toMatchObject({ status: 'pending', unmet_deps: 0 });
        expect(await readyIds(p)).toEqual([after.id]);
        expect(await typesSince(p, since)).toEqual(['task.claimed', 'task.done', 'epic.completed', 'task.unblocked']);
      });

      it('completes an epic exactly once when its last two children finish at the same time', async () => {
        const p = await newProject();
        const epic = await create(p, 'epic', { epic: true });
        const c1 = await create(p, 'c1', { parent_id: epic.id });
        const c2 = await create(p, 'c2', { parent_id: epic.id });
        const l1 = await claim(p, c1.id);
        const l2 = await claim(p, c2.id);
        const results = await Promise.all([
          api().done({ project_id: p, task_id: c1.id, agent_id: AGENT, lease_token: l1.lease.token }),
          api().done({ project_id: p, task_id: c2.id, agent_id: AGENT, lease_token: l2.lease.token }),
        ]);
        expect(results.flatMap((r) => r.completed_epics)).toEqual([epic.id]);
        expect((await get(p, epic.id)).status).toBe('done');
        expect((await allEvents(p)).filter((e) => e.type === 'epic.completed')).toHaveLength(1);
      });

      it('completes nested epics in one go', async () => {
        const p = await newProject();
        const outer = await create(p, 'outer', { epic: true });
        const inner = await create(p, 'inner', { epic: true, parent_id: outer.id });
        const leaf = await create(p, 'leaf', { parent_id: inner.id });
        const r = await complete(p, leaf.id);
        expect(r.completed_epics).toEqual([inner.id, outer.id]);
        expect((await get(p, outer.id)).status).toBe('done');
      });

      it('answers the same lease again with already_done and changes nothing; another output under it is a CONFLICT', async () => {
        const p = await newProject();
        const a = await create(p, 'A');
        const c = await claim(p, a.id);
        const lease = { project_id: p, task_id: a.id, agent_id: AGENT, lease_token: c.lease.token };
        await api().done({ ...lease, output: { n: 1 } });
        const before = await footprint(p);
        const again = await api().done({ ...lease, output: { n: 1 } });
        expect(again).toMatchObject({ already_done: true, unblocked: [], completed_epics: [], task: { status: 'done', output: { n: 1 } } });
        await expect(api().done({ ...lease, output: { n: 2 } })).rejects.toMatchObject({ code: 'CONFLICT', details: { already_done: true } });
        expect(await footprint(p)).toEqual(before);
      });
    });

    // ---- fail ----------------------------------------------------------

    describe('fail', () => {
      it('sends a retryable failure back to pending with a run_after, out of ready until then', async () => {
        const p = await newProject();
        const a = await create(p, 'A', { max_attempts: 3 });
        const c = await claim(p, a.id);
        const since = await lastEventId(p);
        const t0 = Date.now();
        const r = await api().fail({ project_id: p, task_id: a.id, agent_id: AGENT, lease_token: c.lease.token, reason: 'flaky test' });
        expect(r.outcome).toBe('retrying');
        expect(Date.parse(r.run_after!)).toBeGreaterThan(t0);
        expect(r.task).toMatchObject({ status: 'pending', attempts: 1, lease_token: null, assignee: null, failure_reason: 'flaky test' });
        expect(await typesSince(p, since)).toEqual(['task.failed', 'task.retrying']);

        expect(await readyIds(p)).toEqual([]);
        expect((await api().overview({ project_id: p })).ready).toBe(0);
        await expect(api().claim({ project_id: p, agent_id: AGENT })).resolves.toEqual({ claimed: false, reason: 'none_ready' });
        await expect(api().claim({ project_id: p, agent_id: AGENT, task_id: a.id })).resolves.toMatchObject({ claimed: false, reason: 'not_ready' });
        // the old lease is gone for good
        await expect(api().done({ project_id: p, task_id: a.id, agent_id: AGENT, lease_token: c.lease.token })).rejects.toMatchObject({ code: 'LEASE_LOST' });

        await sleep(Math.max(0, Date.parse(r.run_after!) - Date.now()) + 50);
        expect(await readyIds(p)).toEqual([a.id]);
        const again = await claim(p, a.id);
        expect(again.task.attempts).toBe(2);
      });

      it('refuses an open dependency for a running task, and does not bring back as ready a retried task that gained one', async () => {
        const p = await newProject();
        const b = await create(p, 'B');
        const z = await create(p, 'Z', { max_attempts: 3 });
        const c = await claim(p, z.id);
        // Z runs: it could be done before B, so the edge is refused while it is claimed, and nothing changes.
        await expect(api().updateTask({ project_id: p, task_id: z.id, depends_on: [b.id] })).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });
        expect(await get(p, z.id)).toMatchObject({ status: 'claimed', depends_on: [], unmet_deps: 0, revision: c.task.revision });
        const r = await api().fail({ project_id: p, task_id: z.id, agent_id: AGENT, lease_token: c.lease.token, reason: 'needs B first' });
        expect(r.outcome).toBe('retrying');
        await api().updateTask({ project_id: p, task_id: z.id, depends_on: [b.id] });
        await sleep(Math.max(0, Date.parse(r.run_after!) - Date.now()) + 50);
        // Z still waits for B: only B is ready, and Z cannot be claimed
        expect(await readyIds(p)).toEqual([b.id]);
        await expect(api().claim({ project_id: p, agent_id: AGENT, task_id: z.id })).resolves.toMatchObject({ claimed: false, reason: 'not_ready' });
        await complete(p, b.id);
        expect(await readyIds(p)).toEqual([z.id]);
      });

      it.each([1, 2])('dead-letters a task whose %i attempt(s) are used up, with an open escalation', async (maxAttempts) => {
        const p = await newProject();
        const a = await create(p, 'A', { max_attempts: maxAttempts });
        let last;
        for (let attempt = 1; attempt <= maxAttempts; attempt++) {
          const c = await claim(p, a.id);
          expect(c.task.attempts).toBe(attempt);
          last = await api().fail({ project_id: p, task_id: a.id, agent_id: AGENT, lease_token: c.lease.token, reason: `attempt ${attempt} broke` });
          if (attempt < maxAttempts) {
            expect(last.outcome).toBe('retrying');
            await sleep(Math.max(0, Date.parse(last.run_after!) - Date.now()) + 50);
          }
        }
        expect(last).toMatchObject({ outcome: 'dead_lettered', run_after: null, task: { status: 'failed', attempts: maxAttempts } });
        const detail = await api().status({ project_id: p, task_id: a.id });
        expect(detail.escalations).toHaveLength(1);
        expect(detail.escalations[0]).toMatchObject({ task_id: a.id, status: 'open', source: 'policy' });
        expect(detail.recent_events.map((e) => e.type).slice(-3)).toEqual(['task.failed', 'task.dead_lettered', 'escalation.raised']);
        expect(await readyIds(p)).toEqual([]);
        await expect(api().claim({ project_id: p, agent_id: AGENT })).resolves.toEqual({ claimed: false, reason: 'none_ready' });
        const overview = await api().overview({ project_id: p });
        expect(overview.counts.failed).toBe(1);
        expect(overview.escalations.map((e) => e.task_id)).toEqual([a.id]);
      });

      it('dead-letters a non-retryable failure at once', async () => {
        const p = await newProject();
        const a = await create(p, 'A', { max_attempts: 5 });
        const c = await claim(p, a.id);
        const r = await api().fail({ project_id: p, task_id: a.id, agent_id: AGENT, lease_token: c.lease.token, reason: 'spec is wrong', retryable: false });
        expect(r).toMatchObject({ outcome: 'dead_lettered', task: { status: 'failed', attempts: 1, failure_reason: 'spec is wrong' } });
        expect(await readyIds(p)).toEqual([]);
        expect((await api().status({ project_id: p, task_id: a.id })).escalations).toHaveLength(1);
      });

      it('blocks the dependents of a dead-lettered task with reason dependency_failed', async () => {
        const p = await newProject();
        const a = await create(p, 'A', { max_attempts: 1 });
        const b = await create(p, 'B', { depends_on: [a.id] });
        const c = await create(p, 'C', { depends_on: [b.id] });
        const unrelated = await create(p, 'unrelated');
        const lease = await claim(p, a.id);
        await api().fail({ project_id: p, task_id: a.id, agent_id: AGENT, lease_token: lease.lease.token, reason: 'broken' });

        expect(await get(p, b.id)).toMatchObject({ status: 'blocked', blocked_reason: 'dependency_failed' });
        expect((await get(p, c.id)).status).toBe('blocked');
        expect(await readyIds(p)).toEqual([unrelated.id]);
        const overview = await api().overview({ project_id: p });
        expect(overview.blocked.find((t) => t.id === b.id)).toMatchObject({ blocked_reason: 'dependency_failed' });
        const graph = await api().graph({ project_id: p });
        expect(new Set(graph.graph.stuck)).toEqual(new Set([b.id, c.id]));
      });
    });

    // ---- escalate and cancel --------------------------------------------

    describe('escalate and cancel', () => {
      it('escalation blocks the task on a human and lists it in overview and status', async () => {
        const p = await newProject();
        const a = await create(p, 'A');
        const since = await lastEventId(p);
        const r = await api().escalate({ project_id: p, task_id: a.id, message: 'which database?', agent_id: AGENT });
        expect(r.task).toMatchObject({ status: 'blocked', blocked_reason: 'escalation' });
        expect(r.escalation).toMatchObject({ task_id: a.id, message: 'which database?', status: 'open', source: 'agent', raised_by: AGENT });
        expect(await readyIds(p)).toEqual([]);
        const overview = await api().overview({ project_id: p });
        expect(overview.escalations.map((e) => e.id)).toEqual([r.escalation.id]);
        expect(overview.blocked).toEqual([{ id: a.id, title: 'A', blocked_reason: 'escalation', unmet_deps: 0 }]);
        expect((await api().status({ project_id: p, task_id: a.id })).escalations).toEqual([r.escalation]);
        expect(await typesSince(p, since)).toEqual(['escalation.raised']);
      });

      it('escalating claimed work takes the lease away', async () => {
        const p = await newProject();
        const a = await create(p, 'A');
        const c = await claim(p, a.id);
        await api().escalate({ project_id: p, task_id: a.id, message: 'stuck', agent_id: AGENT });
        await expect(api().done({ project_id: p, task_id: a.id, agent_id: AGENT, lease_token: c.lease.token })).rejects.toMatchObject({ code: 'LEASE_LOST' });
        expect(await get(p, a.id)).toMatchObject({ status: 'blocked', blocked_reason: 'escalation', lease_token: null });
      });

      it('cancels a task', async () => {
        const p = await newProject();
        const a = await create(p, 'A');
        const since = await lastEventId(p);
        const r = await api().cancel({ project_id: p, task_id: a.id, reason: 'not needed' });
        expect(r).toMatchObject({ task: { status: 'cancelled' }, cancelled: [a.id] });
        expect(await readyIds(p)).toEqual([]);
        expect(await typesSince(p, since)).toEqual(['task.cancelled']);
      });

      it('cancelling an epic cancels its open children and leaves finished ones', async () => {
        const p = await newProject();
        const epic = await create(p, 'epic', { epic: true });
        const finished = await create(p, 'finished', { parent_id: epic.id });
        const pending = await create(p, 'pending', { parent_id: epic.id });
        const running = await create(p, 'running', { parent_id: epic.id });
        await complete(p, finished.id);
        const lease = await claim(p, running.id);

        const r = await api().cancel({ project_id: p, task_id: epic.id });
        expect(r.task.status).toBe('cancelled');
        expect([...r.cancelled].sort()).toEqual([epic.id, pending.id, running.id].sort());
        expect((await get(p, pending.id)).status).toBe('cancelled');
        expect((await get(p, running.id)).status).toBe('cancelled');
        expect((await get(p, finished.id)).status).toBe('done');
        await expect(api().done({ project_id: p, task_id: running.id, agent_id: AGENT, lease_token: lease.lease.token })).rejects.toMatchObject({ code: 'LEASE_LOST' });
        expect(await readyIds(p)).toEqual([]);
      });

      it('blocks the dependents of a cancelled task with dependency_failed and raises an escalation', async () => {
        const p = await newProject();
        const a = await create(p, 'A');
        const b = await create(p, 'B', { depends_on: [a.id] });
        const since = await lastEventId(p);
        const r = await api().cancel({ project_id: p, task_id: a.id });
        expect(r.cancelled).toEqual([a.id]);
        expect(await get(p, b.id)).toMatchObject({ status: 'blocked', blocked_reason: 'dependency_failed' });
        expect(await typesSince(p, since)).toEqual(['task.cancelled', 'task.blocked', 'escalation.raised']);
        expect((await api().overview({ project_id: p })).escalations.map((e) => e.task_id)).toEqual([a.id]);
      });

      it('refuses to cancel a done task with INVALID_TRANSITION and changes nothing', async () => {
        const p = await newProject();
        const a = await create(p, 'A');
        await complete(p, a.id);
        const before = await footprint(p);
        await expect(api().cancel({ project_id: p, task_id: a.id })).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });
        await expect(api().escalate({ project_id: p, task_id: a.id, message: 'hm' })).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });
        expect(await footprint(p)).toEqual(before);
      });
    });

    // ---- events --------------------------------------------------------

    describe('events', () => {
      it('records every step of a claim/done cycle, in order, with task and agent', async () => {
        const p = await newProject();
        const a = await create(p, 'A');
        const b = await create(p, 'B', { depends_on: [a.id] });
        const c = await claim(p, a.id);
        const lease = { project_id: p, task_id: a.id, agent_id: AGENT, lease_token: c.lease.token };
        await api().heartbeat(lease);
        await api().done(lease);

        const events = await allEvents(p);
        expect(events.map((e) => [e.type, e.task_id])).toEqual([
          ['project.created', null],
          ['task.created', a.id],
          ['task.created', b.id],
          ['task.claimed', a.id],
          ['task.heartbeat', a.id],
          ['task.done', a.id],
          ['task.unblocked', b.id],
        ]);
        expect(events.every((e) => e.project_id === p)).toBe(true);
        expect(events.filter((e) => ['task.claimed', 'task.heartbeat', 'task.done'].includes(e.type)).every((e) => e.agent_id === AGENT)).toBe(true);
        const ids = events.map((e) => e.id);
        expect([...ids].sort((x, y) => x - y)).toEqual(ids);
        expect(new Set(ids).size).toBe(ids.length);
      });

      it('pages with since and limit, and keeps projects apart', async () => {
        const p = await newProject();
        const other = await newProject();
        await create(other, 'elsewhere');
        for (let i = 0; i < 5; i++) await create(p, `t${i}`);
        const all = await allEvents(p);
        expect(all).toHaveLength(6);
        const page = await api().events({ project_id: p, since: all[1]!.id, limit: 2 });
        expect(page.map((e) => e.id)).toEqual([all[2]!.id, all[3]!.id]);
      });
    });

    // ---- read models -----------------------------------------------------

    describe('overview and graph', () => {
      it('counts tasks by status, ready work and blocked work', async () => {
        const p = await newProject();
        const { a, b, c, d } = await diamond(p);
        const epic = await create(p, 'epic', { epic: true });
        const lone = await create(p, 'lone', { priority: 'p0' });
        await complete(p, a.id);
        await claim(p, b.id);
        await api().escalate({ project_id: p, task_id: lone.id, message: 'help' });

        const o = await api().overview({ project_id: p });
        expect(o.project.id).toBe(p);
        expect(o.counts).toEqual({ pending: 1, blocked: 2, claimed: 1, done: 1, failed: 0, cancelled: 0, epic: 1 });
        expect(o.total).toBe(6);
        expect(o.ready).toBe(1);
        expect(await readyIds(p)).toEqual([c.id]);
        expect([...o.blocked].sort((x, y) => x.id.localeCompare(y.id))).toEqual(
          [
            { id: d.id, title: 'D', blocked_reason: 'dependencies', unmet_deps: 2 },
            { id: lone.id, title: 'lone', blocked_reason: 'escalation', unmet_deps: 0 },
          ].sort((x, y) => x.id.localeCompare(y.id)),
        );
        expect(o.escalations.map((e) => e.task_id)).toEqual([lone.id]);
        expect(epic.status).toBe('epic');
      });

      it('shows the graph as json with edges and the waves of a diamond as three levels', async () => {
        const p = await newProject();
        const { a, b, c, d } = await diamond(p);
        const r = await api().graph({ project_id: p, format: 'json' });
        expect(r.format).toBe('json');
        const view: GraphView = r.graph;
        expect(view.nodes.map((n) => n.id).sort()).toEqual([a.id, b.id, c.id, d.id].sort());
        expect([...view.edges].sort()).toEqual(
          [
            [b.id, a.id],
            [c.id, a.id],
            [d.id, b.id],
            [d.id, c.id],
          ].sort(),
        );
        expect(view.waves).toEqual([[a.id], [b.id, c.id], [d.id]]);
        expect(view.stuck).toEqual([]);

        await complete(p, a.id);
        const later = await api().graph({ project_id: p });
        expect(later.graph.waves).toEqual([[b.id, c.id], [d.id]]);
      });

      it('puts a task that waits for an epic in a wave after the epic\'s open children', async () => {
        const p = await newProject();
        const epic = await create(p, 'epic', { epic: true });
        const child = await create(p, 'child', { parent_id: epic.id });
        const after = await create(p, 'after the epic', { depends_on: [epic.id] });
        expect(after.status).toBe('blocked');
        const r = await api().graph({ project_id: p });
        expect(r.graph.waves).toEqual([[child.id], [after.id]]);
      });

      it('renders mermaid, summary and waves text', async () => {
        const p = await newProject();
        const { a, b, c, d } = await diamond(p);
        const node = (id: string) => id.replace('-', '_');

        const mermaid = await api().graph({ project_id: p, format: 'mermaid' });
        if (mermaid.format !== 'mermaid') throw new Error('expected mermaid');
        expect(mermaid.text.split('\n')[0]).toBe('flowchart TD');
        for (const [dep, task] of [[a, b], [a, c], [b, d], [c, d]] as const) expect(mermaid.text).toContain(`${node(dep.id)} --> ${node(task.id)}`);

        const summary = await api().graph({ project_id: p, format: 'summary' });
        if (summary.format !== 'summary') throw new Error('expected summary');
        expect(summary.text).toContain('4 tasks, 4 dependencies');
        expect(summary.text).toContain('3 waves');

        const waves = await api().graph({ project_id: p, format: 'waves' });
        if (waves.format !== 'waves') throw new Error('expected waves');
        const headers = waves.text.split('\n').filter((l) => l.startsWith('wave '));
        expect(headers).toEqual(['wave 1 (1 task)', 'wave 2 (2 tasks)', 'wave 3 (1 task)']);
        expect(waves.text.indexOf(a.id)).toBeLessThan(waves.text.indexOf(d.id));

        await expect(api().graph({ project_id: p, format: 'png' as never })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      });

      it('draws dot: a finished epic as one node, held and claimed tasks with their details, one epic with epic_id', async () => {
        const p = await newProject();
        const old = await create(p, 'finished epic', { epic: true });
        const o1 = await create(p, 'old one', { parent_id: old.id });
        const o2 = await create(p, 'old two', { parent_id: old.id, depends_on: [o1.id] });
        await complete(p, o1.id);
        await complete(p, o2.id);
        await api().reconcile({ project_id: p });
        expect((await get(p, old.id)).status).toBe('done');
        const epic = await create(p, 'open epic', { epic: true });
        const a = await create(p, 'A "quoted" \\ <b>', { parent_id: epic.id, depends_on: [o2.id] });
        const b = await create(p, 'B', { parent_id: epic.id, depends_on: [a.id] });
        const c = await create(p, 'C', { depends_on: [b.id] });
        const lease = await claim(p, a.id);
        await api().hold({ project_id: p, task_id: c.id, reason: 'legal says wait' });

        const r = await api().graph({ project_id: p, format: 'dot' });
        if (r.format !== 'dot') throw new Error('expected dot');
        const byId = new Map(r.picture.nodes.map((n) => [n.id, n]));
        expect([...byId.keys()].sort()).toEqual([old.id, epic.id, a.id, b.id, c.id].sort());
        expect(byId.get(old.id)).toMatchObject({ collapsed: 2, status: 'done' });
        expect(byId.get(a.id)).toMatchObject({ status: 'claimed', assignee: AGENT, critical: true, depends_on: [o2.id] });
        expect(byId.get(c.id)).toMatchObject({ held: true, hold_reason: 'legal says wait', critical: true });
        expect(byId.get(c.id)!.held_at).toMatch(/^\d{4}-\d\d-\d\dT/);
        expect(r.picture.critical_path).toEqual([a.id, b.id, c.id]);
        expect(r.picture.edges).toContainEqual([a.id, old.id]);
        expect(r.picture).toMatchObject({ tasks: 7, collapsed_tasks: 2 });
        expect(r.text).toContain('A \\"quoted\\" \\\\ <b>');
        expect(JSON.stringify(r)).not.toContain(lease.lease.token);

        const all = await api().graph({ project_id: p, format: 'dot', expand: true });
        if (all.format !== 'dot') throw new Error('expected dot');
        expect(all.picture.nodes).toHaveLength(7);

        const one = await api().graph({ project_id: p, format: 'dot', epic_id: epic.id });
        if (one.format !== 'dot') throw new Error('expected dot');
        expect(one.picture.nodes.map((n) => n.id).sort()).toEqual([epic.id, a.id, b.id].sort());
        expect(one.picture.epic_id).toBe(epic.id);
        const waves = await api().graph({ project_id: p, format: 'waves', epic_id: epic.id });
        if (waves.format !== 'waves') throw new Error('expected waves');
        expect(waves.text).not.toContain(c.id);

        await expect(api().graph({ project_id: p, format: 'dot', epic_id: c.id })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await expect(api().graph({ project_id: p, format: 'dot', epic_id: 'loom-00000000' })).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
        for (const bad of ['../etc', 'loom-0000000\u0000', { __proto__: 1 }, 'x'.repeat(100_000)]) {
          await expect(api().graph({ project_id: p, format: 'dot', epic_id: bad as never })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        }
        await expect(api().graph({ project_id: p, format: 'dot', expand: 'yes' as never })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      });
    });

    it('creates a project with a given id once; a second call returns it unchanged', async () => {
      const id = `prj-contract-${Date.now().toString(36)}`;
      const first = await api().createProject({ name: 'first', id });
      const second = await api().createProject({ name: 'second', id });
      expect(second).toEqual(first);
      expect(await api().getProject({ project_id: id })).toEqual(first);
      expect((await allEvents(id)).map((e) => e.type)).toEqual(['project.created']);
      await expect(api().createProject({ name: 'bad', id: 'Has Spaces' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    });

    it('recognises its errors by brand', async () => {
      const p = await newProject();
      const e = await api()
        .status({ project_id: p, task_id: UNKNOWN_ID })
        .then(() => null, (err: unknown) => err);
      expect(LoomError.is(e)).toBe(true);
      expect(e).toMatchObject({ code: 'TASK_NOT_FOUND' });
    });
  });
}
