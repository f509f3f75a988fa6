import { describe, expect, it } from 'vitest';
import { decideLoopRound, loopSpecOf, planRound, roundOf, type LoopSpec } from '../../src/domain/workflow-loop.js';
import { compileCondition, ConditionError } from '../../src/app/workflows/conditions.js';
import { taskFixture } from '../support/task-fixture.js';

const spec: LoopSpec = { until: 'output.approved == true', max_rounds: 3, repeat: ['implement', 'tests'] };

describe('decideLoopRound', () => {
  it.each([
    ['held in round 1', 1, { held: true }, { kind: 'finished' }],
    ['held in the last round', 3, { held: true }, { kind: 'finished' }],
    ['not held in round 1: round 2', 1, { held: false }, { kind: 'add_round', round: 2 }],
    ['not held in round 2: round 3', 2, { held: false }, { kind: 'add_round', round: 3 }],
    ['an evaluation error counts as not held', 1, { held: false, error: 'No such key: approved' }, { kind: 'add_round', round: 2 }],
  ] as const)('%s', (_name, round, until, expected) => {
    expect(decideLoopRound(spec, round, until)).toEqual(expected);
  });
  it('after max_rounds asks a person, saying why', () => {
    const d = decideLoopRound(spec, 3, { held: false });
    expect(d).toMatchObject({ kind: 'escalate', message: expect.stringMatching(/round 3 of 3 ended and output.approved == true still does not hold/) });
    expect(decideLoopRound(spec, 3, { held: false, error: 'No such key: approved' })).toMatchObject({ message: expect.stringMatching(/could not be evaluated \(No such key: approved\)/) });
  });
});

describe('loopSpecOf and roundOf', () => {
  it.each([
    [{ workflow_loop: { until: 'x', max_rounds: 2, repeat: ['a'] } }, { until: 'x', max_rounds: 2, repeat: ['a'] }],
    [{}, null],
    [{ workflow_loop: 'no' }, null],
    [{ workflow_loop: { until: 'x', max_rounds: '2', repeat: ['a'] } }, null],
    [{ workflow_loop: { until: 'x', max_rounds: 2, repeat: [1] } }, null],
  ])('%j', (context, expected) => {
    expect(loopSpecOf({ context })).toEqual(expected);
  });
  it('a task without a round is in round 1', () => {
    expect(roundOf({ context: {} })).toBe(1);
    expect(roundOf({ context: { round: 3 } })).toBe(3);
  });
});

describe('planRound', () => {
  const t = (id: string, step: string, depends_on: string[], over = {}) =>
    taskFixture({ id, title: `T ${step}`, depends_on, context: { step, plan_key: step, skill: 'review_output', ...over } });
  it('copies the repeated steps after the loop step, their edges following the copies, then the loop step', () => {
    const criteria = 'loom-00000001';
    const plan = 'loom-00000002';
    const impl = t('loom-00000003', 'implement', [criteria]);
    const tests = t('loom-00000004', 'tests', ['loom-00000003', plan]);
    const review = t('loom-00000005', 'review', ['loom-00000003', 'loom-00000004']);
    const out = planRound(review, [impl, tests], 2, { approved: false, findings: ['f1'] });
    expect(out.map((x) => [x.key, x.depends_on, x.title])).toEqual([
      ['implement-r2', [criteria, review.id], 'T implement (round 2)'],
      ['tests-r2', ['implement-r2', plan], 'T tests (round 2)'],
      ['review-r2', ['implement-r2', 'tests-r2', review.id], 'T review (round 2)'],
    ]);
    expect(out[0]!.context).toMatchObject({ round: 2, review: { task_id: review.id, round: 1, findings: ['f1'] } });
    expect(out[0]!.context.plan_key).toBeUndefined();
    expect(out[0]!.skill).toBe('review_output');
    expect(out[2]!.context).toMatchObject({ previous_review: { task_id: review.id } });
  });
  it('keys of a later round drop the earlier suffix', () => {
    const impl = t('loom-00000003', 'implement', [], { plan_key: 'implement-r2', round: 2 });
    const review = t('loom-00000005', 'review', ['loom-00000003'], { plan_key: 'review-r2', round: 2 });
    expect(planRound(review, [impl], 3, undefined).map((x) => x.key)).toEqual(['implement-r3', 'review-r3']);
  });
});

describe('conditions (CEL)', () => {
  it.each([
    ['inputs.with_docs', { inputs: { with_docs: true } }, true],
    ['size(inputs.modules) == 2', { inputs: { modules: ['a', 'b'] } }, true],
    ['inputs.n > 2', { inputs: { n: 3 } }, true],
    ['has(output.approved) && output.approved', { output: {} }, false],
    ['outputs.review.approved == false', { outputs: { review: { approved: false } } }, true],
    ['inputs.modules.map(m, m + "!")', { inputs: { modules: ['a'] } }, ['a!']],
  ])('%s', (source, scope, expected) => {
    expect(compileCondition(source).evaluate(scope)).toEqual(expected);
  });
  it.each([
    ['inputs.x.constructor', /property tricks/],
    ['inputs.__proto__', /property tricks/],
    ['inputs["constructor"]', /property tricks/],
    ['inputs.x.prototype', /property tricks/],
    ['foo', /Unknown variable: foo/],
    ['foo()', /not valid|overload/],
    ['1 +', /does not parse/],
    ['x'.repeat(2001), /at most 2000/],
  ])('refuses %s', (source, message) => {
    expect(() => compileCondition(source)).toThrow(ConditionError);
    expect(() => compileCondition(source)).toThrow(message);
  });
  it('names the steps whose outputs it reads, or null for a computed key', () => {
    expect(compileCondition('outputs.review.approved && outputs["spec"].ok').outputSteps?.sort()).toEqual(['review', 'spec']);
    expect(compileCondition('size(outputs) > 0').outputSteps).toBeNull();
    expect(compileCondition('inputs.a').outputSteps).toEqual([]);
  });
  it('a missing key is an evaluation error, not undefined', () => {
    expect(() => compileCondition('inputs.missing').evaluate({ inputs: {} })).toThrow(/No such key: missing/);
  });
});
