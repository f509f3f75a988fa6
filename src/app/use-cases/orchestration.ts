import { decideCancel } from '../../domain/deciders.js';
import { LoomError, taskNotFound } from '../../domain/errors.js';
import type { AgentView, Escalation } from '../../domain/escalation.js';
import type { NewEvent } from '../../domain/events.js';
import {
  agentStatus,
  decideDoneByHand,
  decideEscalationResolved,
  decideRedrive,
  decideUnblock,
  isStuck,
  type ResolveAction,
} from '../../domain/policy.js';
import type { JsonObject, Task } from '../../domain/task.js';
import type { TickReport } from '../../ports/loom-api.js';
import type { TaskStoreTx } from '../../ports/task-store.js';
import type { UseCaseDeps } from './deps.js';
import { completeEpics, decideReleasedStep, propagateFailureToDependents, raisePolicyEscalation, releaseDependents } from './propagation.js';
import { publicView } from './read-models.js';
import { expireLeases } from './report-task.js';
import { assertProjectOpen } from './remove-project.js';
import { assertNotBudgetEscalation } from './budgets.js';


const BATCH = 1000;

/**
 * The reconcile tick: idempotent, and safe in many processes at once (every
 * action re-checks its condition under the row lock or a revision guard, so
 * a task is acted on once). It reads the database and never replays state.
 */
export async function reconcile(d: UseCaseDeps, projectId: string | null): Promise<TickReport> {
  const leases = await expireLeases(d, projectId, BATCH);
  const report: TickReport = { ...leases, stuck: [], epics_completed: [], dependents_blocked: [], dependents_cancelled: [] };
  const policy = d.settings.orchestration;

  // Stuck: heartbeats keep the lease alive, but no progress for too long.
  const now = d.clock.now();
  for (const candidate of await d.store.stuckCandidates(projectId, now, new Date(now.getTime() - policy.stuck_after_ms), BATCH)) {
    const events = await d.store.transaction(async (tx) => {
      const task = await tx.lockTask(candidate.project_id, candidate.id);
      if (task === null || !isStuck(task, now, policy) || (await tx.openEscalationsFor(task.project_id, task.id)).length > 0) return null;
      const quiet = Math.round((now.getTime() - Date.parse(task.progress_at!)) / 60_000);
      const events: NewEvent[] = [{ type: 'task.stuck', task_id: task.id, agent_id: task.assignee, payload: { progress_at: task.progress_at, minutes: quiet } }];
      const message = `${task.id} looks stuck: ${task.assignee ?? 'its agent'} keeps its lease but reported no progress for ${quiet} min`;
      await raisePolicyEscalation(d.ids, tx, task, message, now, events);
      return tx.appendEvents(task.project_id, events, now);
    });
    if (events !== null) {
      d.bus.publish(events);
      report.stuck.push(candidate.id);
    }
  }

  // Backstops: epics whose last child finished, dependents of failures left waiting.
  for (const epic of await d.store.completableEpics(projectId, BATCH)) {
    const events = await d.store.transaction(async (tx) => {
      const list: NewEvent[] = [];
      const completed = await completeEpics(tx, epic.project_id, [epic.id], now, list, []);
      return completed.length === 0 ? null : { completed, events: await tx.appendEvents(epic.project_id, list, now) };
    });
    if (events !== null) {
      d.bus.publish(events.events);
      report.epics_completed.push(...events.completed);
    }
  }
  for (const step of await d.store.undecidedWorkflowSteps(projectId, BATCH)) {
    const events = await d.store.transaction(async (tx) => {
      await tx.lockGraph(step.project_id); // a fan-out writes tasks and edges
      const list: NewEvent[] = [];
      const r = await decideReleasedStep(tx, step, now, list, { ids: d.ids, settings: d.settings, graphLocked: true });
      return r.decided ? tx.appendEvents(step.project_id, list, now) : [];
    });
    d.bus.publish(events);
    if (events.length > 0) (report.workflow_steps_decided ??= []).push(step.id);
  }
  for (const orphan of await d.store.orphanedDependents(projectId, BATCH)) {
    const events = await d.store.transaction(async (tx) => {
      await tx.lockGraph(orphan.project_id);
      const deps = await tx.lockTasks(orphan.project_id, orphan.depends_on);
      const list: NewEvent[] = [];
      for (const failed of deps.filter((t) => t.status === 'failed' || t.status === 'cancelled')) {
        const r = await propagateFailureToDependents(tx, orphan.project_id, failed.id, d.settings.failure_policy, now, d.ids, list);
        report.dependents_blocked.push(...r.blocked);
        report.dependents_cancelled.push(...r.cancelled);
        if (r.cancelled.length > 0) await tx.recomputeWeights(orphan.project_id, [failed.id, ...r.cancelled]);
      }
      return tx.appendEvents(orphan.project_id, list, now);
    });
    d.bus.publish(events);
  }

  for (const p of projectId === null ? await d.store.projectIds() : [projectId]) await d.store.syncAgents(p);
  return report;
}

export async function deadLetters(d: UseCaseDeps, input: { project_id: string; limit?: number }): Promise<Task[]> {
  return (await d.store.deadLetters(input.project_id, input.limit ?? 100)).map(publicView);
}

