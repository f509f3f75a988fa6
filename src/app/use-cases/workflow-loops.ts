import { decideEscalate, type DoneDecision } from '../../domain/deciders.js';
import { LoomError } from '../../domain/errors.js';
import type { NewEvent } from '../../domain/events.js';
import { checkPlan } from '../../domain/plan.js';
import type { JsonObject, Task } from '../../domain/task.js';
import { decideLoopRound, planRound, roundOf, type LoopSpec } from '../../domain/workflow-loop.js';
import type { DoneResult } from '../../ports/loom-api.js';
import type { TaskStoreTx } from '../../ports/task-store.js';
import { compileCondition, type CompiledCondition } from '../workflows/conditions.js';
import type { UseCaseDeps } from './deps.js';
import { writePlan } from './plan-writer.js';

const compiled = new Map<string, CompiledCondition>();

/** Whether `until` holds for a loop step's output (an expression that cannot be evaluated does not hold). */
export function untilHolds(until: string, scope: { output: JsonObject; round: number; inputs: unknown }): { held: boolean; error?: string } {
  try {
    let c = compiled.get(until);
    if (c === undefined) {
      c = compileCondition(until);
      if (compiled.size > 500) compiled.clear();
      compiled.set(until, c);
    }
    return { held: c.evaluate(scope) === true };
  } catch (e) {
    return { held: false, error: String((e as Error)?.message ?? e).split('\n')[0] };
  }
}

/**
 * A loop step is done (decided, not yet written): when `until` holds, null
 * (the caller completes it as any task). Otherwise, in the caller's
 * transaction (graph lock held, the task row locked): the next round's
 * tasks are written and the step's dependents now wait for the round's
 * copy of it; or after the last round the task is escalated to a person,
 * its output kept.
 */
export async function closeLoopStep(
  d: UseCaseDeps,
  tx: TaskStoreTx,
  task: Task,
  loop: LoopSpec,
  decision: Extract<DoneDecision, { already_done: false }>,
  output: JsonObject | undefined,
  now: Date,
): Promise<(DoneResult & { events: NewEvent[] }) | null> {
  const p = task.project_id;
  const epic = task.parent_id === null ? null : ((await tx.getTasks(p, [task.parent_id]))[0] ?? null);
  const round = roundOf(task);
  const verdict = decideLoopRound(loop, round, untilHolds(loop.until, { output: output ?? {}, round, inputs: epic?.context.inputs ?? {} }));
  if (verdict.kind === 'finished') return null;
  const runId = typeof epic?.context.workflow_run === 'number' ? epic.context.workflow_run : null;
  const step = String(task.context.step ?? '');

  if (verdict.kind === 'escalate') {
    const esc = decideEscalate({ ...task, output: output ?? null }, verdict.message, d.ids.escalationId(), null, 'policy', now);
    const saved = await tx.updateTask(esc.task);
    await tx.insertEscalation(esc.escalation);
    // The escalation is the policy's: the status change is its own event (as for other policy escalations).
    const events: NewEvent[] = [
      { type: 'task.blocked', task_id: task.id, agent_id: task.assignee, payload: { reason: 'escalation', by: 'review_loop', run_id: runId, step, round } },
      ...esc.events.map((e) => ({ ...e, payload: { ...e.payload, run_id: runId, step, round } })),
    ];
    return { task: saved, unblocked: [], completed_epics: [], already_done: false, loop: { outcome: 'escalated', round, escalation_id: esc.escalation.id }, events };
  }

  if (epic === null) throw new LoomError('INTERNAL', `loop step ${task.id} has no epic`, { hint: 'a workflow step always has its run\'s epic' });
  const saved = await tx.updateTask(decision.task);
  const events: NewEvent[] = [...decision.events];
  const order = new Map(loop.repeat.map((s, i) => [s, i]));
  const repeated = (await tx.children(p, epic.id))
    .filter((c) => order.has(String(c.context.step)) && roundOf(c) === round)
    .sort((a, b) => order.get(String(a.context.step))! - order.get(String(b.context.step))! || String(a.context.plan_key).localeCompare(String(b.context.plan_key)));
  const plan = { title: epic.title, tasks: planRound(saved, repeated, verdict.round, output) };
  const written = await writePlan(d, tx, {
    project_id: p,
    plan,
    shape: checkPlan(plan, { allow_flat: true }),
    parent: { epic_id: epic.id },
    origin: { kind: 'workflow', id: String(epic.context.workflow ?? 'workflow') },
    now,
  });
  if (written === null) throw new LoomError('CONFLICT', 'could not allocate ids for the next review round', { hint: 'report done again' });
  const nextLoop = written.task_ids[plan.tasks[plan.tasks.length - 1]!.key]!;
  const fresh = new Set(Object.values(written.task_ids));
  // What waited for this step now waits for its next round (still open: their counters do not move).
  for (const dependent of await tx.dependents(p, [task.id])) {
    if (fresh.has(dependent.id)) continue;
    const refs = await tx.dependencyRefs(dependent.id);
    await tx.replaceDependencies(
      dependent.id,
      refs.map((r) => (r.id === task.id ? { id: nextLoop, inherited: r.inherited } : r)),
    );
  }
  await tx.recomputeWeights(p, [...fresh]);
  const steps: Record<string, string[]> = {};
  for (const t of plan.tasks) (steps[String(t.context.step)] ??= []).push(written.task_ids[t.key]!);
  if (runId !== null) await tx.addWorkflowRunTasks(p, runId, steps, written.task_ids);
  events.push(...written.events, {
    type: 'workflow.round_added',
    task_id: epic.id,
    agent_id: null,
    payload: { run_id: runId, step, round: verdict.round, after: task.id, tasks: written.task_ids },
  });
  return { task: saved, unblocked: [], completed_epics: [], already_done: false, loop: { outcome: 'round_added', round: verdict.round, tasks: written.task_ids }, events };
}
