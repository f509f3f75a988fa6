import { describe, expect, it } from 'vitest';
import { criticalPathWeights } from '../../src/domain/graph.js';
import { expectedWeights, findCycles } from '../../src/domain/graph-walks.js';
import type { TaskStatus } from '../../src/domain/task.js';

interface Node {
  id: string;
  status: TaskStatus;
  depends_on: string[];
  parent_id: string | null;
}
const t = (id: string, over: Partial<Node> = {}): Node => ({ id, status: 'pending', depends_on: [], parent_id: null, ...over });

describe('findCycles', () => {
  const chain = (n: number, closed: boolean): Node[] =>
    Array.from({ length: n }, (_, i) => t(`t${String(i).padStart(6, '0')}`, { depends_on: i > 0 ? [`t${String(i - 1).padStart(6, '0')}`] : closed ? [`t${String(n - 1).padStart(6, '0')}`] : [] }));

  it('finds each cycle once, as the shortest path back to its smallest id', () => {
    const tasks = [
      t('a', { depends_on: ['b'] }),
      t('b', { depends_on: ['c', 'a'] }),
      t('c', { depends_on: ['a'] }),
      t('d', { depends_on: ['e'] }),
      t('e', { depends_on: ['d'] }),
      t('f', { depends_on: ['a'] }),
    ];
    expect(findCycles(tasks)).toEqual([
      ['a', 'b', 'a'],
      ['d', 'e', 'd'],
    ]);
  });

  it('counts an epic as waiting for its children', () => {
    expect(findCycles([t('e', { status: 'epic' }), t('c', { parent_id: 'e', depends_on: ['e'] })])).toEqual([['c', 'e', 'c']]);
    expect(findCycles([t('e', { status: 'epic' }), t('c', { parent_id: 'e' })])).toEqual([]);
  });

  it('finds a self-loop', () => {
    expect(findCycles([t('a', { depends_on: ['a'] })])).toEqual([['a', 'a']]);
  });

  it('walks a 100,000-task chain without recursing', () => {
    expect(findCycles(chain(100_000, false))).toEqual([]);
    const closed = findCycles(chain(100_000, true));
    expect(closed).toHaveLength(1);
    expect(closed[0]).toHaveLength(100_001);
  });

  it('ignores edges to tasks outside the snapshot', () => {
    expect(findCycles([t('a', { depends_on: ['zz'] })])).toEqual([]);
  });
});


describe('expectedWeights', () => {
  /** mulberry32: seeded, so a failing graph can be replayed. */
  const seeded = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let x = seed;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const STATUSES: TaskStatus[] = ['pending', 'blocked', 'claimed', 'done', 'failed', 'cancelled', 'epic'];

  it.each([1, 2, 3, 4, 5, 6, 7, 8])('equals criticalPathWeights for the open work of random graph %i (cycles and missing tasks included)', (seed) => {
    const random = seeded(seed);
    const n = 40 + Math.floor(random() * 80);
    const ids = Array.from({ length: n }, (_, i) => `t${i}`);
    const tasks = ids.map((id, i) =>
      t(id, {
        status: STATUSES[Math.floor(random() * STATUSES.length)]!,
        // mostly earlier tasks (a DAG), now and then a later one (a cycle) or one not in the snapshot
        depends_on: [...new Set(Array.from({ length: Math.floor(random() * 4) }, () => (random() < 0.1 ? `t${Math.floor(random() * n * 1.1)}` : ids[Math.floor(random() * Math.max(1, i))]!)))].filter((d) => d !== id),
      }),
    );
    const reference = criticalPathWeights(tasks);
    const open = tasks.filter((x) => ['pending', 'blocked', 'claimed'].includes(x.status));
    expect(expectedWeights(tasks)).toEqual(new Map(open.map((x) => [x.id, reference.get(x.id)])));
  });
});

