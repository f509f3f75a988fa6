import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Priority, Task } from '../../src/domain/task.js';
import type { ReadyHead, RelayPosition, TaskCache } from '../../src/ports/task-cache.js';
import { taskFixture } from '../support/task-fixture.js';

const NOW = new Date('2025-01-01T12:00:00.000Z');
const at = (offsetMs: number): string => new Date(NOW.getTime() + offsetMs).toISOString();
const pos = (tx: string | number, id: string | number = 1): RelayPosition => ({ tx: String(tx), id: String(id) });

let seq = 0;
/** A task with an id of its own; `over` decides everything else the test cares about. */
const task = (projectId: string, over: Partial<Task> = {}): Task =>
  taskFixture({ id: `loom-${(++seq).toString(16).padStart(8, '0')}`, project_id: projectId, ...over });

/** Tasks in ready order (priority, weight descending, created_at, id), as the relay hands them over. */
function readyOrder(tasks: Task[]): Task[] {
  return [...tasks].sort((a, b) => a.priority.localeCompare(b.priority) || b.weight - a.weight || a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
}

const head = (position: RelayPosition, tasks: Task[], complete = true): ReadyHead => ({ position, tasks, complete });
const ids = (tasks: readonly Task[] | undefined): string[] | undefined => tasks?.map((t) => t.id);

/**
 * What every TaskCache adapter must do; run against each of them. `open(space)`
 * gives a cache over the data of `space`: caches opened with the same space
 * share what they hold (as processes sharing one Redis do), different spaces
 * share nothing. Each test works in a space of its own, since invalidateAll
 * forgets every project of its space.
 */
export function taskCacheContract(name: string, open: (space: string) => Promise<TaskCache>): void {
  describe(`TaskCache contract: ${name}`, () => {
    let spaces = 0;
    let space = '';
    const opened: TaskCache[] = [];
    const cache = async (): Promise<TaskCache> => {
      const c = await open(space);
      opened.push(c);
      return c;
    };
    beforeEach(() => {
      space = `space-${++spaces}`;
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((c) => c.close()));
    });

    it('misses a project it holds no head for', async () => {
      const c = await cache();
      expect(await c.ready('nothing-stored', NOW, 10)).toBeUndefined();
    });

    it('answers in ready order, at most limit', async () => {
      const c = await cache();
      const tasks = readyOrder([
        task('p', { priority: 'p1', weight: 5 }),
        task('p', { priority: 'p0', weight: 0 }),
        task('p', { priority: 'p1', weight: 9 }),
        task('p', { priority: 'p2', weight: 50 }),
        task('p', { priority: 'p1', weight: 5, created_at: at(-1) }),
      ]);
      await c.storeHead('p', head(pos(10), tasks));
      expect(ids(await c.ready('p', NOW, 3))).toEqual(ids(tasks.slice(0, 3)));
      expect(ids(await c.ready('p', NOW, 5))).toEqual(ids(tasks));
      expect(await c.ready('p', NOW, 0)).toEqual([]);
    });

    it('returns tasks deep-equal to the ones stored, nulls, nesting and types intact', async () => {
      const c = await cache();
      const rich = task('p', {
        title: 'Überprüfe "quotes", \\ backslashes, emoji 🧵 and\nnewlines',
        priority: 'p0',
        parent_id: 'loom-000000ff',
        depends_on: ['loom-00000001', 'loom-00000002'],
        context: { files: ['a.ts', 'b.ts'], nested: { n: 1.5, ok: true, none: null, empty: {} }, big: 2 ** 52 },
        output: { summary: 'done before', lines: [1, 2, 3] },
        done_when: 'tests pass',
        origin: { kind: 'workflow', id: 'wf-1' },
        attempts: 2,
        run_after: at(-60_000),
        failure_reason: 'flaky',
        unmet_deps: 0,
        weight: 7,
        has_dependents: true,
        expiry_count: 1,
        progress: 'halfway',
        progress_at: at(-120_000),
        revision: 12,
        created_at: at(-3_600_000),
        updated_at: at(-60_000),
      });
      const plain = task('p', { priority: 'p1' });
      await c.storeHead('p', head(pos(1), [rich, plain]));
      await c.storeTasks('p', pos(1), [rich]);
      expect(await c.ready('p', NOW, 10)).toStrictEqual([rich, plain]);
      expect(await c.task('p', rich.id)).toStrictEqual(rich);
    });

    it('filters by priority', async () => {
      const c = await cache();
      const tasks = readyOrder(
        (['p0', 'p0', 'p1', 'p1', 'p1', 'p2', 'p2'] as Priority[]).map((priority, i) => task('p', { priority, weight: i })),
      );
      await c.storeHead('p', head(pos(1), tasks));
      for (const priority of ['p0', 'p1', 'p2'] as Priority[]) {
        const wanted = tasks.filter((t) => t.priority === priority);
        expect(ids(await c.ready('p', NOW, 10, priority))).toEqual(ids(wanted));
        expect(ids(await c.ready('p', NOW, 1, priority))).toEqual(ids(wanted.slice(0, 1)));
      }
    });

    it('leaves out tasks whose run_after has not come by `now`, and takes them once it has', async () => {
      const c = await cache();
      const [soon, ready, later, due] = [
        task('p', { weight: 9, run_after: at(1) }),
        task('p', { weight: 8 }),
        task('p', { weight: 7, run_after: at(60_000) }),
        task('p', { weight: 6, run_after: at(-1) }),
      ] as [Task, Task, Task, Task];
      await c.storeHead('p', head(pos(1), [soon, ready, later, due]));
      expect(ids(await c.ready('p', NOW, 10))).toEqual(ids([ready, due]));
      expect(ids(await c.ready('p', new Date(NOW.getTime() + 1), 10))).toEqual(ids([soon, ready, due])); // run_after = now counts
      expect(ids(await c.ready('p', new Date(NOW.getTime() + 60_000), 10))).toEqual(ids([soon, ready, later, due]));
      expect(ids(await c.ready('p', NOW, 1))).toEqual(ids([ready]));
    });

    it('answers short from a complete head, and misses when filtering leaves a cut head short', async () => {
      const c = await cache();
      const tasks = readyOrder([
        task('p', { priority: 'p0' }),
        task('p', { priority: 'p0', run_after: at(5_000) }),
        task('p', { priority: 'p1' }),
        task('p', { priority: 'p1' }),
      ]);
      await c.storeHead('p', head(pos(1), tasks, true));
      expect(ids(await c.ready('p', NOW, 10))).toEqual(ids([tasks[0]!, tasks[2]!, tasks[3]!]));
      expect(await c.ready('p', NOW, 10, 'p2')).toEqual([]);

      await c.storeHead('p', head(pos(2), tasks, false));
      expect(ids(await c.ready('p', NOW, 3))).toEqual(ids([tasks[0]!, tasks[2]!, tasks[3]!]));
      expect(await c.ready('p', NOW, 4)).toBeUndefined(); // the 4th ready task may lie past the cut
      expect(ids(await c.ready('p', NOW, 1, 'p0'))).toEqual(ids([tasks[0]!]));
      expect(await c.ready('p', NOW, 2, 'p0')).toBeUndefined();
      expect(await c.ready('p', NOW, 1, 'p2')).toBeUndefined();
    });

    it('answers an empty complete head with an empty list', async () => {
      const c = await cache();
      await c.storeHead('p', head(pos(1), [], true));
      expect(await c.ready('p', NOW, 10)).toEqual([]);
      await c.storeHead('p', head(pos(2), [], false));
      expect(await c.ready('p', NOW, 10)).toBeUndefined();
    });

    it('never lets a head from an earlier position replace a later one, comparing positions as numbers', async () => {
      const c = await cache();
      const newest = [task('p')];
      await c.storeHead('p', head(pos('10', '5'), newest));
      for (const older of [pos('10', '4'), pos('9', '999'), pos('9', '6')]) {
        await c.storeHead('p', head(older, [task('p')]));
        expect(ids(await c.ready('p', NOW, 10))).toEqual(ids(newest));
      }
      const later = [task('p')];
      await c.storeHead('p', head(pos('10', '10'), later));
      expect(ids(await c.ready('p', NOW, 10))).toEqual(ids(later));

      // Beyond 2^53 (xid8) and at 2^64 - 1: compared exactly.
      const big = [task('p')];
      await c.storeHead('p', head(pos('9007199254740993', '1'), big));
      await c.storeHead('p', head(pos('9007199254740992', '2'), [task('p')]));
      expect(ids(await c.ready('p', NOW, 10))).toEqual(ids(big));
      const top = [task('p')];
      await c.storeHead('p', head(pos('18446744073709551615', '18446744073709551615'), top));
      await c.storeHead('p', head(pos('18446744073709551615', '18446744073709551614'), [task('p')]));
      expect(ids(await c.ready('p', NOW, 10))).toEqual(ids(top));
    });

    it('replaces a head at the same position (a republished batch)', async () => {
      const c = await cache();
      await c.storeHead('p', head(pos(3, 3), [task('p')]));
      const again = [task('p')];
      await c.storeHead('p', head(pos(3, 3), again));
      expect(ids(await c.ready('p', NOW, 10))).toEqual(ids(again));
    });

    it('ends at the newest head when writers race with shuffled positions', async () => {
      const writers = await Promise.all([cache(), cache(), cache()]);
      const heads = Array.from({ length: 60 }, (_, i) => head(pos(1_000 + Math.floor(i / 3), i % 3), [task('race', { title: `head ${i}` })]));
      const shuffled = [...heads].sort(() => Math.random() - 0.5);
      await Promise.all(shuffled.map((h, i) => writers[i % writers.length]!.storeHead('race', h)));
      for (const reader of writers) expect(await reader.ready('race', NOW, 10)).toStrictEqual(heads.at(-1)!.tasks);
    });

    it('keeps the latest task row by (position, revision)', async () => {
      const c = await cache();
      const v3 = task('p', { revision: 3, title: 'v3' });
      const v = (revision: number) => ({ ...v3, revision, title: `v${revision}` });
      await c.storeTasks('p', pos(20, 2), [v3]);
      expect(await c.task('p', v3.id)).toStrictEqual(v3);

      await c.storeTasks('p', pos(20, 1), [v(4)]); // an earlier position
      await c.storeTasks('p', pos(9, 99), [v(5)]);
      await c.storeTasks('p', pos(20, 2), [v(2)]); // same position, older revision
      expect(await c.task('p', v3.id)).toStrictEqual(v3);

      await c.storeTasks('p', pos(20, 2), [v(4)]); // same position, newer revision
      expect(await c.task('p', v3.id)).toStrictEqual(v(4));
      await c.storeTasks('p', pos(21, 0), [v(6)]);
      expect(await c.task('p', v3.id)).toStrictEqual(v(6));
    });

    it('stores many tasks at once, each guarded on its own', async () => {
      const c = await cache();
      const kept = task('p', { revision: 9 });
      await c.storeTasks('p', pos(5), [kept]);
      const batch = [{ ...kept, revision: 8, title: 'stale' }, ...Array.from({ length: 50 }, () => task('p'))];
      await c.storeTasks('p', pos(4), batch);
      expect(await c.task('p', kept.id)).toStrictEqual(kept);
      for (const t of batch.slice(1)) expect(await c.task('p', t.id)).toStrictEqual(t);
      await c.storeTasks('p', pos(6), []);
    });

    it('misses a task it does not hold, or holds for another project', async () => {
      const c = await cache();
      const t = task('p');
      await c.storeTasks('p', pos(1), [t]);
      expect(await c.task('p', t.id)).toStrictEqual(t);
      expect(await c.task('p', 'loom-00000000')).toBeUndefined();
      expect(await c.task('other', t.id)).toBeUndefined();
    });

    it('keeps projects apart', async () => {
      const c = await cache();
      const a = [task('a'), task('a')];
      const b = [task('b')];
      await c.storeHead('a', head(pos(2), a));
      await c.storeHead('b', head(pos(1), b)); // an earlier position is fine for another project
      expect(ids(await c.ready('a', NOW, 10))).toEqual(ids(a));
      expect(ids(await c.ready('b', NOW, 10))).toEqual(ids(b));
      await c.storeHead('a', head(pos(3), []));
      expect(ids(await c.ready('b', NOW, 10))).toEqual(ids(b));
    });

    it('forgets everything on invalidateAll, then serves what is stored after it, older positions included', async () => {
      const c = await cache();
      const t = task('p', { revision: 7 });
      await c.storeHead('p', head(pos(50), [t]));
      await c.storeHead('q', head(pos(50), [task('q')]));
      await c.storeTasks('p', pos(50), [t]);
      await c.invalidateAll();
      expect(await c.ready('p', NOW, 10)).toBeUndefined();
      expect(await c.ready('q', NOW, 10)).toBeUndefined();
      expect(await c.task('p', t.id)).toBeUndefined();

      // Nothing from before counts, so nothing is "later" than a new entry.
      const after = [task('p')];
      await c.storeHead('p', head(pos(40), after));
      expect(ids(await c.ready('p', NOW, 10))).toEqual(ids(after));
      expect(await c.ready('q', NOW, 10)).toBeUndefined();
      const older = { ...t, revision: 6, title: 'older' };
      await c.storeTasks('p', pos(40), [older]);
      expect(await c.task('p', t.id)).toStrictEqual(older);

      await c.invalidateAll();
      await c.invalidateAll();
      expect(await c.ready('p', NOW, 10)).toBeUndefined();
    });
  });
}
