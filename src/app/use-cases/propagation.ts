import type { NewEvent } from '../../domain/events.js';
import { epicCompleteByCounts, propagateFailure } from '../../domain/graph.js';
import { decideEpicCompletion } from '../../domain/deciders.js';
import type { Escalation } from '../../domain/escalation.js';
import type { FailurePolicy, JsonObject, Task } from '../../domain/task.js';
import type { TaskStoreTx } from '../../ports/task-store.js';
import type { IdGenerator } from '../../ports/id-generator.js';
import { roundOf } from '../../domain/workflow-loop.js';
import { compileCondition } from '../workflows/conditions.js';
import { MAX_FAN_OUT } from '../workflows/workflow-file.js';
import { liquid } from '../skills/skill-file.js';
import { checkPlan, type PlannedTask } from '../../domain/plan.js';
import { LoomError } from '../../domain/errors.js';
import { writePlan } from './plan-writer.js';

/** Opens an escalation raised by policy (not by an agent) for a person to look at, with its event. */
export async function raisePolicyEscalation(
  ids: Pick<IdGenerator, 'escalationId'>,
  tx: TaskStoreTx,
  task: Pick<Task, 'id' | 'project_id'>,
  message: string,
  now: Date,
  events: NewEvent[],
): Promise<Escalation> {
  const escalation: Escalation = {
    id: ids.escalationId(),
    project_id: task.project_id,
    task_id: task.id,
    message,
    source: 'policy',
    raised_by: null,
    status: 'open',
    resolution: null,
    created_at: now.toISOString(),
    resolved_at: null,
  };
  await tx.insertEscalation(escalation);
  events.push({ type: 'escalation.raised', task_id: task.id, agent_id: null, payload: { escalation_id: escalation.id, message, source: 'policy' } });
  return escalation;
}

/**
 * A task finished: release its dependents in one statement and record who
 * became ready. Returns those, and the epics among the dependents that now
 * wait for nothing (pass them to `completeEpics`). A released workflow step
 * with a condition on earlier outputs is decided here, in the same
 * transaction, before anyone can claim it: false skips it (done, output
 * `{skipped: true}`) and releases its own dependents in turn; a condition
 * that cannot be evaluated goes to a person (given `ids`), else the step runs.
 */
export async function releaseDependents(
  tx: TaskStoreTx,
  projectId: string,
  taskId: string,
  now: Date,
  events: NewEvent[],
  ctx?: GateContext,
): Promise<{ unblocked: string[]; epics: string[] }> {
  const released = await tx.releaseDependents(projectId, taskId, now);
  const unblocked: string[] = [];
  const epics = [...released.epics];
  const gated = new Set(released.gated);
  for (const id of released.unblocked) {
    if (gated.has(id)) {
      const gate = await decideGate(tx, projectId, id, now, events, ctx);
      if (gate === 'skipped') {
        const next = await releaseDependents(tx, projectId, id, now, events, ctx);
        unblocked.push(...next.unblocked);
        epics.push(...next.epics);
        continue;
      }
      if (gate === 'escalated') continue;
      if (typeof gate === 'object') {
        unblocked.push(...gate.fanned_out);
        continue;
      }
    }
    events.push({ type: 'task.unblocked', task_id: id, agent_id: null, payload: { by: taskId } });
    unblocked.push(id);
  }
  return { unblocked, epics };
}

/**
 * The tick's backstop for a workflow step released without its condition or
 * fan-out decided (a release outside a completion, e.g. `loom fsck --repair`):
 * decides it now, in the caller's transaction (graph lock held).
 */
export async function decideReleasedStep(
  tx: TaskStoreTx,
  task: Task,
  now: Date,
  events: NewEvent[],
  ctx: GateContext,
): Promise<{ decided: boolean; unblocked: string[] }> {
  const gate = await decideGate(tx, task.project_id, task.id, now, events, ctx);
  if (gate === 'run') return { decided: true, unblocked: [] };
  if (gate === 'escalated') return { decided: true, unblocked: [] };
  if (gate === 'skipped') {
    const next = await releaseDependents(tx, task.project_id, task.id, now, events, ctx);
    await completeEpics(tx, task.project_id, [task.parent_id, ...next.epics], now, events, [...next.unblocked]);
    return { decided: true, unblocked: next.unblocked };
  }
  return { decided: true, unblocked: gate.fanned_out };
}

/** What deciding a released workflow step needs: ids, defaults, and whether the graph lock is held (a fan-out writes tasks and edges). */
export interface GateContext {
  ids: Pick<IdGenerator, 'escalationId' | 'taskId'>;
  settings: { max_attempts: number };
  graphLocked: boolean;
}

