import { decideDone, decideFail, decideHeartbeat, decideLeaseExpiry, decideRelease } from '../../domain/deciders.js';
import { LoomError, taskNotFound, validationFailed } from '../../domain/errors.js';
import type { LoomEvent, NewEvent } from '../../domain/events.js';
import type { JsonObject, Lease, Task } from '../../domain/task.js';
import { usageEntry, type UsageEntry, type UsageKind, type UsageReport } from '../../domain/usage.js';
import type { DoneResult, FailInput, FailResult, LeaseInput } from '../../ports/loom-api.js';
import type { CommitOutcome, TaskStoreTx } from '../../ports/task-store.js';
import type { UseCaseDeps } from './deps.js';
import { loopSpecOf } from '../../domain/workflow-loop.js';
import { decideRateLimited } from '../../domain/rate-limit.js';
import { closeLoopStep } from './workflow-loops.js';
import { prelockBudgetScopes, recordUsageChecked, withBudgetLine } from './budgets.js';
import { completeEpics, propagateFailureToDependents, raisePolicyEscalation, releaseDependents } from './propagation.js';

/**
 * Heartbeat, done and fail: reports that must present the task's current
 * lease. The common case is decided on a plain read and written in one
 * optimistic statement (guarded by the task's revision); cases that must
 * lock more than the task (an epic above it, a dead letter's dependents)
 * run in a transaction with row locks. The deciders are the same either way.
 */

const OPTIMISTIC_ATTEMPTS = 5;

/** The row to decide on: the one this process just wrote on the first try, a fresh read after that. */
async function loadTask(d: UseCaseDeps, input: LeaseInput, attempt: number): Promise<Task> {
  const recent = attempt === 0 ? d.recent?.take(input.project_id, input.task_id) : undefined;
  if (recent !== undefined) return recent;
  const task = await d.store.getTask(input.project_id, input.task_id);
  if (task === null) throw taskNotFound(input.task_id);
  return task;
}

/**
 * Usage sent with a report: the entry the store records with the decision (same transaction), and
 * the decision's own event carrying it (so watchers and notifiers see it; no event of its own).
 */
function withUsage(input: LeaseInput & { usage?: UsageReport }, kind: UsageKind, events: readonly NewEvent[], now: Date): { events: NewEvent[]; usage?: UsageEntry } {
  if (input.usage === undefined) return { events: [...events] };
  const usage = usageEntry(input.usage, { project_id: input.project_id, task_id: input.task_id, agent_id: input.agent_id, kind }, now);
  const type = `task.${kind === 'heartbeat' ? 'heartbeat' : kind === 'done' ? 'done' : 'failed'}`;
  let tagged = false;
  const out = events.map((e) => {
    if (tagged || e.type !== type) return e;
    tagged = true;
    return { ...e, payload: { ...e.payload, usage: { ...input.usage } } };
  });
  return { events: out, usage };
}

function published(d: UseCaseDeps, r: CommitOutcome): CommitOutcome {
  d.bus.publish(r.events);
  return r;
}

type HeartbeatInput = LeaseInput & { lease_seconds?: number; progress?: string; usage?: UsageReport };

export async function heartbeat(d: UseCaseDeps, input: HeartbeatInput): Promise<{ task: Task; lease: Lease }> {
  return withBudgetLine((prelock) => heartbeatOnce(d, input, prelock));
}

/** `prelock`: null on the first try; the budget scopes to lock first (src/app/use-cases/budgets.ts) when run again for a budget mark. */
async function heartbeatOnce(d: UseCaseDeps, input: HeartbeatInput, prelock: readonly string[] | null): Promise<{ task: Task; lease: Lease }> {
  const seconds = input.lease_seconds ?? d.settings.lease_seconds;
  for (let attempt = 0; prelock === null && attempt < OPTIMISTIC_ATTEMPTS; attempt++) {
    const now = d.clock.now();
    const task = await loadTask(d, input, attempt);
    const decision = decideHeartbeat(task, input.lease_token, input.agent_id, now, seconds, input.progress);
    const r = await d.store.commitDecision({ task: decision.task, expected_revision: task.revision, release_dependents: false, now, ...withUsage(input, 'heartbeat', decision.events, now) });
    if (r !== null) {
      d.recent?.remember(r.task);
      return { task: published(d, r).task, lease: decision.lease };
    }
  }
  const now = d.clock.now();
  const r = await d.store.transaction(async (tx) => {
    await prelockBudgetScopes(tx, input.project_id, prelock);
    const task = await tx.lockTask(input.project_id, input.task_id);
    if (task === null) throw taskNotFound(input.task_id);
    const decision = decideHeartbeat(task, input.lease_token, input.agent_id, now, seconds, input.progress);
    const saved = await tx.updateTask(decision.task);
    const reported = withUsage(input, 'heartbeat', decision.events, now);
    if (reported.usage !== undefined) await recordUsageChecked(d, tx, reported.usage, prelock ?? [], reported.events);
    return { task: saved, lease: decision.lease, events: await tx.appendEvents(input.project_id, reported.events, now) };
  });
  d.bus.publish(r.events);
  return { task: r.task, lease: r.lease };
}

