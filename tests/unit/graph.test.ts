import { describe, expect, it } from 'vitest';
import { LoomError } from '../../src/domain/errors.js';
import {
  buildGraphView,
  compareReady,
  computeWaves,
  criticalPathWeights,
  cycleError,
  effectiveDependencies,
  epicCompleteByCounts,
  findAnyCycle,
  findCycle,
  initialStatus,
  isReady,
  propagateFailure,
  unblockedBy,
  unmetCount,
  type GraphNode,
} from '../../src/domain/graph.js';
import type { BlockedReason, Priority, TaskStatus } from '../../src/domain/task.js';

const T0 = '2025-01-01T00:00:00.000Z';

/** A graph node; blocked when it has dependencies, pending otherwise, unless told. */
function node(id: string, depends_on: string[] = [], over: Partial<GraphNode> = {}): GraphNode {
  return {
    id,
    title: `task ${id}`,
    status: depends_on.length > 0 ? 'blocked' : 'pending',
    priority: 'p1',
    parent_id: null,
    depends_on,
    weight: 0,
    created_at: T0,
    ...over,
  };
}

/** Adjacency (task -> its dependencies) from a compact edge list. */
function deps(edges: Record<string, string[]>): Map<string, string[]> {
  return new Map(Object.entries(edges));
}

/** A cycle path is valid when it starts and ends at the task and each step is a real edge. */
function expectValidCycle(path: string[], taskId: string, newDeps: string[], graph: Map<string, string[]>): void {
  expect(path[0]).toBe(taskId);
  expect(path.at(-1)).toBe(taskId);
  expect(newDeps).toContain(path[1]);
  for (let i = 1; i < path.length - 1; i++) {
    expect(graph.get(path[i]!) ?? []).toContain(path[i + 1]);
  }
}

describe('findCycle', () => {
  it('finds a self-loop', () => {
    expect(findCycle('a', ['a'], deps({}))).toEqual(['a', 'a']);
  });

  it('finds a 2-cycle: a -> b when b already depends on a', () => {
    expect(findCycle('a', ['b'], deps({ b: ['a'] }))).toEqual(['a', 'b', 'a']);
  });

  it('finds a long cycle and names every task on it in order', () => {
    // e -> d -> c -> b -> a already; adding a -> e closes it.
    const g = deps({ e: ['d'], d: ['c'], c: ['b'], b: ['a'] });
    expect(findCycle('a', ['e'], g)).toEqual(['a', 'e', 'd', 'c', 'b', 'a']);
  });

  it('finds the cycle through the second of several new dependencies', () => {
    const g = deps({ y: ['z'], z: ['a'] });
    const path = findCycle('a', ['x', 'y'], g);
    expect(path).toEqual(['a', 'y', 'z', 'a']);
  });

  it('finds a cycle through a diamond', () => {
    // d -> b, c; b -> a; c -> a. Adding a -> d closes a -> d -> (b|c) -> a.
    const g = deps({ d: ['b', 'c'], b: ['a'], c: ['a'] });
    const path = findCycle('a', ['d'], g);
    expect(path).not.toBeNull();
    expect(path).toHaveLength(4);
    expectValidCycle(path!, 'a', ['d'], g);
  });

  it.each<[string, string, string[], Record<string, string[]>]>([
    ['diamond, new sink on top', 'e', ['d'], { d: ['b', 'c'], b: ['a'], c: ['a'] }],
    ['diamond, redundant shortcut d -> a', 'd', ['a'], { d: ['b', 'c'], b: ['a'], c: ['a'] }],
    ['diamond, both sides again', 'd', ['b', 'c'], { b: ['a'], c: ['a'] }],
    ['chain, depend on an ancestor', 'c', ['a'], { c: ['b'], b: ['a'] }],
    ['unknown dependency ids', 'a', ['x', 'y'], {}],
    ['no new dependencies', 'a', [], { a: ['b'], b: ['c'] }],
    ['an unrelated cycle elsewhere does not trap the search', 'a', ['x'], { x: ['y'], y: ['x'] }],
  ])('finds no cycle: %s', (_label, task, newDeps, edges) => {
    expect(findCycle(task, newDeps, deps(edges))).toBeNull();
  });

  it('handles a long chain without recursion limits', () => {
    const n = 3000;
    const g = new Map<string, string[]>();
    for (let i = 1; i < n; i++) g.set(`t${i}`, [`t${i - 1}`]);
    expect(findCycle('t0', [`t${n - 1}`], g)).toHaveLength(n + 1);
    expect(findCycle(`t${n}`, [`t${n - 1}`], g)).toBeNull();
  });
});

