import { describe, expect, it } from 'vitest';
import { budgetExceeded, budgetMicrosOf, budgetView, decideCrossing, decideSet, pastLine, pastWarning, type BudgetState } from '../../src/domain/budget.js';
import { decideHold } from '../../src/domain/hold.js';
import { LoomError } from '../../src/domain/errors.js';
import { taskFixture } from '../support/task-fixture.js';

const state = (over: Partial<BudgetState> = {}): BudgetState => ({ scope: 'loom-0000000e', budget_micros: 1_000_000, spent_micros: 0, warned_at: null, exceeded_at: null, escalation_id: null, ...over });
const AT = '2026-11-30T10:00:00.000Z';

describe('budget thresholds', () => {
  it('warns at 80% exactly and stops at 100% exactly, in integer micro-dollars', () => {
    expect(pastWarning(799_999, 1_000_000)).toBe(false);
    expect(pastWarning(800_000, 1_000_000)).toBe(true);
    expect(pastLine(999_999, 1_000_000)).toBe(false);
    expect(pastLine(1_000_000, 1_000_000)).toBe(true);
    // No float rounding: 80% of 3 micro-dollars is 2.4, so 2 is below it and 3 is past it.
    expect(pastWarning(2, 3)).toBe(false);
    expect(pastWarning(3, 3)).toBe(true);
  });

  it('a crossing warns once and stops once', () => {
    expect(decideCrossing(state({ spent_micros: 500_000 }))).toEqual({ warn: false, stop: false });
    expect(decideCrossing(state({ spent_micros: 850_000 }))).toEqual({ warn: true, stop: false });
    expect(decideCrossing(state({ spent_micros: 850_000, warned_at: AT }))).toEqual({ warn: false, stop: false });
    // One big report crosses both marks: both at once.
    expect(decideCrossing(state({ spent_micros: 1_200_000 }))).toEqual({ warn: true, stop: true });
    expect(decideCrossing(state({ spent_micros: 1_200_000, warned_at: AT }))).toEqual({ warn: false, stop: true });
    expect(decideCrossing(state({ spent_micros: 5_000_000, warned_at: AT, exceeded_at: AT }))).toEqual({ warn: false, stop: false });
  });

  it('setting a budget: raising past what was spent lifts; lowering to it stops; the warning follows the new mark', () => {
    const exceeded = state({ spent_micros: 1_000_000, warned_at: AT, exceeded_at: AT });
    expect(decideSet(exceeded, 2_000_000, 1_000_000)).toEqual({ lift: true, stop: false, warned: false, warnNow: false });
    expect(decideSet(exceeded, 1_100_000, 1_000_000)).toEqual({ lift: true, stop: false, warned: true, warnNow: false });
    expect(decideSet(exceeded, 1_000_000, 1_000_000)).toEqual({ lift: false, stop: false, warned: true, warnNow: false });
    expect(decideSet(exceeded, null, 1_000_000)).toEqual({ lift: true, stop: false, warned: false, warnNow: false });
    expect(decideSet(null, 500_000, 600_000)).toEqual({ lift: false, stop: true, warned: true, warnNow: true });
    expect(decideSet(null, 700_000, 600_000)).toEqual({ lift: false, stop: false, warned: true, warnNow: true });
    expect(decideSet(state({ spent_micros: 100 }), 10_000_000, 100)).toEqual({ lift: false, stop: false, warned: false, warnNow: false });
  });

  it('refuses budgets that are not a positive number of dollars within bounds', () => {
    expect(budgetMicrosOf(12.5)).toBe(12_500_000);
    expect(budgetMicrosOf(0.000001)).toBe(1);
    expect(budgetMicrosOf(null)).toBeNull();
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2e9, 1e-9, '5' as unknown as number]) {
      expect(() => budgetMicrosOf(bad), String(bad)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    }
  });

  it('BUDGET_EXCEEDED names the budgets, what was spent, and how to raise them', () => {
    const e = budgetExceeded([state({ spent_micros: 1_050_000 })], 'loom-0000000a');
    expect(LoomError.is(e) && e.code).toBe('BUDGET_EXCEEDED');
    expect(e.message).toBe('task loom-0000000a was not claimed: the budget of epic loom-0000000e ($1.050000 of $1.000000) is spent');
    expect(e.hint).toMatch(/loom budget set USD --epic loom-0000000e/);
    expect(e.details).toEqual({ task_id: 'loom-0000000a', budgets: [{ scope: 'loom-0000000e', budget_usd: 1, spent_usd: 1.05 }] });
    expect(budgetExceeded([state({ scope: '' })]).hint).toMatch(/loom budget set USD` /);
  });

  it('a view says how far it is and in which state', () => {
    expect(budgetView(state({ spent_micros: 333_333 }))).toMatchObject({ budget_usd: 1, spent_usd: 0.333333, percent: 33.3, state: 'ok', epic_id: 'loom-0000000e' });
    expect(budgetView(state({ scope: '', spent_micros: 900_000, warned_at: AT }))).toMatchObject({ state: 'warned', percent: 90 });
    expect(budgetView(state({ scope: '' })).epic_id).toBeUndefined();
    expect(budgetView(state({ exceeded_at: AT, spent_micros: 1_000_000 })).state).toBe('exceeded');
  });
});

describe('a person holding work a budget holds', () => {
  it('takes the hold over (raising the budget then leaves it held); work held by a person stays as it is', () => {
    const epic = taskFixture({ id: 'loom-0000000e', status: 'epic', held_at: AT, held_by_budget: 'loom-0000000e', hold_reason: 'budget' });
    const byBudget = taskFixture({ id: 'loom-0000000a', held_at: AT, held_by_budget: 'loom-0000000e', hold_reason: 'budget' });
    const byPerson = taskFixture({ id: 'loom-0000000b', held_at: AT, hold_reason: 'review' });
    const done = taskFixture({ id: 'loom-0000000c', status: 'done' });
    expect(decideHold(epic, [byBudget, byPerson, done], 'pause', 'me').held).toEqual(['loom-0000000e', 'loom-0000000a']);
  });
});