/** Puts dead letters back in the queue (attempts reset); their open escalations close, their blocked dependents wait again. */
export async function redrive(
  d: UseCaseDeps,
  input: { project_id: string; task_id?: string; all?: boolean; agent_id?: string },
): Promise<{ redriven: string[] }> {
  const p = input.project_id;
  const ids = input.all === true ? (await d.store.deadLetters(p, 10_000)).map((t) => t.id) : [input.task_id!];
  const redriven: string[] = [];
  for (const id of ids) {
    const now = d.clock.now();
    const events = await d.store.transaction(async (tx) => {
      await tx.lockGraph(p); // a redrive walks dependents and ancestors: graph lock first
      await assertProjectOpen(tx, p);
      const task = await tx.lockTask(p, id);
      if (task === null) throw taskNotFound(id);
      if (input.all === true && task.status !== 'failed') return null; // redriven meanwhile
      const events: NewEvent[] = [];
      await redriveInTx(d, tx, task, 'redriven', input.agent_id ?? null, now, events);
      return tx.appendEvents(p, events, now);
    });
    if (events !== null) {
      d.bus.publish(events);
      redriven.push(id);
    }
  }
  return { redriven };
}

async function redriveInTx(d: UseCaseDeps, tx: TaskStoreTx, task: Task, why: string, by: string | null, now: Date, events: NewEvent[]): Promise<void> {
  const decision = decideRedrive(task, now, by);
  await tx.updateTask(decision.task);
  events.push(...decision.events);
  // Dependents blocked behind it wait on it again like any dependency.
  for (const dep of await tx.failedDependents(task.project_id, task.id)) {
    const waiting = decideUnblock(dep, now, by, false);
    await tx.updateTask(waiting.task);
    events.push(...waiting.events);
  }
  for (const e of await tx.openEscalationsFor(task.project_id, task.id)) {
    const r = decideEscalationResolved(e, 'retry', why, by, now);
    await tx.updateEscalation(r.escalation);
    events.push(r.event);
  }
  await tx.recomputeWeights(task.project_id, task.depends_on);
}

export async function listEscalations(d: UseCaseDeps, input: { project_id: string; status?: 'open' | 'resolved' | 'all' }): Promise<Escalation[]> {
  const status = input.status ?? 'open';
  return d.store.escalations(input.project_id, status === 'all' ? {} : { status });
}

/**
 * A person settles an escalation: retry (back to the queue, attempts reset),
 * cancel, done (with the output they give) or unblock (let it run again as
 * it is). The escalation and what it did to the task commit together.
 */
export async function resolveEscalation(
  d: UseCaseDeps,
  input: { project_id: string; escalation_id: string; action: ResolveAction; output?: JsonObject; note?: string; agent_id?: string },
): Promise<{ escalation: Escalation; task: Task }> {
  const p = input.project_id;
  const by = input.agent_id ?? null;
  const now = d.clock.now();
  const r = await d.store.transaction(async (tx) => {
    await tx.lockGraph(p); // every action but unblock reaches past the task: graph lock first
    await assertProjectOpen(tx, p);
    const escalation = await tx.lockEscalation(p, input.escalation_id);
    if (escalation === null) {
      throw new LoomError('ESCALATION_NOT_FOUND', `no escalation ${input.escalation_id} in this project`, {
        hint: '`loom escalations` lists them with their ids',
        details: { escalation_id: input.escalation_id },
      });
    }
    if (escalation.status === 'open') await assertNotBudgetEscalation(tx, p, escalation.id);
    const resolved = decideEscalationResolved(escalation, input.action, input.note, by, now);
    const task = await tx.lockTask(p, escalation.task_id);
    if (task === null) throw taskNotFound(escalation.task_id);
    const events: NewEvent[] = [];
    // Recorded first, so the action's own bookkeeping (a redrive closing open escalations) does not close it twice.
    await tx.updateEscalation(resolved.escalation);
    events.push(resolved.event);
    let result = task;
    switch (input.action) {
      case 'retry':
        if (task.status === 'failed') {
          await redriveInTx(d, tx, task, 'retry', by, now, events);
        } else {
          const decision = decideUnblock(task, now, by, true);
          await tx.updateTask(decision.task);
          events.push(...decision.events);
        }
        break;
      case 'unblock': {
        const decision = decideUnblock(task, now, by, false);
        await tx.updateTask(decision.task);
        events.push(...decision.events);
        break;
      }
      case 'done': {
        const decision = decideDoneByHand(task, input.output, now, by);
        await tx.updateTask(decision.task);
        events.push(...decision.events);
        const released = await releaseDependents(tx, p, task.id, now, events, { ids: d.ids, settings: d.settings, graphLocked: true });
        await completeEpics(tx, p, [task.parent_id, ...released.epics], now, events, [...released.unblocked]);
        await tx.recomputeWeights(p, task.depends_on); // no longer open work for what it waited on
        break;
      }
      case 'cancel': {
        const decision = decideCancel(task, input.note ?? `cancelled on escalation ${escalation.id}`, now);
        await tx.updateTask(decision.task);
        events.push(...decision.events);
        const propagation = await propagateFailureToDependents(tx, p, task.id, d.settings.failure_policy, now, d.ids, events);
        await tx.recomputeWeights(p, [...task.depends_on, ...propagation.cancelled]);
        await completeEpics(tx, p, [task.parent_id], now, events, []);
        break;
      }
    }
    // Whatever else was open about this task is settled by the same decision.
    for (const other of await tx.openEscalationsFor(p, task.id)) {
      const r2 = decideEscalationResolved(other, input.action, `with ${escalation.id}`, by, now);
      await tx.updateEscalation(r2.escalation);
      events.push(r2.event);
    }
    result = (await tx.lockTask(p, task.id))!;
    return { escalation: resolved.escalation, task: result, events: await tx.appendEvents(p, events, now) };
  });
  d.bus.publish(r.events);
  return { escalation: r.escalation, task: publicView(r.task) };
}

export async function listAgents(d: UseCaseDeps, input: { project_id: string }): Promise<AgentView[]> {
  await d.store.syncAgents(input.project_id);
  const now = d.clock.now();
  return (await d.store.agents(input.project_id)).map((a) => ({ ...a, status: agentStatus(a.last_seen, a.claims.length, now, d.settings.orchestration) }));
}
