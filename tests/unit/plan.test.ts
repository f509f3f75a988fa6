import { describe, expect, it } from 'vitest';
import { LoomError } from '../../src/domain/errors.js';
import {
  canonicalJson,
  checkAgainstGraph,
  checkPlan,
  planItems,
  MAX_PLAN_TASKS,
  normalizePlan,
  planWeights,
  type Plan,
} from '../../src/domain/plan.js';
import type { JsonObject } from '../../src/domain/task.js';
import { planHash } from '../../src/app/use-cases/decompose.js';
import { checkBatch, decideBatch } from '../../src/domain/batch.js';
import { taskFixture } from '../support/task-fixture.js';

type Row = [key: string, depends_on?: string[], extra?: JsonObject];
const plan = (...rows: Row[]): Plan =>
  normalizePlan({ title: 'P', tasks: rows.map(([key, depends_on = [], extra = {}]) => ({ key, title: `task ${key}`, done_when: 'checked', depends_on, ...extra })) });

function failure(fn: () => unknown): LoomError {
  try {
    fn();
  } catch (e) {
    if (LoomError.is(e)) return e;
    throw e;
  }
  throw new Error('expected a LoomError');
}

describe('checkPlan: what a plan must be by itself', () => {
  const refused: Array<[string, Plan, string, RegExp]> = [
    ['a cycle of two', plan(['a', ['b']], ['b', ['a']]), 'DEPENDENCY_CYCLE', /a -> b -> a/],
    ['a task depending on itself', plan(['a', ['a']]), 'DEPENDENCY_CYCLE', /a -> a/],
    ['a long cycle', plan(['a', ['c']], ['b', ['a']], ['c', ['b']], ['d', ['a']]), 'DEPENDENCY_CYCLE', /a -> c -> b -> a/],
    ['an unknown key', plan(['a'], ['b', ['a', 'zzz']]), 'DEPENDENCY_NOT_FOUND', /b -> zzz/],
    ['duplicate keys', plan(['a'], ['b', ['a']], ['a']), 'VALIDATION_FAILED', /duplicate plan keys: a/],
    ['a flat plan of four', plan(['a'], ['b'], ['c'], ['d']), 'PLAN_FLAT', /4 tasks and no dependency edges/],
    ['a flat plan of four whose only edges point outside', plan(['a'], ['b'], ['c'], ['d']), 'PLAN_FLAT', /no dependency edges/],
  ];
  it.each(refused)('refuses %s', (_name, p, code, message) => {
    const e = failure(() => checkPlan(p, { allow_flat: false }));
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
    expect(e.hint).toContain('Nothing was written');
  });

  it('refuses more than the task limit before looking at the tasks', () => {
    const big = { title: 'big', tasks: Array.from({ length: MAX_PLAN_TASKS + 1 }, (_, i) => ({ key: `k${i}` })) } as unknown as Plan;
    expect(failure(() => checkPlan(big, { allow_flat: true }))).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/at most 2000/) });
  });

  const accepted: Array<[string, Plan, boolean]> = [
    ['three tasks without edges', plan(['a'], ['b'], ['c']), false],
    ['a flat plan with allow_flat', plan(['a'], ['b'], ['c'], ['d']), true],
    ['four tasks with one edge', plan(['a'], ['b', ['a']], ['c'], ['d']), false],
    ['a plan whose only edges name existing tasks', plan(['a', ['loom-0000000a']], ['b'], ['c'], ['d']), false],
  ];
  it.each(accepted)('accepts %s', (_name, p, allow_flat) => {
    expect(() => checkPlan(p, { allow_flat })).not.toThrow();
  });

  it('computes waves, the critical path, edges and the existing ids named', () => {
    const s = checkPlan(plan(['spec'], ['index', ['spec']], ['api', ['index', 'loom-0000000a']], ['docs', ['spec']], ['review', ['api', 'docs']]), { allow_flat: false });
    expect(s.waves).toEqual([['spec'], ['index', 'docs'], ['api'], ['review']]);
    expect(s.critical_path).toEqual(['spec', 'index', 'api', 'review']);
    expect(s.external).toEqual(['loom-0000000a']);
    expect(s.edges).toContainEqual(['api', 'loom-0000000a']);
    expect(s.edges).toHaveLength(6);
  });

  it('handles a chain as deep as the task limit without recursion', () => {
    const rows: Row[] = Array.from({ length: MAX_PLAN_TASKS }, (_, i) => [`t${i}`, i === 0 ? [] : [`t${i - 1}`]]);
    const s = checkPlan(plan(...rows), { allow_flat: false });
    expect(s.waves).toHaveLength(MAX_PLAN_TASKS);
    expect(s.critical_path).toHaveLength(MAX_PLAN_TASKS);
  });

  const warned: Array<[string, Plan, Array<[string, string[]]>]> = [
    ['no done_when', plan(['a'], ['b', ['a'], { done_when: '' }]), [['no_done_when', ['b']]]],
    ['duplicate titles (case and spacing aside)', plan(['a', [], { title: 'Build  it' }], ['b', ['a'], { title: 'build it' }]), [['duplicate_title', ['a', 'b']]]],
    ['an isolated key', plan(['a'], ['b', ['a']], ['c']), [['isolated', ['c']]]],
    ['nothing for a single task', plan(['a']), []],
    ['nothing for a task that only depends on an existing one', plan(['a'], ['b', ['a']], ['c', ['loom-0000000a']]), []],
  ];
  it.each(warned)('warns of %s', (_name, p, expected) => {
    expect(checkPlan(p, { allow_flat: false }).warnings.map((w) => [w.code, w.keys])).toEqual(expected);
  });
});