/** The outputs of a workflow level's steps, for conditions: each step's latest round; a list for a fan-out. */
async function stepOutputs(tx: TaskStoreTx, projectId: string, task: Task, level: string): Promise<Record<string, unknown>> {
  const byStep = new Map<string, Task[]>();
  for (const c of task.parent_id === null ? [] : await tx.children(projectId, task.parent_id)) {
    const step = c.context.step;
    if (typeof step !== 'string' || !step.startsWith(level) || step.slice(level.length).includes('/')) continue;
    const key = step.slice(level.length);
    byStep.set(key, [...(byStep.get(key) ?? []), c]);
  }
  const outputs: Record<string, unknown> = {};
  for (const [step, tasks] of byStep) {
    const latest = Math.max(...tasks.map(roundOf));
    const last = tasks.filter((t) => roundOf(t) === latest && t.context.workflow_for_each === undefined);
    outputs[step] = last.length === 1 ? (last[0]!.output ?? {}) : last.map((t) => t.output ?? {});
  }
  return outputs;
}

/** Asks a person about a workflow step Loom cannot decide; the step waits blocked on it. */
async function escalateStep(tx: TaskStoreTx, task: Task, message: string, now: Date, events: NewEvent[], ids: Pick<IdGenerator, 'escalationId'>): Promise<'escalated'> {
  await tx.updateTask({ ...task, status: 'blocked', blocked_reason: 'escalation', updated_at: now.toISOString() });
  events.push({ type: 'task.blocked', task_id: task.id, agent_id: null, payload: { reason: 'escalation', by: 'workflow_condition' } });
  await raisePolicyEscalation(ids, tx, task, message, now, events);
  return 'escalated';
}

/**
 * Decides a released workflow step (its dependencies are all done now): its
 * condition on earlier outputs, then its fan-out over an earlier output.
 */
async function decideGate(
  tx: TaskStoreTx,
  projectId: string,
  taskId: string,
  now: Date,
  events: NewEvent[],
  ctx: GateContext | undefined,
): Promise<'run' | 'skipped' | 'escalated' | { fanned_out: string[] }> {
  const task = await tx.lockTask(projectId, taskId);
  if (task === null || task.status !== 'pending') return 'run';
  const gate = task.context.workflow_when as { condition?: unknown; level?: unknown; inputs?: unknown } | undefined;
  if (gate === undefined || typeof gate.condition !== 'string') return task.context.workflow_for_each === undefined ? 'run' : fanOut(tx, projectId, task, now, events, ctx);
  const level = typeof gate.level === 'string' ? gate.level : '';
  const outputs = await stepOutputs(tx, projectId, task, level);
  let result: unknown;
  let error: string | undefined;
  try {
    result = compileCondition(gate.condition).evaluate({ inputs: gate.inputs ?? {}, outputs });
  } catch (e) {
    error = String((e as Error)?.message ?? e).split('\n')[0];
  }
  const run = task.parent_id === null ? null : (await tx.getTasks(projectId, [task.parent_id]))[0]?.context.workflow_run ?? null;
  if (error !== undefined) {
    if (ctx === undefined) {
      events.push({ type: 'workflow.step_skipped', task_id: task.id, agent_id: null, payload: { run_id: run, step: task.context.step ?? null, skipped: false, reason: `when ${gate.condition} could not be evaluated (${error}): the step runs` } });
      return 'run';
    }
    const message = `workflow step ${String(task.context.step)}: its condition ${gate.condition} could not be evaluated (${error}). Resolve with unblock to run it, done to skip it, or cancel`;
    return escalateStep(tx, task, message, now, events, ctx.ids);
  }
  if (result === true) {
    if (task.context.workflow_for_each !== undefined) return fanOut(tx, projectId, task, now, events, ctx);
    // Decided: the condition leaves the context (the tick's backstop looks for undecided ones), the answer stays.
    const { workflow_when: _w, ...context } = task.context;
    void _w;
    await tx.updateTask({ ...task, context: { ...context, workflow_when_held: gate.condition }, updated_at: now.toISOString() });
    return 'run';
  }
  const reason = `when ${gate.condition} is ${result === false ? 'false' : `not true (${JSON.stringify(result)?.slice(0, 100)})`}`;
  await tx.updateTask({ ...task, status: 'done', output: { skipped: true, reason }, updated_at: now.toISOString() });
  events.push(
    { type: 'task.done', task_id: task.id, agent_id: null, payload: { skipped: true, reason } },
    { type: 'workflow.step_skipped', task_id: task.id, agent_id: null, payload: { run_id: run, step: task.context.step ?? null, reason } },
  );
  return 'skipped';
}

