import { taskNotFound } from '../../domain/errors.js';
import { newLease } from '../../domain/lease.js';
import type { ClaimBatchInput, ClaimBatchResult, ClaimInput, ClaimResult } from '../../ports/loom-api.js';
import type { UseCaseDeps } from './deps.js';
import { budgetRefusal } from './budgets.js';
import { publicView } from './read-models.js';

/** Claims a given task, or the best ready one; nothing to claim is a result, not an error. */
export async function claimTask(d: UseCaseDeps, input: ClaimInput): Promise<ClaimResult> {
  const now = d.clock.now();
  const lease = newLease(d.ids.leaseToken(), now, input.lease_seconds ?? d.settings.lease_seconds);
  const spec = { agent_id: input.agent_id, lease, now };
  if (input.task_id === undefined) {
    const outcome = await d.store.claimNext(input.project_id, spec);
    if (outcome === null) {
      // Nothing claimable: say so, unless it is because a budget is spent (one more read, only then).
      const refused = await budgetRefusal(d, input.project_id);
      if (refused !== null) throw refused;
      return { claimed: false, reason: 'none_ready' };
    }
    d.recent?.remember(outcome.task);
    d.bus.publish([outcome.event]);
    return { claimed: true, task: outcome.task, lease };
  }
  const outcome = await d.store.claimTask(input.project_id, input.task_id, spec);
  if (outcome === null) {
    const task = await d.store.getTask(input.project_id, input.task_id);
    if (task === null) throw taskNotFound(input.task_id);
    const refused = await budgetRefusal(d, input.project_id, task);
    if (refused !== null) throw refused;
    return { claimed: false, reason: 'not_ready', task: publicView(task) };
  }
  d.recent?.remember(outcome.task);
  d.bus.publish([outcome.event]);
  return { claimed: true, task: outcome.task, lease };
}

/** Claims up to `count` ready tasks (or one per agent of `agent_ids`) in one statement, each with a lease of its own. */
export async function claimBatch(d: UseCaseDeps, input: ClaimBatchInput): Promise<ClaimBatchResult> {
  const now = d.clock.now();
  const agents = input.agent_ids ?? Array.from({ length: input.count ?? 1 }, () => input.agent_id);
  const leases = agents.map((agent_id) => ({ agent_id, lease: newLease(d.ids.leaseToken(), now, input.lease_seconds ?? d.settings.lease_seconds) }));
  const expires_at = leases[0]!.lease.expires_at;
  const outcomes = await d.store.claimBatch(input.project_id, { leases: leases.map((l) => ({ agent_id: l.agent_id, token: l.lease.token })), expires_at, now });
  if (outcomes.length === 0) {
    const refused = await budgetRefusal(d, input.project_id);
    if (refused !== null) throw refused;
  }
  for (const o of outcomes) d.recent?.remember(o.task);
  d.bus.publish(outcomes.map((o) => o.event));
  return { claims: outcomes.map((o) => ({ task: o.task, lease: { token: o.task.lease_token!, expires_at } })) };
}