describe('checkAgainstGraph: the plan with the existing graph', () => {
  const shape = checkPlan(plan(['a', ['loom-0000000a']], ['b', ['a', 'loom-0000000b']]), { allow_flat: false });
  it('refuses ids not in the project', () => {
    expect(failure(() => checkAgainstGraph(shape, new Set(['loom-0000000a']), null, new Map()))).toMatchObject({
      code: 'DEPENDENCY_NOT_FOUND',
      details: { task_ids: ['loom-0000000b'] },
    });
  });
  it('refuses a cycle through existing tasks back to the epic the plan goes under', () => {
    // loom-0000000b depends on loom-0000000c, which depends on the epic loom-000000e1.
    const waits = new Map([
      ['loom-0000000b', ['loom-0000000c']],
      ['loom-0000000c', ['loom-000000e1']],
    ]);
    const e = failure(() => checkAgainstGraph(shape, new Set(['loom-0000000a', 'loom-0000000b']), 'loom-000000e1', waits));
    expect(e.code).toBe('DEPENDENCY_CYCLE');
    expect(e.details?.cycle).toEqual(['loom-000000e1', 'b (plan)', 'loom-0000000b', 'loom-0000000c', 'loom-000000e1']);
  });
  it('accepts the same dependencies under a new epic (nothing can wait for it yet)', () => {
    expect(() => checkAgainstGraph(shape, new Set(['loom-0000000a', 'loom-0000000b']), null, new Map())).not.toThrow();
  });
});

describe('the plan hash', () => {
  const p = plan(['a'], ['b', ['a']]);
  it('is the same for the same plan whatever the key order or spelled-out defaults', () => {
    const spelled = normalizePlan({
      tasks: [
        { title: 'task a', key: 'a', done_when: 'checked', priority: 'p1', context: {}, depends_on: [] },
        { depends_on: ['a', 'a'], key: 'b', title: 'task b', done_when: 'checked' },
      ],
      title: 'P',
    });
    expect(planHash(spelled, null, false)).toBe(planHash(p, null, false));
  });
  it.each([
    ['another parent', planHash(p, 'loom-000000e1', false)],
    ['allow_flat', planHash(p, null, true)],
    ['another title', planHash({ ...p, title: 'Q' }, null, false)],
    ['another edge', planHash(plan(['a'], ['b']), null, false)],
  ])('changes with %s', (_name, other) => {
    expect(other).not.toBe(planHash(p, null, false));
  });
  it('canonical JSON sorts keys at every depth', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"e":0,"f":1}]},"b":1}');
  });
});

describe('decideBatch of a plan under an epic', () => {
  it('blocks tasks behind open dependencies, inherits the epic blockers, and weighs the critical path', () => {
    const p = plan(['spec'], ['index', ['spec', 'loom-0000000d']], ['api', ['index']], ['bad', ['loom-0000000f']]);
    const epic = taskFixture({ id: 'loom-000000e1', status: 'epic', depends_on: ['loom-0000000b'] });
    const ids = new Map([
      ['spec', 'loom-00000001'],
      ['index', 'loom-00000002'],
      ['api', 'loom-00000003'],
      ['bad', 'loom-00000004'],
    ]);
    const existing = new Map([
      ['loom-0000000b', taskFixture({ id: 'loom-0000000b', status: 'done' })],
      ['loom-0000000d', taskFixture({ id: 'loom-0000000d', status: 'pending' })],
      ['loom-0000000f', taskFixture({ id: 'loom-0000000f', status: 'failed' })],
      [epic.id, epic],
    ]);
    const items = planItems(p, epic.id);
    const w = decideBatch(items, checkBatch(items), ids, existing, { project_id: epic.project_id, origin: { kind: 'test', id: 't' }, now: new Date('2026-01-01T00:00:00Z'), defaults: { max_attempts: 3 } });
    const by = new Map(w.tasks.map((t) => [t.context.plan_key, t]));
    expect(by.get('spec')).toMatchObject({ status: 'pending', unmet_deps: 0, weight: 2, parent_id: epic.id, depends_on: ['loom-0000000b'] });
    expect(by.get('index')).toMatchObject({ status: 'blocked', blocked_reason: 'dependencies', unmet_deps: 2, weight: 1 });
    expect(by.get('api')).toMatchObject({ status: 'blocked', unmet_deps: 1, weight: 0 });
    expect(by.get('bad')).toMatchObject({ status: 'blocked', blocked_reason: 'dependency_failed' });
    expect(w.edges).toContainEqual({ task_id: 'loom-00000001', depends_on: 'loom-0000000b', inherited: true });
    expect(w.edges).toContainEqual({ task_id: 'loom-00000002', depends_on: 'loom-00000001', inherited: false });
    expect(w.events.filter((e) => e.type === 'task.created')).toHaveLength(4);
    expect(planWeights(p).get('spec')).toBe(2);
  });
});