/**
 * Completes the epics among `epicIds` whose children are all finished (at
 * least one done) and whose own dependencies are all done, and then, in
 * turn, the epics above them and the epics that waited on them. Each epic is
 * row-locked before its children are read, so of two last children finishing
 * at once exactly one sees every sibling done.
 */
export async function completeEpics(
  tx: TaskStoreTx,
  projectId: string,
  epicIds: ReadonlyArray<string | null>,
  now: Date,
  events: NewEvent[],
  unblocked: string[],
): Promise<string[]> {
  const completed: string[] = [];
  const queue = epicIds.filter((id): id is string => id !== null);
  // Looking at an epic twice is harmless: a completed one is done, and skipped.
  for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
    const epic = await tx.lockTask(projectId, id);
    if (epic === null || epic.status !== 'epic' || epic.unmet_deps > 0) continue;
    // Counts, not rows: an epic of a thousand children is checked on each child's done.
    if (!epicCompleteByCounts(await tx.childStatusCounts(projectId, id))) continue;
    const decision = decideEpicCompletion(epic, now);
    await tx.updateTask(decision.task);
    events.push(...decision.events);
    const run = epic.context.workflow_run;
    if (typeof run === 'number') {
      events.push({ type: 'workflow.completed', task_id: epic.id, agent_id: null, payload: { run_id: run, workflow: epic.context.workflow ?? null, epic_id: epic.id } });
    }
    completed.push(epic.id);
    const released = await releaseDependents(tx, projectId, epic.id, now, events);
    unblocked.push(...released.unblocked);
    queue.push(...released.epics);
    if (epic.parent_id !== null) queue.push(epic.parent_id);
  }
  return completed;
}

/**
 * The dependents of tasks that failed for good or were cancelled follow the
 * project's policy: cancelled with them, or kept blocked with a reason and an
 * escalation for a human.
 */
export async function propagateFailureToDependents(
  tx: TaskStoreTx,
  projectId: string,
  failedId: string,
  policy: FailurePolicy,
  now: Date,
  ids: IdGenerator,
  events: NewEvent[],
  escalate = true,
): Promise<{ cancelled: string[]; blocked: string[]; escalation: Escalation | null }> {
  const at = now.toISOString();
  if (policy === 'cancel') {
    const open = await tx.openDescendants(projectId, [failedId]);
    const cancelled = await tx.cancelTasks(projectId, open, `dependency ${failedId} did not complete`, now);
    for (const id of cancelled) events.push({ type: 'task.cancelled', task_id: id, agent_id: null, payload: { reason: 'dependency_failed', by: failedId } });
    return { cancelled, blocked: [], escalation: null };
  }
  const dependents = await tx.dependents(projectId, [failedId]);
  const { block } = propagateFailure('block', dependents);
  for (const t of dependents.filter((d) => block.includes(d.id))) {
    await tx.updateTask({ ...t, status: 'blocked', blocked_reason: 'dependency_failed', updated_at: at });
    events.push({ type: 'task.blocked', task_id: t.id, agent_id: null, payload: { reason: 'dependency_failed', by: failedId } });
  }
  if (block.length === 0 || !escalate) return { cancelled: [], blocked: block, escalation: null };
  if (block.length === 0) return { cancelled: [], blocked: [], escalation: null };
  const escalation = await raisePolicyEscalation(
    ids,
    tx,
    { id: failedId, project_id: projectId },
    `${failedId} will not complete; ${block.length} dependent task(s) are blocked on it: ${block.slice(0, 10).join(', ')}${block.length > 10 ? ', ...' : ''}`,
    now,
    events,
  );
  return { cancelled: [], blocked: block, escalation };
}

/**
 * A fan-out over an earlier step's output: the list is read now, one task
 * per item is written under the run's epic (the step's templates rendered
 * with the item), what waited for the step now waits for all of them, and
 * the step's own task is done. Needs the graph lock (taken first by the
 * completion that released it); an empty list skips the step.
 */
