import {
  budgetEscalationMessage,
  budgetExceeded,
  budgetExceededEvent,
  budgetHoldReason,
  BudgetLineCrossed,
  budgetMicrosOf,
  budgetWarningEvent,
  decideCrossing,
  decideSet,
  PROJECT_SCOPE,
  scopeLabel,
  type BudgetState,
  budgetView,
  type BudgetView,
} from '../../domain/budget.js';
import { LoomError, taskNotFound, validationFailed } from '../../domain/errors.js';
import type { NewEvent } from '../../domain/events.js';
import { resumeEach } from '../../domain/hold.js';
import type { Task } from '../../domain/task.js';
import { formatUsd, type UsageEntry } from '../../domain/usage.js';
import type { SetBudgetInput, SetBudgetResult } from '../../ports/loom-api.js';
import type { TaskStoreTx } from '../../ports/task-store.js';
import type { UseCaseDeps } from './deps.js';
import { raisePolicyEscalation } from './propagation.js';
import { assertProjectOpen } from './remove-project.js';

/**
 * Budgets (src/domain/budget.ts) in transactions.
 *
 * The report whose usage reaches a budget's line stops the scope in its own
 * transaction: every open task under it is held before that commits, so a
 * claim either committed before it or sees the hold (the claim statements
 * skip held rows and re-check the row they lock). To hold them without
 * deadlocking against other reporters (which lock their task, then the usage
 * totals this report holds), the report is run again when it finds it crossed
 * the line: it then locks every open task under the scope first, in id order,
 * and only then its own task and the totals.
 */

/** How many times a report is run again to lock what a budget line it crossed covers. */
const LINE_ATTEMPTS = 4;

/**
 * Runs a report; when its usage reached a budget mark it is run again with
 * `prelock` (the scopes whose tasks to lock first; [] to just take the
 * locking path). `run(null)` is the ordinary first try.
 */
export async function withBudgetLine<T>(run: (prelock: readonly string[] | null) => Promise<T>): Promise<T> {
  let prelock: readonly string[] | null = null;
  for (let attempt = 1; ; attempt++) {
    try {
      return await run(prelock);
    } catch (e) {
      if (!(e instanceof BudgetLineCrossed)) throw e;
      if (attempt >= LINE_ATTEMPTS) {
        throw new LoomError('CONFLICT', 'the budgets over this task kept changing while its usage was being recorded; nothing was written', {
          hint: 'send the report again; `loom budget` shows the budgets',
          details: { scopes: [...e.scopes] },
        });
      }
      prelock = [...new Set([...(prelock ?? []), ...e.scopes])].sort();
    }
  }
}

/** The first statements of a report's transaction run again for a budget line: every open task under the scopes, locked in id order. */
export async function prelockBudgetScopes(tx: TaskStoreTx, projectId: string, scopes: readonly string[] | null): Promise<void> {
  if (scopes === null || scopes.length === 0) return;
  // The project's line: its row too, which creators read (FOR KEY SHARE), so none slips a task in unheld.
  if (scopes.includes(PROJECT_SCOPE)) await tx.lockProject(projectId);
  await tx.lockOpenUnder(projectId, scopes);
}

/**
 * Records a report's usage, then what it means for the budgets over its task:
 * a warning past 80%, a stop at 100% (when the scope's tasks were locked
 * first; otherwise BudgetLineCrossed asks for that). Events go to `events`.
 */
export async function recordUsageChecked(d: UseCaseDeps, tx: TaskStoreTx, entry: UsageEntry, prelocked: readonly string[] | null, events: NewEvent[]): Promise<void> {
  const crossed = await tx.recordUsage(entry);
  if (crossed.length === 0) return;
  const p = entry.project_id;
  const locked = new Set(prelocked ?? []);
  const unlocked = (bs: readonly BudgetState[]): string[] => bs.filter((b) => decideCrossing(b).stop && !locked.has(b.scope)).map((b) => b.scope);
  if (prelocked === null || unlocked(crossed).length > 0) throw new BudgetLineCrossed(unlocked(crossed));
  // The budget rows as they are now (a person may have just raised one), with the totals this report holds.
  const now = new Date(entry.at);
  for (const b of await tx.lockBudgets(p, crossed.map((c) => c.scope))) {
    const crossing = decideCrossing(b);
    if (crossing.stop && !locked.has(b.scope)) throw new BudgetLineCrossed([b.scope]);
    if (crossing.warn) events.push(budgetWarningEvent(b));
    if (crossing.stop) {
      await stopScope(d, tx, p, b, now, events, entry.task_id);
    } else if (crossing.warn) {
      await tx.saveBudget(p, { ...savedOf(b), warned_at: now }, now);
    }
  }
}

const date = (iso: string | null): Date | null => (iso === null ? null : new Date(iso));
const savedOf = (b: BudgetState) => ({ scope: b.scope, budget_micros: b.budget_micros, warned_at: date(b.warned_at), exceeded_at: date(b.exceeded_at), escalation_id: b.escalation_id });

