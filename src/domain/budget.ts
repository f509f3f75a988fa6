import { LoomError, validationFailed } from './errors.js';
import type { NewEvent } from './events.js';
import { costMicros, formatUsd } from './usage.js';

/**
 * Budgets: a spending limit on the project, an epic or a workflow run (its
 * epic), held against the usage reported under it (src/domain/usage.ts).
 *
 * - Past 80% of it, the report that crosses the mark raises `budget.warning`
 *   (once, until the budget is raised above the mark again).
 * - At 100%, the report that reaches the line stops the scope in its own
 *   transaction: every open task under it is held (`held_by_budget`), so no
 *   claim is handed out under it once that commits; claims already made go on
 *   and may report what they spend. An escalation asks a person to decide.
 * - Raising the budget above what was spent (or clearing it) lifts the stop:
 *   the tasks it held resume, and its escalation is resolved.
 *
 * A scope is '' for the project, otherwise the epic's task id.
 */

export const PROJECT_SCOPE = '';
/** The most a budget may be, in dollars. */
export const MAX_BUDGET_USD = 1_000_000_000;

export interface BudgetState {
  scope: string;
  budget_micros: number;
  spent_micros: number;
  warned_at: string | null;
  exceeded_at: string | null;
  escalation_id: string | null;
}

/** A budget as `loom budget` shows it. */
export interface BudgetView {
  scope: string;
  /** The epic of an epic's (or a run's) budget; absent for the project's. */
  epic_id?: string;
  /** The workflow run whose epic this is, if any. */
  run_id?: number;
  title?: string;
  budget_usd: number;
  spent_usd: number;
  percent: number;
  state: 'ok' | 'warned' | 'exceeded';
  escalation_id: string | null;
}

export const scopeLabel = (scope: string): string => (scope === PROJECT_SCOPE ? 'the project' : `epic ${scope}`);

/** Whether spending reached the warning mark (80%), in integers. */
export const pastWarning = (spent: number, budget: number): boolean => spent * 5 >= budget * 4;
export const pastLine = (spent: number, budget: number): boolean => spent >= budget;

export const percentOf = (spent: number, budget: number): number => Math.floor((spent * 1000) / budget) / 10;

/** What one report's new total means for a budget: warn, stop, both or neither. */
export function decideCrossing(b: BudgetState): { warn: boolean; stop: boolean } {
  return {
    warn: b.warned_at === null && pastWarning(b.spent_micros, b.budget_micros),
    stop: b.exceeded_at === null && pastLine(b.spent_micros, b.budget_micros),
  };
}

/**
 * A budget set (or cleared: null) on a scope that may have one already:
 * - lift: it was exceeded and now is not (the tasks it held resume);
 * - stop: it was not exceeded and is now (set below what was spent);
 * - warned: the warning mark's state after the change (kept when still past it).
 */
export function decideSet(prev: BudgetState | null, budgetMicros: number | null, spent: number): { lift: boolean; stop: boolean; warned: boolean; warnNow: boolean } {
  const wasExceeded = prev !== null && prev.exceeded_at !== null;
  const exceeded = budgetMicros !== null && pastLine(spent, budgetMicros);
  const past = budgetMicros !== null && pastWarning(spent, budgetMicros);
  const wasWarned = prev !== null && prev.warned_at !== null;
  return { lift: wasExceeded && !exceeded, stop: !wasExceeded && exceeded, warned: past, warnNow: past && !wasWarned };
}

/** A budget given in dollars, checked and in micro-dollars (null clears it). */
export function budgetMicrosOf(usd: number | null): number | null {
  if (usd === null) return null;
  if (typeof usd !== 'number' || !Number.isFinite(usd) || usd <= 0 || usd > MAX_BUDGET_USD) {
    throw validationFailed(`a budget is a number of dollars above 0 and at most ${MAX_BUDGET_USD}: got ${String(usd)}`, { field: 'budget_usd' });
  }
  const micros = costMicros(usd);
  if (micros < 1) throw validationFailed(`a budget must be at least $0.000001: got ${usd}`, { field: 'budget_usd' });
  return micros;
}

