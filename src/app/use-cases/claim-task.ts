import { taskNotFound } from '../../domain/errors.js';
import { newLease } from '../../domain/lease.js';
import type { ClaimInput, ClaimResult } from '../../ports/loom-api.js';
import type { UseCaseDeps } from './deps.js';
import { publicView } from './read-models.js';

/** Claims a given task, or the best ready one; nothing to claim is a result, not an error. */
export async function claimTask(d: UseCaseDeps, input: ClaimInput): Promise<ClaimResult> {
  const now = d.clock.now();
  const lease = newLease(d.ids.leaseToken(), now, input.lease_seconds ?? d.settings.lease_seconds);
  const spec = { agent_id: input.agent_id, lease, now };
  if (input.task_id === undefined) {
    const outcome = await d.store.claimNext(input.project_id, spec);
    if (outcome === null) return { claimed: false, reason: 'none_ready' };
    d.recent?.remember(outcome.task);
    d.bus.publish([outcome.event]);
    return { claimed: true, task: outcome.task, lease };
  }
  const outcome = await d.store.claimTask(input.project_id, input.task_id, spec);
  if (outcome === null) {
    const task = await d.store.getTask(input.project_id, input.task_id);
    if (task === null) throw taskNotFound(input.task_id);
    return { claimed: false, reason: 'not_ready', task: publicView(task) };
  }
  d.recent?.remember(outcome.task);
  d.bus.publish([outcome.event]);
  return { claimed: true, task: outcome.task, lease };
}
