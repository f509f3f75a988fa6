import { taskNotFound } from '../../domain/errors.js';
import { budgetExceeded, budgetHoldReason } from '../../domain/budget.js';
import { decideHold, decideResume } from '../../domain/hold.js';
import type { Task } from '../../domain/task.js';
import type { TaskStoreTx } from '../../ports/task-store.js';
import type { UseCaseDeps } from './deps.js';
import { publicView } from './read-models.js';
import { assertProjectOpen } from './remove-project.js';

/** Hold and resume (see src/domain/hold.ts): an operator pauses part of the graph without cancelling it. */

/** Everything below an epic (children, their children, ...), row-locked in id order; finished sub-epics are not walked. */
async function lockSubtree(tx: TaskStoreTx, projectId: string, root: Task): Promise<Task[]> {
  if (root.status !== 'epic') return [];
  const ids: string[] = [];
  for (let queue = [root.id], parent = queue.shift(); parent !== undefined; parent = queue.shift()) {
    for (const c of await tx.children(projectId, parent)) {
      ids.push(c.id);
      if (c.status === 'epic') queue.push(c.id);
    }
  }
  return tx.lockTasks(projectId, ids);
}

export async function holdTask(
  d: UseCaseDeps,
  input: { project_id: string; task_id: string; reason?: string; agent_id?: string },
): Promise<{ task: Task; held: string[] }> {
  const p = input.project_id;
  const now = d.clock.now();
  const r = await d.store.transaction(async (tx) => {
    // Children are created under the graph lock: none can slip in under the epic unheld.
    await tx.lockGraph(p);
    await assertProjectOpen(tx, p);
    const root = await tx.lockTask(p, input.task_id);
    if (root === null) throw taskNotFound(input.task_id);
    // Locking each row waits out a claim in flight on it; once this commits, the claim
    // statements see held_at and skip the task (they re-check it on the row they lock).
    const below = await lockSubtree(tx, p, root);
    const decision = decideHold(root, below, input.reason ?? null, input.agent_id ?? null);
    await tx.holdTasks(p, decision.held, input.reason ?? null, now);
    const task = (await tx.lockTask(p, root.id))!;
    return { task, held: decision.held, events: await tx.appendEvents(p, decision.events, now) };
  });
  d.bus.publish(r.events);
  return { task: publicView(r.task), held: r.held };
}

export async function resumeTask(
  d: UseCaseDeps,
  input: { project_id: string; task_id: string; agent_id?: string },
): Promise<{ task: Task; resumed: Array<{ id: string; status: Task['status'] }> }> {
  const p = input.project_id;
  const now = d.clock.now();
  const r = await d.store.transaction(async (tx) => {
    await tx.lockGraph(p);
    await assertProjectOpen(tx, p);
    const root = await tx.lockTask(p, input.task_id);
    if (root === null) throw taskNotFound(input.task_id);
    const below = await lockSubtree(tx, p, root);
    const all = decideResume(root, below, input.agent_id ?? null);
    // Work under an exceeded budget stays held, by that budget now: raising it resumes it.
    const covered = await tx.stoppedScopesOver(p, all.resumed.map((t) => t.id));
    if (covered.size > 0) {
      const budgets = await tx.budgets(p);
      const stops = budgets.filter((b) => [...covered.values()].includes(b.scope));
      if (covered.size === all.resumed.length) throw budgetExceeded(stops, root.id);
      const byScope = new Map<string, string[]>();
      for (const [id, scope] of covered) byScope.set(scope, [...(byScope.get(scope) ?? []), id]);
      for (const b of stops) await tx.moveBudgetHold(p, byScope.get(b.scope) ?? [], b.scope, budgetHoldReason(b), now);
    }
    const decision = { resumed: all.resumed.filter((t) => !covered.has(t.id)), events: all.events.filter((e) => e.task_id === null || !covered.has(e.task_id)) };
    await tx.resumeTasks(p, decision.resumed, now);
    const task = (await tx.lockTask(p, root.id))!;
    return { task, resumed: decision.resumed.map(({ id, status }) => ({ id, status })), events: await tx.appendEvents(p, decision.events, now) };
  });
  d.bus.publish(r.events);
  return { task: publicView(r.task), resumed: r.resumed };
}
