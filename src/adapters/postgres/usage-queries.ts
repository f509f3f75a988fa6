import type pg from 'pg';
import { totalsOf, type UsageEntry, type UsageTotals } from '../../domain/usage.js';
import type { UsageGroup, UsageGroupBy } from '../../ports/task-store.js';

type Query = (text: string, params: unknown[]) => Promise<pg.QueryResult>;

/**
 * One statement: appends the report and adds it to the running totals of the project (scope ''),
 * the task and every epic above it. Upserted in scope order, so concurrent reporters under the
 * same epic wait for each other's row locks in one order (no deadlock), and it runs last in its
 * transaction, after every task lock.
 */
export async function recordUsage(q: Query, u: UsageEntry): Promise<void> {
  await q(
    `WITH RECURSIVE up(id, depth) AS (
       SELECT $2::text, 0
       UNION ALL
       SELECT t.parent_id, up.depth + 1 FROM up JOIN tasks t ON t.project_id = $1 AND t.id = up.id
        WHERE t.parent_id IS NOT NULL AND up.depth < 100),
     rep AS (
       INSERT INTO usage_reports (project_id, task_id, agent_id, kind, input_tokens, output_tokens, cache_read_tokens, cost_micros, model, at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10))
     INSERT INTO usage_totals AS s (project_id, scope, input_tokens, output_tokens, cache_read_tokens, cost_micros, reports)
     SELECT $1, scope, $5, $6, $7, $8, 1 FROM (SELECT DISTINCT id AS scope FROM up UNION SELECT '') scopes ORDER BY scope
     ON CONFLICT (project_id, scope) DO UPDATE
       SET input_tokens = s.input_tokens + EXCLUDED.input_tokens, output_tokens = s.output_tokens + EXCLUDED.output_tokens,
           cache_read_tokens = s.cache_read_tokens + EXCLUDED.cache_read_tokens, cost_micros = s.cost_micros + EXCLUDED.cost_micros,
           reports = s.reports + 1`,
    [u.project_id, u.task_id, u.agent_id, u.kind, u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cost_micros, u.model, u.at],
  );
}

const SUMS = `COALESCE(sum(r.input_tokens), 0) AS input_tokens, COALESCE(sum(r.output_tokens), 0) AS output_tokens,
  COALESCE(sum(r.cache_read_tokens), 0) AS cache_read_tokens, COALESCE(sum(r.cost_micros), 0) AS cost_micros, count(r.id) AS reports`;

const toTotals = (row: Record<string, unknown>): UsageTotals =>
  totalsOf({
    input_tokens: Number(row.input_tokens),
    output_tokens: Number(row.output_tokens),
    cache_read_tokens: Number(row.cache_read_tokens),
    cost_micros: Number(row.cost_micros),
    reports: Number(row.reports),
  });

/** Running totals of these scopes ('' is the project); scopes without reports are absent. */
export async function usageTotals(q: Query, projectId: string, scopes: readonly string[]): Promise<Map<string, UsageTotals>> {
  const r = await q('SELECT * FROM usage_totals WHERE project_id = $1 AND scope = ANY($2::text[])', [projectId, [...scopes]]);
  return new Map(r.rows.map((row) => [row.scope as string, toTotals(row)]));
}

/** Reports since `since`, grouped (an epic: every report below it, nested epics included), most spent first. */
export async function usageGroups(q: Query, projectId: string, by: UsageGroupBy, since: Date | null, limit: number): Promise<{ groups: UsageGroup[]; total: UsageTotals }> {
  const reports = `SELECT * FROM usage_reports WHERE project_id = $1 AND ($2::timestamptz IS NULL OR at >= $2)`;
  const order = `ORDER BY cost_micros DESC, sum(r.input_tokens + r.output_tokens) DESC, key LIMIT $3`;
  const grouped: Record<UsageGroupBy, string> = {
    task: `WITH r AS (${reports})
      SELECT r.task_id AS key, t.title AS label, NULL::bigint AS run_id, ${SUMS}
        FROM r LEFT JOIN tasks t ON t.project_id = $1 AND t.id = r.task_id GROUP BY r.task_id, t.title ${order}`,
    agent: `WITH r AS (${reports}) SELECT r.agent_id AS key, NULL AS label, NULL::bigint AS run_id, ${SUMS} FROM r GROUP BY r.agent_id ${order}`,
    day: `WITH r AS (${reports})
      SELECT to_char(r.at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS key, NULL AS label, NULL::bigint AS run_id, ${SUMS}
        FROM r GROUP BY 1 ORDER BY key DESC LIMIT $3`,
    epic: `WITH RECURSIVE r AS (${reports}),
      up(report_id, epic_id, depth) AS (
        SELECT r.id, t.parent_id, 1 FROM r JOIN tasks t ON t.project_id = $1 AND t.id = r.task_id WHERE t.parent_id IS NOT NULL
        UNION ALL
        SELECT up.report_id, t.parent_id, up.depth + 1 FROM up JOIN tasks t ON t.project_id = $1 AND t.id = up.epic_id
         WHERE t.parent_id IS NOT NULL AND up.depth < 100)
      SELECT up.epic_id AS key, e.title AS label, min(w.id) AS run_id, ${SUMS}
        FROM up JOIN r ON r.id = up.report_id
        LEFT JOIN tasks e ON e.project_id = $1 AND e.id = up.epic_id
        LEFT JOIN workflow_runs w ON w.project_id = $1 AND w.epic_id = up.epic_id
       GROUP BY up.epic_id, e.title ${order}`,
  };
  const params = [projectId, since, limit];
  const [rows, total] = await Promise.all([q(grouped[by], params), q(`WITH r AS (${reports}) SELECT ${SUMS} FROM r`, params.slice(0, 2))]);
  return {
    groups: rows.rows.map((row) => ({
      key: row.key as string,
      ...(row.label === null ? {} : { label: row.label as string }),
      ...(row.run_id === null ? {} : { run_id: Number(row.run_id) }),
      ...toTotals(row),
    })),
    total: toTotals(total.rows[0]!),
  };
}
