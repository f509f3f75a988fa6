import { boundFindings, checkInvariants, FINDINGS_PER_CHECK, repairEvents, staleWeights, statusesFromCounters } from '../../domain/invariants.js';
import type { FsckReport } from '../../ports/loom-api.js';
import type { UseCaseDeps } from './deps.js';

/**
 * `loom fsck`: the stored graph checked against its invariants. A repair
 * first rewrites, in one transaction, only what follows from the graph
 * itself: every unmet_deps counter, the weights of open work, and the
 * statuses that follow from the recounted counters. Everything else (a
 * cycle, a done task ahead of its dependencies, a missing event) needs a
 * person and is only reported.
 */
export async function fsck(d: UseCaseDeps, input: { project_id: string; repair?: boolean }): Promise<FsckReport> {
  const repaired = input.repair === true ? await repair(d, input.project_id) : undefined;
  const report = checkInvariants(await d.store.invariantSnapshot(input.project_id), d.clock.now());
  return {
    ok: report.violations.length === 0,
    project_id: input.project_id,
    checked: report.checked,
    violations: boundFindings(report.violations),
    due: boundFindings(report.due),
    totals: { violations: report.violations.length, due: report.due.length },
    ...(repaired === undefined ? {} : { repaired }),
  };
}

async function repair(d: UseCaseDeps, projectId: string): Promise<NonNullable<FsckReport['repaired']>> {
  const now = d.clock.now();
  const r = await d.store.transaction(async (tx) => {
    await tx.lockGraph(projectId); // no edge changes meanwhile
    await tx.lockProjectTasks(projectId); // nor completions moving the counters being recounted
    const unmet = await tx.recountUnmetDeps(projectId, now);
    const tasks = await tx.invariantTasks(projectId);
    const weights = staleWeights(tasks);
    await tx.setWeights(projectId, weights.map((w) => ({ id: w.id, weight: w.to })));
    const moved = await tx.settleStatuses(projectId, statusesFromCounters(tasks), now);
    const events = repairEvents({ unmet_deps: unmet, weights, ...moved });
    return {
      lists: { unmet_deps: unmet.map((u) => u.id), weights: weights.map((w) => w.id), unblocked: moved.unblocked, blocked: moved.blocked },
      events: await tx.appendEvents(projectId, events, now),
    };
  });
  d.bus.publish(r.events);
  const { lists } = r;
  const cap = (ids: string[]): string[] => ids.slice(0, FINDINGS_PER_CHECK);
  return {
    unmet_deps: cap(lists.unmet_deps),
    weights: cap(lists.weights),
    unblocked: cap(lists.unblocked),
    blocked: cap(lists.blocked),
    counts: { unmet_deps: lists.unmet_deps.length, weights: lists.weights.length, unblocked: lists.unblocked.length, blocked: lists.blocked.length },
  };
}
