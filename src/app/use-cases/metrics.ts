import { CLAIM_TO_DONE_BUCKETS_S } from '../../domain/metrics.js';
import { agentStatus } from '../../domain/policy.js';
import type { ProjectMetrics, WorkflowRunStatus } from '../../ports/loom-api.js';
import type { MetricsRecord } from '../../ports/task-store.js';
import type { UseCaseDeps } from './deps.js';

/** A project's metrics: the store's bounded read, plus agent liveness (the same rule as `loom agents`). */
export async function projectMetrics(d: UseCaseDeps, input: { project_id: string }): Promise<ProjectMetrics> {
  // A relay runs only in server mode with Redis (where the read cache is): elsewhere its cursor never moves.
  // The agents' side on its own connection while the counts are read (one pass over the task rows, the
  // longest part): a scrape waits for the longer of the two, not their sum. Neither reads what the other writes.
  const [record, seen] = await Promise.all([
    d.store.metrics(input.project_id, { relays: d.cache !== undefined }),
    d.store.syncAgents(input.project_id).then(() => d.store.agents(input.project_id)),
  ]);
  const now = d.clock.now();
  const agents: ProjectMetrics['agents'] = { active: 0, idle: 0, gone: 0 };
  for (const a of seen) agents[agentStatus(a.last_seen, a.claims.length, now, d.settings.orchestration)]++;
  let cumulative = 0;
  return {
    project_id: input.project_id,
    at: now.toISOString(),
    tasks: record.tasks,
    ready: record.ready,
    open_escalations: record.open_escalations,
    counters: record.counters,
    claim_to_done_seconds: {
      buckets: CLAIM_TO_DONE_BUCKETS_S.map((le, i) => ({ le, count: (cumulative += record.claim_to_done.buckets[i] ?? 0) })),
      sum: record.claim_to_done.sum,
      count: record.claim_to_done.count,
    },
    agents,
    workflow_runs: workflowRunCounts(record.workflow_runs),
    relays: record.relays.map((r) => ({
      name: r.name,
      lag_seconds: r.oldest_at === null ? 0 : Math.max(0, (now.getTime() - Date.parse(r.oldest_at)) / 1000),
    })),
    events_behind: record.events_behind,
  };
}

/** The same status rule as `loom workflow runs` (its epic, then its steps), over grouped rows. */
function workflowRunCounts(rows: MetricsRecord['workflow_runs']): Record<WorkflowRunStatus, number> {
  const counts: Record<WorkflowRunStatus, number> = { running: 0, done: 0, failed: 0, escalated: 0, cancelled: 0 };
  for (const r of rows) {
    const status: WorkflowRunStatus =
      r.epic_status === 'done' ? 'done' : r.epic_status === 'cancelled' ? 'cancelled' : r.any_failed ? 'failed' : r.any_escalated ? 'escalated' : 'running';
    counts[status] += r.runs;
  }
  return counts;
}
