import { decideDone } from '../../domain/deciders.js';
import { LoomError, taskNotFound } from '../../domain/errors.js';
import type { Task } from '../../domain/task.js';
import { loopSpecOf } from '../../domain/workflow-loop.js';
import type { BatchItem, BatchResult, DoneInput, DoneResult, FailInput, FailResult } from '../../ports/loom-api.js';
import type { CommitInput, CommitOutcome } from '../../ports/task-store.js';
import type { UseCaseDeps } from './deps.js';
import { completeEpicsNow, completeTask, failDecision, failTask } from './report-task.js';

/**
 * Batch done and fail: each item is decided exactly as its single call would be, against its
 * own lease. The common case (a task outside any epic; a retryable failure) of every item is
 * written in one statement, guarded per task by its revision, with the dependents released
 * set-based. An item that needs more (a child of an epic, a workflow step, a dead letter) or
 * whose row moved since the read goes through the single call. A refusal is that item's result
 * and never stops the others.
 */

type Results<R> = BatchResult<R>['results'];

/** The rows to decide on: those this process just wrote (claimed) first, the rest in one read. */
async function loadTasks(d: UseCaseDeps, projectId: string, ids: readonly string[]): Promise<Map<string, Task>> {
  const found = new Map<string, Task>();
  for (const id of ids) {
    const recent = d.recent?.take(projectId, id);
    if (recent !== undefined) found.set(id, recent);
  }
  const missing = ids.filter((id) => !found.has(id));
  for (const t of await d.store.getTasks(projectId, missing)) found.set(t.id, t);
  return found;
}

function refused(taskId: string, e: unknown): Results<never>[number] {
  if (!LoomError.is(e)) throw e; // not a refusal but a fault: the caller learns it (every report is fenced, so repeating is safe)
  return { task_id: taskId, ok: false, error: e.toJSON() };
}

interface Planned {
  index: number;
  commit: CommitInput;
}

/**
 * Decides every item; those `fast` accepts go into one batch commit, the rest (and those whose
 * row moved on) through `single`. Fills `results` in item order.
 */
async function runBatch<I extends { task_id: string }, R>(
  d: UseCaseDeps,
  projectId: string,
  items: ReadonlyArray<BatchItem<I>>,
  plan: (task: Task, item: BatchItem<I>, now: Date) => { done: R } | { commit: CommitInput } | 'single',
  written: (outcome: CommitOutcome) => Promise<R> | R,
  single: (item: BatchItem<I>) => Promise<R>,
): Promise<BatchResult<R>> {
  const results: Results<R> = new Array(items.length);
  const tasks = await loadTasks(d, projectId, items.map((i) => i.task_id));
  const now = d.clock.now();
  const planned: Planned[] = [];
  const slow: number[] = [];
  items.forEach((item, index) => {
    const task = tasks.get(item.task_id);
    try {
      if (task === undefined) throw taskNotFound(item.task_id);
      const p = plan(task, item, now);
      if (p === 'single') slow.push(index);
      else if ('done' in p) results[index] = { task_id: item.task_id, ok: true, result: p.done };
      else planned.push({ index, commit: p.commit });
    } catch (e) {
      results[index] = refused(item.task_id, e);
    }
  });
  if (planned.length > 0) {
    const r = await d.store.commitDecisions(projectId, planned.map((p) => p.commit), now);
    d.bus.publish(r.events);
    for (const [k, outcome] of r.outcomes.entries()) {
      const { index } = planned[k]!;
      if (outcome === null) {
        slow.push(index); // its row moved since the read: decided again on a fresh one
        continue;
      }
      d.recent?.remember(outcome.task);
      results[index] = { task_id: items[index]!.task_id, ok: true, result: await written(outcome) };
    }
  }
  for (const index of slow.sort((a, b) => a - b)) {
    const item = items[index]!;
    try {
      results[index] = { task_id: item.task_id, ok: true, result: await single(item) };
    } catch (e) {
      results[index] = refused(item.task_id, e);
    }
  }
  return { results };
}

export async function completeBatch(d: UseCaseDeps, projectId: string, items: ReadonlyArray<BatchItem<DoneInput>>): Promise<BatchResult<DoneResult>> {
  return runBatch<DoneInput, DoneResult>(
    d,
    projectId,
    items,
    (task, item, now) => {
      // Usage is recorded with its report, in the single call's transaction (the set-based statement writes none).
      if (item.usage !== undefined) return 'single';
      const decision = decideDone(task, item.lease_token, item.agent_id, item.output, now);
      if (decision.already_done) return { done: { task, unblocked: [], completed_epics: [], already_done: true } };
      // An epic above it, a review loop or a workflow's graph lock: the single call's locking path.
      if (task.parent_id !== null || loopSpecOf(task) !== null || task.context.workflow_graph_lock === true) return 'single';
      return { commit: { task: decision.task, expected_revision: task.revision, events: decision.events, release_dependents: task.has_dependents, now } };
    },
    async (outcome) => {
      // An epic that waited only on this task (its children done already) completes now.
      const epics = outcome.epics.length === 0 ? { completed: [], unblocked: [] } : await completeEpicsNow(d, projectId, outcome.epics);
      return { task: outcome.task, unblocked: [...outcome.unblocked, ...epics.unblocked].sort(), completed_epics: epics.completed, already_done: false };
    },
    (item) => completeTask(d, { ...item, project_id: projectId }),
  );
}

export async function failBatch(d: UseCaseDeps, projectId: string, items: ReadonlyArray<BatchItem<FailInput>>): Promise<BatchResult<FailResult>> {
  return runBatch<FailInput, FailResult>(
    d,
    projectId,
    items,
    (task, item, now) => {
      // A rate limit has its own decider (no attempt used); usage is recorded in the single call's transaction.
      if (item.rate_limited !== undefined || item.usage !== undefined) return 'single';
      const decision = failDecision(d, task, { ...item, project_id: projectId }, now);
      if (decision.outcome !== 'retrying') return 'single'; // a dead letter touches its dependents: locking path
      return { commit: { task: decision.task, expected_revision: task.revision, events: decision.events, release_dependents: false, now } };
    },
    (outcome) => ({ task: outcome.task, outcome: 'retrying', run_after: outcome.task.run_after }),
    (item) => failTask(d, { ...item, project_id: projectId }),
  );
}