/**
 * Stops a scope (its tasks locked already): holds every open task under it not
 * held yet, marks the budget exceeded, and asks a person to decide: an
 * escalation on the epic, or for the project's budget on the task whose report
 * crossed the line (none when a person set the budget below what was spent:
 * `escalate` false).
 */
async function stopScope(d: UseCaseDeps, tx: TaskStoreTx, p: string, b: BudgetState, now: Date, events: NewEvent[], reporter: string | null, escalate = true): Promise<string[]> {
  if (b.scope === PROJECT_SCOPE) await tx.setProjectBudgetStopped(p, now);
  const reason = budgetHoldReason(b);
  const held = await tx.holdForBudget(p, await tx.lockOpenUnder(p, [b.scope]), b.scope, reason, now);
  for (const id of held) events.push({ type: 'task.held', task_id: id, agent_id: null, payload: { reason, budget: b.scope } });
  const on = !escalate ? null : b.scope === PROJECT_SCOPE ? reporter : b.scope;
  const escalation = on === null ? null : await raisePolicyEscalation(d.ids, tx, { id: on, project_id: p }, budgetEscalationMessage(b), now, events);
  await tx.saveBudget(p, { ...savedOf(b), warned_at: date(b.warned_at) ?? now, exceeded_at: now, escalation_id: escalation?.id ?? null }, now);
  events.push(budgetExceededEvent(b, held.length, escalation?.id ?? null));
  return held;
}

/**
 * Lifts a stop (the budget row already says it is not exceeded): each task it
 * held resumes to the status it would have now, unless another exceeded
 * budget covers it (it is then held by that one); its escalation is resolved.
 */
async function liftScope(tx: TaskStoreTx, p: string, prev: BudgetState, note: string, by: string | null, now: Date, events: NewEvent[]): Promise<string[]> {
  if (prev.scope === PROJECT_SCOPE) await tx.setProjectBudgetStopped(p, null);
  const held = await tx.lockHeldByBudget(p, prev.scope);
  const covered = await tx.stoppedScopesOver(p, held.map((t) => t.id));
  const moving = new Map<string, string[]>();
  for (const [id, scope] of covered) moving.set(scope, [...(moving.get(scope) ?? []), id]);
  for (const [scope, ids] of moving) await tx.moveBudgetHold(p, ids, scope, `budget of ${scopeLabel(scope)} exceeded`, now);
  const decision = resumeEach(held.filter((t) => !covered.has(t.id)), by, () => ({ budget: prev.scope }));
  await tx.resumeTasks(p, decision.resumed, now);
  events.push(...decision.events);
  if (prev.escalation_id !== null) {
    const e = await tx.lockEscalation(p, prev.escalation_id);
    if (e !== null && e.status === 'open') {
      await tx.updateEscalation({ ...e, status: 'resolved', resolution: note, resolved_at: now.toISOString() });
      events.push({ type: 'escalation.resolved', task_id: e.task_id, agent_id: by, payload: { escalation_id: e.id, action: 'budget_raised', note } });
    }
  }
  // Finished tasks it held (a claim that ended meanwhile) only lose the flag: they do not count as resumed.
  return decision.resumed.filter((r) => r.status !== 'done' && r.status !== 'cancelled').map((r) => r.id);
}

async function scopeOf(d: UseCaseDeps, input: { project_id: string; epic_id?: string; run_id?: number }): Promise<{ scope: string; run_id?: number }> {
  if (input.epic_id !== undefined && input.run_id !== undefined) throw validationFailed('give an epic or a workflow run, not both', { field: 'epic_id' });
  if (input.run_id !== undefined) {
    const run = await d.store.workflowRun(input.project_id, input.run_id);
    if (run === null) {
      throw new LoomError('VALIDATION_FAILED', `no workflow run ${input.run_id} in this project`, { hint: '`loom workflow runs` lists them', details: { run_id: input.run_id } });
    }
    return { scope: run.epic_id, run_id: run.id };
  }
  return { scope: input.epic_id ?? PROJECT_SCOPE };
}