type DoneInput = LeaseInput & { output?: JsonObject; usage?: UsageReport };

export async function completeTask(d: UseCaseDeps, input: DoneInput): Promise<DoneResult> {
  return withBudgetLine((prelock) => completeTaskOnce(d, input, prelock));
}

async function completeTaskOnce(d: UseCaseDeps, input: DoneInput, prelock: readonly string[] | null): Promise<DoneResult> {
  let graph = false;
  for (let attempt = 0; prelock === null && attempt < OPTIMISTIC_ATTEMPTS; attempt++) {
    const now = d.clock.now();
    const task = await loadTask(d, input, attempt);
    const decision = decideDone(task, input.lease_token, input.agent_id, input.output, now);
    if (decision.already_done) return { task, unblocked: [], completed_epics: [], already_done: true };
    // A workflow's review loop may add a round (new tasks and edges): the graph lock first.
    graph = loopSpecOf(task) !== null || task.context.workflow_graph_lock === true;
    // A child of an epic may complete the epic: that needs the locking path.
    if (task.parent_id !== null) break;
    const r = await d.store.commitDecision({ task: decision.task, expected_revision: task.revision, release_dependents: task.has_dependents, now, ...withUsage(input, 'done', decision.events, now) });
    if (r !== null) {
      published(d, r);
      // An epic that waited only on this task (its children done already) completes now.
      const epics = r.epics.length === 0 ? { completed: [], unblocked: [] } : await completeEpicsNow(d, input.project_id, r.epics);
      return { task: r.task, unblocked: [...r.unblocked, ...epics.unblocked].sort(), completed_epics: epics.completed, already_done: false };
    }
  }
  try {
    return await completeTaskLocked(d, input, graph, prelock);
  } catch (e) {
    if (!(e instanceof NeedsGraphLock)) throw e;
    return completeTaskLocked(d, input, true, prelock);
  }
}

/** A loop step met without the graph lock (its row changed since the read): start again, taking it first. */
class NeedsGraphLock extends Error {}

/** Completes those of these epics that are complete, in a transaction of its own (the reconcile tick is the backstop). */
export async function completeEpicsNow(d: UseCaseDeps, projectId: string, epicIds: string[]): Promise<{ completed: string[]; unblocked: string[] }> {
  const now = d.clock.now();
  const r = await d.store.transaction(async (tx) => {
    const events: NewEvent[] = [];
    const unblocked: string[] = [];
    const completed = await completeEpics(tx, projectId, epicIds, now, events, unblocked);
    return { completed, unblocked, events: await tx.appendEvents(projectId, events, now) };
  });
  d.bus.publish(r.events);
  return { completed: r.completed, unblocked: r.unblocked };
}

async function completeTaskLocked(d: UseCaseDeps, input: DoneInput, graph: boolean, prelock: readonly string[] | null): Promise<DoneResult> {
  const p = input.project_id;
  const now = d.clock.now();
  const r = await d.store.transaction(async (tx): Promise<DoneResult & { events: LoomEvent[] }> => {
    if (graph) await tx.lockGraph(p);
    await prelockBudgetScopes(tx, p, prelock);
    const task = await tx.lockTask(p, input.task_id);
    if (task === null) throw taskNotFound(input.task_id);
    const decision = decideDone(task, input.lease_token, input.agent_id, input.output, now);
    if (decision.already_done) return { task, unblocked: [], completed_epics: [], already_done: true, events: [] };
    const reported = withUsage(input, 'done', decision.events, now);
    const loop = loopSpecOf(task);
    if (loop !== null) {
      if (!graph) throw new NeedsGraphLock();
      const closed = await closeLoopStep(d, tx, task, loop, { ...decision, events: reported.events }, input.output, now);
      if (closed !== null) {
        if (reported.usage !== undefined) await recordUsageChecked(d, tx, reported.usage, prelock ?? [], closed.events);
        return { ...closed, events: await tx.appendEvents(p, closed.events, now) };
      }
    }
    const saved = await tx.updateTask(decision.task);
    const events: NewEvent[] = [...reported.events];
    const released = await releaseDependents(tx, p, task.id, now, events, { ids: d.ids, settings: d.settings, graphLocked: graph });
    const unblocked = [...released.unblocked];
    const completed = await completeEpics(tx, p, [task.parent_id, ...released.epics], now, events, unblocked);
    if (reported.usage !== undefined) await recordUsageChecked(d, tx, reported.usage, prelock ?? [], events); // last: it locks the totals rows
    return { task: saved, unblocked, completed_epics: completed, already_done: false, events: await tx.appendEvents(p, events, now) };
  });
  d.bus.publish(r.events);
  return { task: r.task, unblocked: r.unblocked, completed_epics: r.completed_epics, already_done: r.already_done, ...(r.loop === undefined ? {} : { loop: r.loop }) };
}