describe('findAnyCycle', () => {
  it('finds a self-loop, a 2-cycle and a cycle below an acyclic root, as a path along the edges', () => {
    expect(findAnyCycle(['a'], deps({ a: ['a'] }))).toEqual(['a', 'a']);
    expect(findAnyCycle(['a', 'b'], deps({ a: ['b'], b: ['a'] }))).toEqual(['a', 'b', 'a']);
    expect(findAnyCycle(['r', 'x'], deps({ r: ['s'], s: [], x: ['y'], y: ['z'], z: ['y'] }))).toEqual(['y', 'z', 'y']);
  });

  it('finds none in a diamond, a forest or a graph with unknown ids', () => {
    expect(findAnyCycle(['d', 'b', 'c', 'a'], deps({ d: ['b', 'c'], b: ['a'], c: ['a'] }))).toBeNull();
    expect(findAnyCycle(['a', 'b'], deps({ a: ['x'], b: ['y'] }))).toBeNull();
  });

  it('walks a layered graph of 20,000 nodes once, without recursion limits', () => {
    const n = 20_000;
    const g = new Map<string, string[]>([['t0', []]]);
    for (let i = 1; i < n; i++) g.set(`t${i}`, i > 2 ? ['t0', `t${i - 2}`] : ['t0']);
    const roots = [...g.keys()];
    const t0 = performance.now();
    expect(findAnyCycle(roots, g)).toBeNull();
    expect(performance.now() - t0).toBeLessThan(1_000);
    g.set('t0', [`t${n - 1}`]);
    const cycle = findAnyCycle(roots, g)!;
    expect(cycle[0]).toBe(cycle.at(-1));
    for (let i = 0; i < cycle.length - 1; i++) expect(g.get(cycle[i]!)).toContain(cycle[i + 1]);
  });
});

describe('cycleError', () => {
  it('is DEPENDENCY_CYCLE, names the whole path and gives a hint', () => {
    const e = cycleError(['a', 'b', 'c', 'a']);
    expect(LoomError.is(e)).toBe(true);
    expect(e.code).toBe('DEPENDENCY_CYCLE');
    expect(e.message).toContain('a -> b -> c -> a');
    expect(e.hint).toMatch(/nothing was written/i);
    expect(e.details).toEqual({ cycle: ['a', 'b', 'c', 'a'] });
  });
});

describe('effectiveDependencies', () => {
  it.each<[string, string[], { depends_on: string[] } | null, string[]]>([
    ['no parent', ['a', 'b'], null, ['a', 'b']],
    ['parent with no dependencies', ['a'], { depends_on: [] }, ['a']],
    ['inherits the epic dependencies', ['a'], { depends_on: ['x', 'y'] }, ['a', 'x', 'y']],
    ['only inherited', [], { depends_on: ['x'] }, ['x']],
    ['deduplicates shared ones', ['a', 'x'], { depends_on: ['x', 'y'] }, ['a', 'x', 'y']],
    ['deduplicates its own repeats', ['a', 'a'], null, ['a']],
  ])('%s', (_label, own, parent, expected) => {
    expect(effectiveDependencies(own, parent)).toEqual(expected);
  });
});

describe('unmetCount', () => {
  it.each<[TaskStatus[], number]>([
    [[], 0],
    [['done'], 0],
    [['done', 'done'], 0],
    [['pending'], 1],
    [['done', 'claimed', 'blocked'], 2],
    // Only done satisfies a dependency: failed/cancelled keep dependents waiting.
    [['failed', 'cancelled', 'epic'], 3],
  ])('%j -> %i', (statuses, expected) => {
    expect(unmetCount(statuses.map((status) => ({ status })))).toBe(expected);
  });
});