/** Sets, changes or clears a budget; raising it past what was spent lifts its stop, setting it below stops the scope now. */
export async function setBudget(d: UseCaseDeps, input: SetBudgetInput): Promise<SetBudgetResult> {
  const p = input.project_id;
  const micros = budgetMicrosOf(input.budget_usd);
  const { scope } = await scopeOf(d, input);
  const by = input.agent_id ?? null;
  const now = d.clock.now();
  const r = await d.store.transaction(async (tx) => {
    await tx.lockGraph(p);
    await assertProjectOpen(tx, p);
    if (scope !== PROJECT_SCOPE) {
      const epic = (await tx.getTasks(p, [scope]))[0];
      if (epic === undefined) throw taskNotFound(scope);
      if (epic.status !== 'epic') {
        throw new LoomError('VALIDATION_FAILED', `task ${scope} is ${epic.status === 'done' ? 'a completed epic' : 'not an epic'}: a budget goes on an open epic, a workflow run or the project`, {
          hint: 'give an epic id (`loom list --status epic`), --run RUN_ID, or no --epic for the project budget',
          details: { task_id: scope, status: epic.status },
        });
      }
    }
    // What a stop would hold, locked first (as a report crossing the line does).
    await prelockBudgetScopes(tx, p, [scope]);
    const prev = (await tx.lockBudgets(p, [scope]))[0] ?? null;
    if (prev === null && micros === null) return { budget: null, resumed: [], held: [], events: [] };
    // Saved first as it is, to read what was spent under the scope (the totals of a scope without a budget row).
    if (prev === null) await tx.saveBudget(p, { scope, budget_micros: micros, warned_at: null, exceeded_at: null, escalation_id: null }, now);
    const spent = prev?.spent_micros ?? (await tx.lockBudgets(p, [scope]))[0]!.spent_micros;
    const decision = decideSet(prev, micros, spent);
    const events: NewEvent[] = [];
    const state: BudgetState = {
      scope,
      budget_micros: micros ?? prev!.budget_micros,
      spent_micros: spent,
      warned_at: decision.warned ? (prev?.warned_at ?? now.toISOString()) : null,
      exceeded_at: decision.lift ? null : (prev?.exceeded_at ?? null),
      escalation_id: decision.lift ? null : (prev?.escalation_id ?? null),
    };
    await tx.saveBudget(p, { ...savedOf(state), budget_micros: micros }, now);
    let resumed: string[] = [];
    let held: string[] = [];
    if (decision.lift) {
      const note = micros === null ? `budget cleared by ${by ?? 'an operator'}` : `budget raised to ${formatUsd(micros)} by ${by ?? 'an operator'}`;
      resumed = await liftScope(tx, p, prev!, note, by, now, events);
    }
    if (decision.warnNow) events.push(budgetWarningEvent(state));
    // A person set it below what was spent: the stop is theirs, no escalation asks them about it.
    if (decision.stop) held = await stopScope(d, tx, p, state, now, events, null, false);
    events.unshift({
      type: 'budget.set',
      task_id: scope === PROJECT_SCOPE ? null : scope,
      agent_id: by,
      payload: { scope, budget_usd: micros === null ? null : micros / 1e6, previous_usd: prev === null ? null : prev.budget_micros / 1e6, spent_usd: spent / 1e6, resumed: resumed.length, held: held.length },
    });
    const view = micros === null ? null : budgetView({ ...state, exceeded_at: decision.stop ? now.toISOString() : state.exceeded_at });
    return { budget: view, resumed, held, events: await tx.appendEvents(p, events, now) };
  });
  d.bus.publish(r.events);
  return { budget: r.budget, resumed: r.resumed, held: r.held };
}

/** Every budget of the project with what was spent under it: the project's first, then epics by id. */
export async function listBudgets(d: UseCaseDeps, input: { project_id: string }): Promise<{ budgets: BudgetView[] }> {
  const p = input.project_id;
  const budgets = await d.store.budgets(p);
  const epics = budgets.filter((b) => b.scope !== PROJECT_SCOPE).map((b) => b.scope);
  const titles = new Map<string, string>();
  for (const id of epics) {
    const t = await d.store.getTask(p, id);
    if (t !== null) titles.set(id, t.title);
  }
  const runs = epics.length === 0 ? [] : await d.store.workflowRuns(p, 1000);
  const runOf = new Map(runs.map((r) => [r.epic_id, r.id]));
  return {
    budgets: budgets.map((b) => {
      const title = titles.get(b.scope);
      const run = runOf.get(b.scope);
      return budgetView(b, { ...(title === undefined ? {} : { title }), ...(run === undefined ? {} : { run_id: run }) });
    }),
  };
}

/** Why a claim found nothing: the exceeded budgets holding work that would be claimable, as BUDGET_EXCEEDED; null when none. */
export async function budgetRefusal(d: UseCaseDeps, projectId: string, task?: Task): Promise<LoomError | null> {
  if (task !== undefined) {
    if (task.held_at === null || task.held_by_budget === null) return null;
    const b = (await d.store.budgets(projectId)).find((x) => x.scope === task.held_by_budget);
    return b === undefined ? null : budgetExceeded([b], task.id);
  }
  const stops = await d.store.stoppedBudgetsHoldingWork(projectId);
  return stops.length === 0 ? null : budgetExceeded(stops);
}

/** A budget's escalation is answered by raising the budget: resolving it by hand is refused while the budget is exceeded. */
export async function assertNotBudgetEscalation(tx: TaskStoreTx, projectId: string, escalationId: string): Promise<void> {
  const b = (await tx.budgets(projectId)).find((x) => x.escalation_id === escalationId && x.exceeded_at !== null);
  if (b === undefined) return;
  throw new LoomError('BUDGET_EXCEEDED', `escalation ${escalationId} asks for a decision on the budget of ${scopeLabel(b.scope)} (${formatUsd(b.spent_micros)} spent of ${formatUsd(b.budget_micros)}); it is resolved by raising or clearing that budget`, {
    hint: `\`loom budget set USD${b.scope === PROJECT_SCOPE ? '' : ` --epic ${b.scope}`}\` above what was spent (or --clear) resumes the held work and resolves it`,
    details: { escalation_id: escalationId, scope: b.scope },
  });
}
