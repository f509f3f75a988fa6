import type pg from 'pg';
import { CLAIM_TO_DONE_BUCKETS_S, METRIC_COUNTERS, type MetricCounter } from '../../domain/metrics.js';
import { TASK_STATUSES, type TaskStatus } from '../../domain/task.js';
import type { MetricsRecord } from '../../ports/task-store.js';
import { toLoomError } from './db-errors.js';

/** Events folded into the counters per scrape at most: keeps a scrape bounded after a long pause (the next one goes on). */
export const METRICS_FOLD_BATCH = 20_000;

const COUNTED_TYPES = Object.values(METRIC_COUNTERS) as string[];
const NAME_OF_TYPE = Object.fromEntries(Object.entries(METRIC_COUNTERS).map(([name, type]) => [type, name]));

/**
 * Folds the events past the metrics cursor (at most `batch`, in relay order,
 * of transactions no running one can precede) into metrics_counts, and moves
 * the cursor past them, in one statement under the cursor's row lock.
 * Claim-to-done latency: each task.done against the task's last task.claimed
 * before it (events_task index: one short backward scan per completion).
 */
export async function foldEvents(pool: pg.Pool, batch = METRICS_FOLD_BATCH): Promise<number> {
  // One statement, so one round trip: the cursor row's lock is taken first (a second scraper waits,
  // then reads the cursor the first one moved); every event below the batch's last transaction
  // is visible to this statement's snapshot (they are all older than its xmin), so none is skipped.
  try {
    const r = await pool.query({
      name: 'loom_metrics_fold',
      text: `WITH cur AS (SELECT tx_id, event_id FROM metrics_cursor WHERE name = 'events' FOR UPDATE),
             batch AS (
               -- the cursor as scalar subqueries (computed once, then a range scan of events_relay);
               -- joined as a row, the planner would scan the whole log
               SELECT e.project_id, e.type, e.task_id, e.id, e.at, e.tx_id FROM events e
                WHERE (e.tx_id, e.id) > ((SELECT tx_id FROM cur), (SELECT event_id FROM cur)) AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot())
                ORDER BY e.tx_id, e.id LIMIT $1),
             lat AS (
               SELECT b.project_id, greatest(extract(epoch FROM b.at - c.at), 0)::float8 AS s FROM batch b
                 CROSS JOIN LATERAL (
                   SELECT c.at FROM events c WHERE c.task_id = b.task_id AND c.id < b.id AND c.type = 'task.claimed'
                    ORDER BY c.id DESC LIMIT 1) c
                WHERE b.type = 'task.done' AND b.task_id IS NOT NULL),
             bounds AS (SELECT le, lag(le, 1, '-Infinity'::float8) OVER (ORDER BY le) AS lo FROM unnest($3::float8[]) le),
             rows AS (
               SELECT project_id, type AS name, count(*)::float8 AS value FROM batch WHERE type = ANY($2::text[]) GROUP BY project_id, type
               UNION ALL
               SELECT l.project_id, 'claim_to_done_le:' || b.le::text, count(*)::float8 FROM lat l JOIN bounds b ON l.s > b.lo AND l.s <= b.le GROUP BY l.project_id, b.le
               UNION ALL
               SELECT project_id, 'claim_to_done_le:+Inf', count(*)::float8 FROM lat WHERE s > $4::float8 GROUP BY project_id
               UNION ALL
               SELECT project_id, 'claim_to_done_sum', sum(s) FROM lat GROUP BY project_id
               UNION ALL
               SELECT project_id, 'claim_to_done_count', count(*)::float8 FROM lat GROUP BY project_id),
             up AS (
               INSERT INTO metrics_counts (project_id, name, value) SELECT project_id, name, value FROM rows
               ON CONFLICT (project_id, name) DO UPDATE SET value = metrics_counts.value + excluded.value
               RETURNING 1),
             last AS (SELECT tx_id, id FROM batch ORDER BY tx_id DESC, id DESC LIMIT 1),
             moved AS (UPDATE metrics_cursor m SET tx_id = last.tx_id, event_id = last.id FROM last WHERE m.name = 'events' RETURNING 1),
             -- no wait for the WAL flush at commit (the longest part of a small fold): a crash can lose only a whole
             -- fold, counts and cursor together, and the next scrape folds those events again
             relaxed AS (SELECT set_config('synchronous_commit', 'off', true) AS v)
           SELECT (SELECT count(*) FROM batch)::int AS folded, (SELECT count(*) FROM up)::int AS rows, (SELECT count(*) FROM moved)::int AS moved,
                  (SELECT v FROM relaxed) AS commit_mode`,
      values: [batch, COUNTED_TYPES, [...CLAIM_TO_DONE_BUCKETS_S], CLAIM_TO_DONE_BUCKETS_S[CLAIM_TO_DONE_BUCKETS_S.length - 1]],
    });
    return Number(r.rows[0].folded);
  } catch (e) {
    throw toLoomError(e);
  }
}