export const failDecision = (d: UseCaseDeps, task: Task, input: FailInput, now: Date) =>
  decideFail(
    task,
    { token: input.lease_token, agentId: input.agent_id, reason: input.reason, retryable: input.retryable ?? true },
    now,
    d.settings.retry,
    () => d.ids.random(),
  );

export async function failTask(d: UseCaseDeps, input: FailInput): Promise<FailResult> {
  if (input.rate_limited !== undefined) {
    const resetAt = new Date(input.rate_limited.reset_at);
    if (Number.isNaN(resetAt.getTime())) throw new LoomError('VALIDATION_FAILED', `rate_limited.reset_at is not a real time: ${input.rate_limited.reset_at}`, { hint: 'give an ISO 8601 instant with its offset, such as 2026-11-30T15:00:00Z', details: { field: 'rate_limited.reset_at' } });
    if (input.retryable === false) throw validationFailed('a rate-limited failure is retried at reset_at: it cannot also be retryable: false', { field: 'retryable' });
    return rateLimitTask(d, input, resetAt);
  }
  return withBudgetLine((prelock) => failTaskOnce(d, input, prelock));
}

async function failTaskOnce(d: UseCaseDeps, input: FailInput, prelock: readonly string[] | null): Promise<FailResult> {
  for (let attempt = 0; prelock === null && attempt < OPTIMISTIC_ATTEMPTS; attempt++) {
    const now = d.clock.now();
    const task = await loadTask(d, input, attempt);
    const decision = failDecision(d, task, input, now);
    if (decision.outcome !== 'retrying') break; // a dead letter touches its dependents: locking path
    const r = await d.store.commitDecision({ task: decision.task, expected_revision: task.revision, release_dependents: false, now, ...withUsage(input, 'fail', decision.events, now) });
    if (r !== null) return { task: published(d, r).task, outcome: 'retrying', run_after: r.task.run_after };
  }
  return failTaskLocked(d, input, prelock);
}

async function failTaskLocked(d: UseCaseDeps, input: FailInput, prelock: readonly string[] | null): Promise<FailResult> {
  const p = input.project_id;
  const now = d.clock.now();
  const r = await d.store.transaction(async (tx) => {
    await tx.lockGraph(p); // a dead letter walks its dependents and ancestors: graph lock first, like every graph-wide writer
    await prelockBudgetScopes(tx, p, prelock);
    const task = await tx.lockTask(p, input.task_id);
    if (task === null) throw taskNotFound(input.task_id);
    const decision = failDecision(d, task, input, now);
    const saved = await tx.updateTask(decision.task);
    const reported = withUsage(input, 'fail', decision.events, now);
    const events: NewEvent[] = [...reported.events];
    if (decision.outcome === 'dead_lettered') await deadLetterConsequences(d, tx, task, input.reason, now, events);
    if (reported.usage !== undefined) await recordUsageChecked(d, tx, reported.usage, prelock ?? [], events); // last: it locks the totals rows
    return { task: saved, outcome: decision.outcome, events: await tx.appendEvents(p, events, now) };
  });
  d.bus.publish(r.events);
  return { task: r.task, outcome: r.outcome, run_after: r.task.run_after };
}

/**
 * A failure the provider's rate limit caused: no attempt used, ready again at
 * the reset time (clamped to now .. a day ahead; the event says when). It
 * touches no other row, so it is one optimistic statement, like a retry.
 */
async function rateLimitTask(d: UseCaseDeps, input: FailInput, resetAt: Date): Promise<FailResult> {
  const decide = (task: Task, now: Date) => decideRateLimited(task, { token: input.lease_token, agentId: input.agent_id, reason: input.reason, reset_at: resetAt }, now);
  for (let attempt = 0; attempt < OPTIMISTIC_ATTEMPTS; attempt++) {
    const now = d.clock.now();
    const task = await loadTask(d, input, attempt);
    const decision = decide(task, now);
    const r = await d.store.commitDecision({ task: decision.task, expected_revision: task.revision, events: decision.events, release_dependents: false, now });
    if (r !== null) return { task: published(d, r).task, outcome: 'rate_limited', run_after: r.task.run_after, ...(decision.clamped === null ? {} : { clamped: decision.clamped }) };
  }
  const now = d.clock.now();
  const r = await d.store.transaction(async (tx) => {
    const task = await tx.lockTask(input.project_id, input.task_id);
    if (task === null) throw taskNotFound(input.task_id);
    const decision = decide(task, now);
    const saved = await tx.updateTask(decision.task);
    return { task: saved, clamped: decision.clamped, events: await tx.appendEvents(input.project_id, decision.events, now) };
  });
  d.bus.publish(r.events);
  return { task: r.task, outcome: 'rate_limited', run_after: r.task.run_after, ...(r.clamped === null ? {} : { clamped: r.clamped }) };
}