describe('initialStatus', () => {
  it.each<[boolean, TaskStatus[], TaskStatus, 'dependencies' | 'dependency_failed' | null]>([
    [false, [], 'pending', null],
    [false, ['done', 'done'], 'pending', null],
    [false, ['pending'], 'blocked', 'dependencies'],
    [false, ['done', 'claimed', 'blocked', 'epic', 'pending'], 'blocked', 'dependencies'],
    [false, ['done', 'failed'], 'blocked', 'dependency_failed'],
    [false, ['pending', 'cancelled'], 'blocked', 'dependency_failed'],
    [true, [], 'epic', null],
    [true, ['pending', 'failed'], 'epic', null],
  ])('epic=%s deps=%j -> %s (%s)', (epic, deps, status, reason) => {
    expect(initialStatus(epic, deps.map((s) => ({ status: s })))).toEqual({ status, blocked_reason: reason });
  });
});

describe('unblockedBy', () => {
  type Dep = { id: string; status: TaskStatus; blocked_reason: BlockedReason | null; unmet_deps: number };
  it.each<[string, Dep, boolean]>([
    ['blocked on its last dependency', { id: 'a', status: 'blocked', blocked_reason: 'dependencies', unmet_deps: 1 }, true],
    ['still waiting on another dependency', { id: 'a', status: 'blocked', blocked_reason: 'dependencies', unmet_deps: 2 }, false],
    ['blocked on a human (escalation)', { id: 'a', status: 'blocked', blocked_reason: 'escalation', unmet_deps: 1 }, false],
    ['blocked behind a failed dependency', { id: 'a', status: 'blocked', blocked_reason: 'dependency_failed', unmet_deps: 1 }, false],
    ['already pending', { id: 'a', status: 'pending', blocked_reason: null, unmet_deps: 0 }, false],
    ['cancelled', { id: 'a', status: 'cancelled', blocked_reason: null, unmet_deps: 1 }, false],
  ])('%s -> %s', (_label, dep, expected) => {
    expect(unblockedBy([dep])).toEqual(expected ? ['a'] : []);
  });

  it('returns every unblocked dependent of a set at once', () => {
    expect(
      unblockedBy([
        { id: 'a', status: 'blocked', blocked_reason: 'dependencies', unmet_deps: 1 },
        { id: 'b', status: 'blocked', blocked_reason: 'dependencies', unmet_deps: 3 },
        { id: 'c', status: 'blocked', blocked_reason: 'dependencies', unmet_deps: 1 },
      ]),
    ).toEqual(['a', 'c']);
  });
});

describe('epicCompleteByCounts', () => {
  it.each<[string, TaskStatus[], boolean]>([
    ['no children yet', [], false],
    ['one child done', ['done'], true],
    ['all children done', ['done', 'done', 'done'], true],
    ['one child still pending', ['done', 'pending'], false],
    ['one child claimed', ['done', 'claimed'], false],
    ['one child blocked', ['blocked', 'done'], false],
    ['one child failed', ['done', 'failed'], false],
    // a cancelled child is work dropped on purpose, not work outstanding
    ['one child cancelled', ['done', 'cancelled'], true],
    ['every child cancelled', ['cancelled', 'cancelled'], false],
    ['a nested epic not complete yet', ['done', 'epic'], false],
  ])('%s -> %s', (_label, statuses, expected) => {
    const counts: Partial<Record<TaskStatus, number>> = {};
    for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
    expect(epicCompleteByCounts(counts)).toBe(expected);
  });
});

describe('propagateFailure', () => {
  const dependents: Array<{ id: string; status: TaskStatus }> = [
    { id: 'pending', status: 'pending' },
    { id: 'blocked', status: 'blocked' },
    { id: 'claimed', status: 'claimed' },
    { id: 'done', status: 'done' },
    { id: 'failed', status: 'failed' },
    { id: 'cancelled', status: 'cancelled' },
    { id: 'epic', status: 'epic' },
  ];

  it.each<['block' | 'cancel', { cancel: string[]; block: string[] }]>([
    ['cancel', { cancel: ['pending', 'blocked'], block: [] }],
    ['block', { cancel: [], block: ['pending', 'blocked'] }],
  ])('policy %s touches only open, unclaimed dependents', (policy, expected) => {
    expect(propagateFailure(policy, dependents)).toEqual(expected);
  });

  it('policy block leaves a dependent that waits for a person as it is; cancel cancels it with the rest', () => {
    const waiting = [{ id: 'asked', status: 'blocked' as const, blocked_reason: 'escalation' as const }, { id: 'blocked', status: 'blocked' as const, blocked_reason: 'dependencies' as const }];
    expect(propagateFailure('block', waiting)).toEqual({ cancel: [], block: ['blocked'] });
    expect(propagateFailure('cancel', waiting)).toEqual({ cancel: ['asked', 'blocked'], block: [] });
  });

  it.each(['block', 'cancel'] as const)('policy %s with no dependents does nothing', (policy) => {
    expect(propagateFailure(policy, [])).toEqual({ cancel: [], block: [] });
  });
});