/**
 * One project's metrics, after folding the new events, read by one statement
 * (one snapshot, one round trip). Status counts and the ready count take one
 * pass over the project's task rows: the part that grows with the project.
 * The rest is index-bounded: open escalations (escalations_open), the folded
 * counters (metrics_counts' key), workflow runs (their epics by key) and,
 * when asked, the relay cursors (one events_relay probe each).
 */
export async function readMetrics(pool: pg.Pool, projectId: string, o: { relays: boolean }): Promise<MetricsRecord> {
  await foldEvents(pool);
  try {
    const r = await pool.query({
      name: 'loom_metrics_read',
      text: `SELECT
        s.tasks, s.ready,
        (SELECT count(*)::int FROM escalations WHERE project_id = $1 AND status = 'open') AS open_escalations,
        (SELECT coalesce(jsonb_object_agg(name, value), '{}') FROM metrics_counts WHERE project_id = $1) AS counts,
        (SELECT coalesce(jsonb_agg(w), '[]') FROM (
           SELECT ep.status AS epic_status, f.any_failed, f.any_escalated, count(*)::int AS runs
             FROM workflow_runs r JOIN tasks ep ON ep.id = r.epic_id
             CROSS JOIN LATERAL (
               SELECT coalesce(bool_or(t.status = 'failed'), false) AS any_failed,
                      coalesce(bool_or(t.status = 'blocked' AND t.blocked_reason IN ('escalation', 'dependency_failed')), false) AS any_escalated
                 FROM tasks t WHERE t.parent_id = r.epic_id AND ep.status NOT IN ('done', 'cancelled')) f
            WHERE r.project_id = $1
            GROUP BY ep.status, f.any_failed, f.any_escalated) w) AS workflow_runs,
        (SELECT coalesce(jsonb_agg(jsonb_build_object('name', c.name, 'oldest_at', (
           -- the first unpublished event in relay order (events_relay): one index probe, however far behind
           SELECT e.at FROM events e WHERE (e.tx_id, e.id) > (c.tx_id, c.event_id) ORDER BY e.tx_id, e.id LIMIT 1))), '[]')
           FROM relay_cursors c WHERE $2::boolean) AS relays,
        (SELECT count(*)::int FROM (
           SELECT 1 FROM events e
            WHERE (e.tx_id, e.id) > ((SELECT tx_id FROM metrics_cursor WHERE name = 'events'), (SELECT event_id FROM metrics_cursor WHERE name = 'events'))
            LIMIT 100000) b) AS behind
        -- statuses and the ready count in one pass over the project's rows (the longest part of a scrape)
        FROM (SELECT coalesce(jsonb_object_agg(g.status, g.n), '{}') AS tasks, coalesce(sum(g.ready), 0)::int AS ready FROM (
                SELECT status, count(*)::int AS n,
                       count(*) FILTER (WHERE status = 'pending' AND held_at IS NULL AND unmet_deps = 0 AND (run_after IS NULL OR run_after <= now())) AS ready
                  FROM tasks WHERE project_id = $1 GROUP BY status) g) s`,
      values: [projectId, o.relays],
    });
    const row = r.rows[0] as {
      tasks: Partial<Record<TaskStatus, number>>;
      ready: number;
      open_escalations: number;
      counts: Record<string, number>;
      workflow_runs: MetricsRecord['workflow_runs'];
      relays: Array<{ name: string; oldest_at: string | null }>;
      behind: number;
    };
    const counters = Object.fromEntries(Object.keys(METRIC_COUNTERS).map((k) => [k, 0])) as Record<MetricCounter, number>;
    for (const [name, value] of Object.entries(row.counts)) {
      const counter = NAME_OF_TYPE[name] as MetricCounter | undefined;
      if (counter !== undefined) counters[counter] = Number(value);
    }
    return {
      tasks: Object.fromEntries(TASK_STATUSES.map((s) => [s, Number(row.tasks[s] ?? 0)])) as Record<TaskStatus, number>,
      ready: Number(row.ready),
      open_escalations: Number(row.open_escalations),
      counters,
      claim_to_done: {
        buckets: CLAIM_TO_DONE_BUCKETS_S.map((le) => Number(row.counts[`claim_to_done_le:${le}`] ?? 0)),
        over: Number(row.counts['claim_to_done_le:+Inf'] ?? 0),
        sum: Number(row.counts['claim_to_done_sum'] ?? 0),
        count: Number(row.counts['claim_to_done_count'] ?? 0),
      },
      workflow_runs: row.workflow_runs,
      relays: row.relays.map((x) => ({ name: x.name, oldest_at: x.oldest_at === null ? null : new Date(x.oldest_at).toISOString() })),
      events_behind: Number(row.behind),
    };
  } catch (e) {
    throw toLoomError(e);
  }
}