export async function releaseTask(d: UseCaseDeps, input: LeaseInput & { reason?: string }): Promise<Task> {
  for (let attempt = 0; attempt < OPTIMISTIC_ATTEMPTS; attempt++) {
    const now = d.clock.now();
    const task = await loadTask(d, input, attempt);
    const decision = decideRelease(task, input.lease_token, input.agent_id, input.reason, now);
    const r = await d.store.commitDecision({ task: decision.task, expected_revision: task.revision, events: decision.events, release_dependents: false, now });
    if (r !== null) return published(d, r).task;
  }
  throw new LoomError('CONFLICT', `task ${input.task_id} kept changing while it was being released; nothing was written`, {
    hint: 'try again; `loom status` shows what is changing it',
    details: { task_id: input.task_id },
  });
}

/** A dead letter blocks or cancels its dependents (per policy) and asks a human to look. */
async function deadLetterConsequences(d: UseCaseDeps, tx: TaskStoreTx, task: Task, reason: string, now: Date, events: NewEvent[]): Promise<void> {
  const p = task.project_id;
  const propagation = await propagateFailureToDependents(tx, p, task.id, d.settings.failure_policy, now, d.ids, events, false);
  await raisePolicyEscalation(
    d.ids,
    tx,
    task,
    `dead letter: ${task.id} failed after ${task.attempts} attempt(s): ${reason}` +
      (propagation.blocked.length > 0 ? `; ${propagation.blocked.length} dependent task(s) are blocked on it` : '') +
      (propagation.cancelled.length > 0 ? `; ${propagation.cancelled.length} dependent task(s) were cancelled` : ''),
    now,
    events,
  );
  await tx.recomputeWeights(p, [...task.depends_on, ...propagation.cancelled]);
}

/**
 * Crash recovery: every claimed task whose lease ran out goes back to the
 * queue (or to the dead letters). Safe to run in many processes at once:
 * each change is guarded by the task's revision (or its row lock), so a task
 * is requeued once, and never after its agent's last-moment heartbeat.
 */
export async function expireLeases(
  d: UseCaseDeps,
  projectId: string | null,
  limit = 1000,
): Promise<{ requeued: string[]; dead_lettered: string[]; escalated: string[] }> {
  const requeued: string[] = [];
  const deadLettered: string[] = [];
  const escalated: string[] = [];
  const random = () => d.ids.random();
  const decide = (t: Task, now: Date) => decideLeaseExpiry(t, now, d.settings.retry, random, d.settings.orchestration.max_lease_expiries);
  for (const task of await d.store.expiredLeases(projectId, d.clock.now(), limit)) {
    const now = d.clock.now();
    const decision = decide(task, now);
    if (decision === null) continue;
    if (decision.outcome === 'retrying') {
      const r = await d.store.commitDecision({ task: decision.task, expected_revision: task.revision, events: decision.events, release_dependents: false, now });
      if (r !== null) {
        published(d, r);
        requeued.push(task.id);
      }
      continue;
    }
    // A dead letter or an escalation touches more than the task: under the graph lock, then its row lock.
    const r = await d.store.transaction(async (tx) => {
      await tx.lockGraph(task.project_id);
      const current = await tx.lockTask(task.project_id, task.id);
      const again = current === null ? null : decide(current, now);
      if (current === null || again === null || again.outcome === 'retrying') return null; // someone else acted first
      await tx.updateTask(again.task);
      const events: NewEvent[] = [...again.events];
      if (again.outcome === 'dead_lettered') {
        await deadLetterConsequences(d, tx, current, again.task.failure_reason ?? 'lease expired', now, events);
      } else {
        const message = `${task.id} keeps bouncing: its lease ran out ${again.task.expiry_count} times without a report (last holder ${current.assignee ?? 'unknown'})`;
        await raisePolicyEscalation(d.ids, tx, task, message, now, events);
      }
      return { outcome: again.outcome, events: await tx.appendEvents(task.project_id, events, now) };
    });
    if (r !== null) {
      d.bus.publish(r.events);
      (r.outcome === 'dead_lettered' ? deadLettered : escalated).push(task.id);
    }
  }
  return { requeued, dead_lettered: deadLettered, escalated };
}