describe('compareReady', () => {
  type R = { id: string; priority: Priority; weight: number; created_at: string };
  const r = (id: string, priority: Priority, weight: number, created_at: string): R => ({ id, priority, weight, created_at });

  it.each<[string, R, R]>([
    ['higher priority first', r('b', 'p0', 0, '2025-01-02T00:00:00.000Z'), r('a', 'p1', 0, T0)],
    ['priority beats weight', r('b', 'p0', 0, T0), r('a', 'p1', 100, T0)],
    ['priority beats age', r('b', 'p1', 0, '2025-06-01T00:00:00.000Z'), r('a', 'p2', 0, T0)],
    ['heavier first at the same priority', r('b', 'p1', 5, '2025-02-01T00:00:00.000Z'), r('a', 'p1', 4, T0)],
    ['weight beats age', r('b', 'p2', 1, '2025-12-31T00:00:00.000Z'), r('a', 'p2', 0, T0)],
    ['older first at the same priority and weight', r('b', 'p1', 3, T0), r('a', 'p1', 3, '2025-01-01T00:00:00.001Z')],
    ['id breaks a full tie', r('a', 'p1', 3, T0), r('b', 'p1', 3, T0)],
  ])('%s', (_label, first, second) => {
    expect(compareReady(first, second)).toBeLessThan(0);
    expect(compareReady(second, first)).toBeGreaterThan(0);
  });

  it('is 0 only for the same key', () => {
    expect(compareReady(r('a', 'p1', 1, T0), r('a', 'p1', 1, T0))).toBe(0);
  });

  it('sorts a mixed list in ready order', () => {
    const list = [
      r('p2-old', 'p2', 9, '2024-01-01T00:00:00.000Z'),
      r('p1-light-old', 'p1', 0, '2024-01-01T00:00:00.000Z'),
      r('p1-heavy-new', 'p1', 3, '2025-03-01T00:00:00.000Z'),
      r('p0-light-new', 'p0', 0, '2025-03-01T00:00:00.000Z'),
      r('p1-light-new-b', 'p1', 0, '2025-03-01T00:00:00.000Z'),
      r('p1-light-new-a', 'p1', 0, '2025-03-01T00:00:00.000Z'),
    ];
    expect(list.sort(compareReady).map((x) => x.id)).toEqual([
      'p0-light-new',
      'p1-heavy-new',
      'p1-light-old',
      'p1-light-new-a',
      'p1-light-new-b',
      'p2-old',
    ]);
  });
});

describe('isReady', () => {
  const now = new Date('2025-01-01T12:00:00.000Z');
  it.each<[string, TaskStatus, number, string | null, boolean]>([
    ['pending, no deps, no backoff', 'pending', 0, null, true],
    ['backoff over', 'pending', 0, '2025-01-01T11:59:59.999Z', true],
    ['backoff ends exactly now', 'pending', 0, '2025-01-01T12:00:00.000Z', true],
    ['backoff still running', 'pending', 0, '2025-01-01T12:00:00.001Z', false],
    ['a dependency not done', 'pending', 1, null, false],
    ['blocked', 'blocked', 0, null, false],
    ['claimed', 'claimed', 0, null, false],
    ['failed (dead letter) is never ready', 'failed', 0, null, false],
    ['done', 'done', 0, null, false],
    ['cancelled', 'cancelled', 0, null, false],
    ['epic', 'epic', 0, null, false],
  ])('%s -> %s', (_label, status, unmet_deps, run_after, expected) => {
    expect(isReady({ status, unmet_deps, run_after }, now)).toBe(expected);
  });
});