export const budgetHoldReason = (b: Pick<BudgetState, 'scope' | 'budget_micros' | 'spent_micros'>): string =>
  `budget of ${scopeLabel(b.scope)} exceeded: ${formatUsd(b.spent_micros)} spent of ${formatUsd(b.budget_micros)}`;

const setHint = (scope: string): string => `a person raises it with \`loom budget set USD${scope === PROJECT_SCOPE ? '' : ` --epic ${scope}`}\` (or clears it with --clear); claims already made go on`;

export function budgetWarningEvent(b: BudgetState): NewEvent {
  return {
    type: 'budget.warning',
    task_id: b.scope === PROJECT_SCOPE ? null : b.scope,
    agent_id: null,
    payload: { scope: b.scope, budget_usd: b.budget_micros / 1e6, spent_usd: b.spent_micros / 1e6, percent: percentOf(b.spent_micros, b.budget_micros) },
  };
}

export function budgetExceededEvent(b: BudgetState, held: number, escalationId: string | null): NewEvent {
  return {
    type: 'budget.exceeded',
    task_id: b.scope === PROJECT_SCOPE ? null : b.scope,
    agent_id: null,
    payload: { scope: b.scope, budget_usd: b.budget_micros / 1e6, spent_usd: b.spent_micros / 1e6, held, escalation_id: escalationId },
  };
}

export const budgetEscalationMessage = (b: BudgetState): string =>
  `${budgetHoldReason(b)}; no new claims under it until a person raises it: \`loom budget set USD${b.scope === PROJECT_SCOPE ? '' : ` --epic ${b.scope}`}\` (or --clear). Claims already made go on`;

/** `loom_claim` refused: every task it could have claimed is held by an exceeded budget. */
export function budgetExceeded(stops: ReadonlyArray<Pick<BudgetState, 'scope' | 'budget_micros' | 'spent_micros'>>, taskId?: string): LoomError {
  const first = stops[0];
  const what = stops.map((b) => `${scopeLabel(b.scope)} (${formatUsd(b.spent_micros)} of ${formatUsd(b.budget_micros)})`).join(', ');
  return new LoomError('BUDGET_EXCEEDED', `${taskId === undefined ? 'no claim made' : `task ${taskId} was not claimed`}: the budget of ${what} is spent`, {
    hint: first === undefined ? setHint(PROJECT_SCOPE) : setHint(first.scope),
    details: {
      ...(taskId === undefined ? {} : { task_id: taskId }),
      budgets: stops.map((b) => ({ scope: b.scope, budget_usd: b.budget_micros / 1e6, spent_usd: b.spent_micros / 1e6 })),
    },
  });
}

/**
 * Thrown inside a report's transaction when its usage reached a budget's line
 * and the tasks under that budget were not locked first: the report is run
 * again, locking them before anything else (in id order, so two reports
 * crossing at once never deadlock), and then stops the scope. A signal
 * between the store and the use case, never shown to anyone.
 */
export class BudgetLineCrossed extends Error {
  constructor(readonly scopes: readonly string[]) {
    super(`budget line crossed: ${scopes.join(', ')}`);
    this.name = 'BudgetLineCrossed';
  }
}

/** A budget as `loom budget` and `loom status` show it. */
export function budgetView(b: BudgetState, extra: { title?: string; run_id?: number } = {}): BudgetView {
  return {
    scope: b.scope,
    ...(b.scope === PROJECT_SCOPE ? {} : { epic_id: b.scope }),
    ...(extra.run_id === undefined ? {} : { run_id: extra.run_id }),
    ...(extra.title === undefined ? {} : { title: extra.title }),
    budget_usd: b.budget_micros / 1e6,
    spent_usd: b.spent_micros / 1e6,
    percent: percentOf(b.spent_micros, b.budget_micros),
    state: b.exceeded_at !== null ? 'exceeded' : b.warned_at !== null ? 'warned' : 'ok',
    escalation_id: b.escalation_id,
  };
}