async function fanOut(
  tx: TaskStoreTx,
  projectId: string,
  task: Task,
  now: Date,
  events: NewEvent[],
  ctx: GateContext | undefined,
): Promise<'run' | 'skipped' | 'escalated' | { fanned_out: string[] }> {
  const spec = task.context.workflow_for_each as Record<string, unknown>;
  const step = String(task.context.step ?? task.id);
  if (ctx === undefined || !ctx.graphLocked) {
    if (ctx === undefined) return 'run';
    return escalateStep(tx, task, `workflow step ${step}: its fan-out was released without the graph lock and was not made; resolve with cancel and start the step by hand`, now, events, ctx.ids);
  }
  const level = typeof spec.level === 'string' ? spec.level : '';
  const inputs = (spec.inputs ?? {}) as JsonObject;
  let list: unknown;
  try {
    list = compileCondition(String(spec.list)).evaluate({ inputs, outputs: await stepOutputs(tx, projectId, task, level) });
  } catch (e) {
    return escalateStep(tx, task, `workflow step ${step}: for_each ${String(spec.list)} could not be evaluated (${String((e as Error)?.message ?? e).split('\n')[0]})`, now, events, ctx.ids);
  }
  if (!Array.isArray(list)) return escalateStep(tx, task, `workflow step ${step}: for_each ${String(spec.list)} gave ${list === null ? 'null' : typeof list}, not a list`, now, events, ctx.ids);
  if (list.length > MAX_FAN_OUT) return escalateStep(tx, task, `workflow step ${step}: for_each gave ${list.length} items; a step fans out to at most ${MAX_FAN_OUT}`, now, events, ctx.ids);
  const run = task.parent_id === null ? null : ((await tx.getTasks(projectId, [task.parent_id]))[0]?.context.workflow_run ?? null);
  if (list.length === 0) {
    const reason = `for_each ${String(spec.list)} is empty`;
    await tx.updateTask({ ...task, status: 'done', output: { skipped: true, reason }, updated_at: now.toISOString() });
    events.push(
      { type: 'task.done', task_id: task.id, agent_id: null, payload: { skipped: true, reason } },
      { type: 'workflow.step_skipped', task_id: task.id, agent_id: null, payload: { run_id: run, step, reason } },
    );
    return 'skipped';
  }
  const key = String(task.context.plan_key ?? step.replace(/\//g, '-'));
  const workflow = String(task.context.workflow ?? '');
  const render = (source: string, scope: Record<string, unknown>): string => liquid.parseAndRenderSync(source, scope) as string;
  const renderTree = (value: unknown, scope: Record<string, unknown>): unknown => {
    if (typeof value === 'string') return value.includes('{{') || value.includes('{%') ? render(value, scope) : value;
    if (Array.isArray(value)) return value.map((v) => renderTree(v, scope));
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderTree(v, scope)]));
    return value;
  };
  const tasks: PlannedTask[] = list.map((item, index) => {
    const scope = { inputs, workflow, item, index };
    return {
      key: `${key}-${index + 1}`,
      title: render(String(spec.title ?? step), scope).trim().slice(0, 500) || step,
      done_when: typeof spec.done_when === 'string' ? render(spec.done_when, scope).trim().slice(0, 5000) || null : null,
      depends_on: [...task.depends_on],
      priority: task.priority,
      context: { ...(renderTree(spec.context ?? {}, scope) as JsonObject), workflow, step, item: item as JsonObject[keyof JsonObject] },
      skill: typeof spec.skill === 'string' ? spec.skill : null,
      ...(typeof spec.max_attempts === 'number' ? { max_attempts: spec.max_attempts } : {}),
    };
  });
  const plan = { title: step, tasks };
  const written = await writePlan(ctx, tx, { project_id: projectId, plan, shape: checkPlan(plan, { allow_flat: true }), parent: { epic_id: task.parent_id! }, origin: { kind: 'workflow', id: workflow }, now });
  if (written === null) throw new LoomError('CONFLICT', 'could not allocate ids for a workflow fan-out', { hint: 'report done again' });
  const made = tasks.map((t) => written.task_ids[t.key]!);
  const fresh = new Set(made);
  // What waited for the step now waits for every task it fanned out to (each open: their counters grow).
  for (const dependent of await tx.dependents(projectId, [task.id])) {
    if (fresh.has(dependent.id)) continue;
    const refs = await tx.dependencyRefs(dependent.id);
    await tx.replaceDependencies(dependent.id, [...refs.filter((r) => r.id !== task.id), ...made.map((id) => ({ id, inherited: false }))]);
    await tx.updateTask({ ...dependent, unmet_deps: dependent.unmet_deps + made.length - 1, updated_at: now.toISOString() });
  }
  await tx.updateTask({ ...task, status: 'done', output: { fanned_out: made.length, tasks: made }, updated_at: now.toISOString() });
  await tx.recomputeWeights(projectId, made);
  if (typeof run === 'number') await tx.addWorkflowRunTasks(projectId, run, { [step]: made }, written.task_ids);
  events.push(...written.events, { type: 'task.done', task_id: task.id, agent_id: null, payload: { fanned_out: made.length } }, {
    type: 'workflow.fanned_out',
    task_id: task.id,
    agent_id: null,
    payload: { run_id: run, step, items: made.length, tasks: written.task_ids },
  });
  return { fanned_out: made };
}