describe('criticalPathWeights', () => {
  const weights = (nodes: GraphNode[]): Record<string, number> => Object.fromEntries(criticalPathWeights(nodes));

  // Diamond: b and c wait for a; d waits for b and c.
  const diamond = (over: Partial<Record<string, Partial<GraphNode>>> = {}): GraphNode[] => [
    node('a', [], over.a),
    node('b', ['a'], over.b),
    node('c', ['a'], over.c),
    node('d', ['b', 'c'], over.d),
  ];

  it.each<[string, GraphNode[], Record<string, number>]>([
    ['a diamond counts d once for a', diamond(), { a: 3, b: 1, c: 1, d: 0 }],
    ['a done dependent is not counted', diamond({ d: { status: 'done' } }), { a: 2, b: 0, c: 0, d: 0 }],
    ['a cancelled dependent is not counted', diamond({ c: { status: 'cancelled' } }), { a: 2, b: 1, c: 1, d: 0 }],
    ['a failed dependent is not counted', diamond({ b: { status: 'failed' } }), { a: 2, b: 1, c: 1, d: 0 }],
    ['a claimed dependent is still open work', diamond({ b: { status: 'claimed' } }), { a: 3, b: 1, c: 1, d: 0 }],
    [
      'a chain counts everything downstream',
      [node('a'), node('b', ['a']), node('c', ['b']), node('d', ['c'])],
      { a: 3, b: 2, c: 1, d: 0 },
    ],
    [
      'open work behind a done task still counts upstream',
      [node('a'), node('b', ['a'], { status: 'done' }), node('c', ['b'])],
      { a: 1, b: 1, c: 0 },
    ],
    ['a fan-out', [node('a'), node('b', ['a']), node('c', ['a']), node('d', ['a'])], { a: 3, b: 0, c: 0, d: 0 }],
    ['isolated tasks weigh nothing', [node('a'), node('b')], { a: 0, b: 0 }],
    ['a dependency outside the slice is ignored', [node('b', ['zz'])], { b: 0 }],
  ])('%s', (_label, nodes, expected) => {
    expect(weights(nodes)).toEqual(expected);
  });

  it('gives heavier weight to the task on the longer critical path', () => {
    // x unblocks a chain of 3; y unblocks a single task.
    const w = weights([node('x'), node('x1', ['x']), node('x2', ['x1']), node('x3', ['x2']), node('y'), node('y1', ['y'])]);
    expect(w.x).toBeGreaterThan(w.y!);
  });
});

describe('computeWaves', () => {
  it.each<[string, GraphNode[], string[][], string[]]>([
    ['a chain runs one at a time', [node('a'), node('b', ['a']), node('c', ['b'])], [['a'], ['b'], ['c']], []],
    [
      'a diamond has a two-wide middle',
      [node('a'), node('b', ['a']), node('c', ['a']), node('d', ['b', 'c'])],
      [['a'], ['b', 'c'], ['d']],
      [],
    ],
    [
      'a forest runs its roots together',
      [node('a'), node('b', ['a']), node('x'), node('y', ['x']), node('z', ['y'])],
      [['a', 'x'], ['b', 'y'], ['z']],
      [],
    ],
    [
      'an uneven join waits for its longest branch',
      [node('a'), node('b', ['a']), node('c', ['b']), node('d', ['a', 'c'])],
      [['a'], ['b'], ['c'], ['d']],
      [],
    ],
    [
      'done dependencies are ignored',
      [node('a', [], { status: 'done' }), node('b', ['a'], { status: 'pending' }), node('c', ['b'])],
      [['b'], ['c']],
      [],
    ],
    [
      'a running (claimed) task is in the first wave',
      [node('a', [], { status: 'claimed' }), node('b', ['a'])],
      [['a'], ['b']],
      [],
    ],
    [
      'tasks behind a failed dependency are stuck, transitively',
      [node('a', [], { status: 'failed' }), node('b', ['a']), node('c', ['b']), node('d')],
      [['d']],
      ['b', 'c'],
    ],
    [
      'tasks behind a cancelled dependency are stuck',
      [node('a', [], { status: 'cancelled' }), node('b', ['a']), node('c')],
      [['c']],
      ['b'],
    ],
    [
      'a join with one failed branch is stuck, the healthy branch still runs',
      [node('a'), node('f', [], { status: 'failed' }), node('b', ['a']), node('d', ['b', 'f'])],
      [['a'], ['b']],
      ['d'],
    ],
    ['no open work, no waves', [node('a', [], { status: 'done' }), node('b', ['a'], { status: 'done' })], [], []],
    [
      'terminal tasks are never listed',
      [node('a', [], { status: 'done' }), node('b', [], { status: 'failed' }), node('c', [], { status: 'cancelled' })],
      [],
      [],
    ],
    ['epics are containers, not work', [node('e', [], { status: 'epic' }), node('c', [], { parent_id: 'e' })], [['c']], []],
    ['a dependency outside the slice is ignored', [node('b', ['zz'])], [['b']], []],
  ])('%s', (_label, nodes, waves, stuck) => {
    expect(computeWaves(nodes)).toEqual({ waves, stuck });
  });

  it('orders tasks inside a wave by ready order', () => {
    const nodes = [
      node('a', [], { priority: 'p2' }),
      node('b', [], { priority: 'p0' }),
      node('c', [], { priority: 'p1', weight: 1 }),
      node('d', [], { priority: 'p1', weight: 5 }),
    ];
    expect(computeWaves(nodes).waves).toEqual([['b', 'd', 'c', 'a']]);
  });

  it('puts every open task in exactly one wave or in stuck', () => {
    const nodes = [
      node('a'),
      node('b', ['a']),
      node('c', ['a'], { status: 'claimed' }),
      node('f', [], { status: 'failed' }),
      node('g', ['f', 'b']),
      node('h', ['g']),
      node('i', ['b', 'c']),
      node('x', [], { status: 'done' }),
    ];
    const { waves, stuck } = computeWaves(nodes);
    const listed = [...waves.flat(), ...stuck].sort();
    expect(listed).toEqual(['a', 'b', 'c', 'g', 'h', 'i']);
    expect(stuck).toEqual(['g', 'h']);
  });

  it('places each task after all of its open dependencies', () => {
    const nodes = [node('a'), node('b'), node('c', ['a']), node('d', ['c', 'b']), node('e', ['a', 'd']), node('f', ['b'])];
    const { waves } = computeWaves(nodes);
    const level = new Map(waves.flatMap((w, i) => w.map((id) => [id, i] as const)));
    for (const n of nodes) for (const d of n.depends_on) expect(level.get(n.id)!).toBeGreaterThan(level.get(d)!);
  });

  /**
   * BUG (reported, not fixed here): a task that depends on an epic waits until
   * the epic completes (unmetCount counts the epic as unmet), i.e. until the
   * epic's children are done. computeWaves skips epic dependencies, so the task
   * lands in wave 1 next to the children it is waiting for. Remove `.fails`
   * once the domain places it after the epic's open children.
   */
  it('a task that depends on an epic comes after the epic\'s open children', () => {
    const nodes = [node('e', [], { status: 'epic' }), node('c', [], { parent_id: 'e' }), node('t', ['e'])];
    expect(computeWaves(nodes)).toEqual({ waves: [['c'], ['t']], stuck: [] });
  });
});

describe('buildGraphView', () => {
  it('lists every node, one edge per dependency [task, dependency], and the waves', () => {
    const nodes = [node('a'), node('b', ['a']), node('c', ['a']), node('d', ['b', 'c'])];
    const view = buildGraphView(nodes);
    expect(view.nodes.map((n) => n.id)).toEqual(['a', 'b', 'c', 'd']);
    expect(view.edges).toEqual([
      ['b', 'a'],
      ['c', 'a'],
      ['d', 'b'],
      ['d', 'c'],
    ]);
    expect(view.waves).toEqual([['a'], ['b', 'c'], ['d']]);
    expect(view.stuck).toEqual([]);
  });

  it('does not share its node list with the caller', () => {
    const nodes = [node('a')];
    const view = buildGraphView(nodes);
    nodes.push(node('b'));
    expect(view.nodes).toHaveLength(1);
  });
});
