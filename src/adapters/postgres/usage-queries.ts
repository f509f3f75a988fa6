import type pg from 'pg';
import type { BudgetState } from '../../domain/budget.js';
import { totalsOf, type UsageEntry, type UsageTotals } from '../../domain/usage.js';
import type { UsageGroup, UsageGroupBy } from '../../ports/task-store.js';

type Query = (text: string, params: unknown[]) => Promise<pg.QueryResult>;

/**
 * One statement: appends the report and adds it to the running totals of the project (scope ''),
 * the task and every epic above it. Upserted in scope order, so concurrent reporters under the
 * same epic wait for each other's row locks in one order (no deadlock), and it runs last in its
 * transaction, after every task lock. Returns the budgets of those scopes whose warning mark or
 * line the new totals reached while the budget (as this statement saw it) had not marked it yet:
 * nothing, and no other statement, when the project has no budget.
 */
export async function recordUsage(q: Query, u: UsageEntry): Promise<BudgetState[]> {
  const r = await q(
    `WITH RECURSIVE up(id, depth) AS (
       SELECT $2::text, 0
       UNION ALL
       SELECT t.parent_id, up.depth + 1 FROM up JOIN tasks t ON t.project_id = $1 AND t.id = up.id
        WHERE t.parent_id IS NOT NULL AND up.depth < 100),
     rep AS (
       INSERT INTO usage_reports (project_id, task_id, agent_id, kind, input_tokens, output_tokens, cache_read_tokens, cost_micros, model, at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)),
     tot AS (
       INSERT INTO usage_totals AS s (project_id, scope, input_tokens, output_tokens, cache_read_tokens, cost_micros, reports)
       SELECT $1, scope, $5, $6, $7, $8, 1 FROM (SELECT DISTINCT id AS scope FROM up UNION SELECT '') scopes ORDER BY scope
       ON CONFLICT (project_id, scope) DO UPDATE
         SET input_tokens = s.input_tokens + EXCLUDED.input_tokens, output_tokens = s.output_tokens + EXCLUDED.output_tokens,
             cache_read_tokens = s.cache_read_tokens + EXCLUDED.cache_read_tokens, cost_micros = s.cost_micros + EXCLUDED.cost_micros,
             reports = s.reports + 1
       RETURNING s.scope, s.cost_micros)
     SELECT b.scope, b.budget_micros, tot.cost_micros AS spent_micros, b.warned_at, b.exceeded_at, b.escalation_id
       FROM tot JOIN budgets b ON b.project_id = $1 AND b.scope = tot.scope
      WHERE (b.warned_at IS NULL AND tot.cost_micros * 5 >= b.budget_micros * 4) OR (b.exceeded_at IS NULL AND tot.cost_micros >= b.budget_micros)
      ORDER BY b.scope`,
    [u.project_id, u.task_id, u.agent_id, u.kind, u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cost_micros, u.model, u.at],
  );
  return r.rows.map(toBudget);
}

const iso = (v: unknown): string | null => (v === null || v === undefined ? null : new Date(v as string).toISOString());

const toBudget = (row: Record<string, unknown>): BudgetState => ({
  scope: row.scope as string,
  budget_micros: Number(row.budget_micros),
  spent_micros: Number(row.spent_micros ?? 0),
  warned_at: iso(row.warned_at),
  exceeded_at: iso(row.exceeded_at),
  escalation_id: (row.escalation_id as string | null) ?? null,
});

const BUDGET_SELECT = `SELECT b.scope, b.budget_micros, COALESCE(u.cost_micros, 0) AS spent_micros, b.warned_at, b.exceeded_at, b.escalation_id
  FROM budgets b LEFT JOIN usage_totals u ON u.project_id = b.project_id AND u.scope = b.scope`;

/** Budgets of these scopes (every scope: null) with what was spent under each; `lock`: the budget rows FOR UPDATE, in scope order. */
export async function readBudgets(q: Query, projectId: string, scopes: readonly string[] | null, lock: boolean): Promise<BudgetState[]> {
  const r = await q(
    `${BUDGET_SELECT} WHERE b.project_id = $1 AND ($2::text[] IS NULL OR b.scope = ANY($2::text[])) ORDER BY b.scope${lock ? ' FOR UPDATE OF b' : ''}`,
    [projectId, scopes === null ? null : [...scopes]],
  );
  return r.rows.map(toBudget);
}

/** Exceeded budgets that hold at least one pending task. */
export async function stoppedBudgetsHoldingWork(q: Query, projectId: string): Promise<BudgetState[]> {
  const r = await q(
    `${BUDGET_SELECT} WHERE b.project_id = $1 AND b.exceeded_at IS NOT NULL
        AND EXISTS (SELECT 1 FROM tasks t WHERE t.project_id = $1 AND t.held_at IS NOT NULL AND t.held_by_budget = b.scope AND t.status = 'pending')
      ORDER BY b.scope`,
    [projectId],
  );
  return r.rows.map(toBudget);
}

export async function saveBudget(
  q: Query,
  projectId: string,
  b: { scope: string; budget_micros: number | null; warned_at: Date | null; exceeded_at: Date | null; escalation_id: string | null },
  now: Date,
): Promise<void> {
  if (b.budget_micros === null) {
    await q('DELETE FROM budgets WHERE project_id = $1 AND scope = $2', [projectId, b.scope]);
    return;
  }
  await q(
    `INSERT INTO budgets (project_id, scope, budget_micros, warned_at, exceeded_at, escalation_id, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (project_id, scope) DO UPDATE SET budget_micros = $3, warned_at = $4, exceeded_at = $5, escalation_id = $6, updated_at = $7`,
    [projectId, b.scope, b.budget_micros, b.warned_at, b.exceeded_at, b.escalation_id, now],
  );
}

/**
 * Every open task under these scopes (an epic: it and its subtree; '': the whole project),
 * row-locked in one statement, in the order reporters lock them: work tasks by id first, then
 * epics from the deepest up (a report locks its task, then the epics above it, child before
 * parent). Two writers locking overlapping scopes this way never deadlock, nor does one of them
 * with a report in flight.
 */
export async function lockOpenUnder(q: Query, projectId: string, scopes: readonly string[]): Promise<string[]> {
  if (scopes.length === 0) return [];
  const whole = scopes.includes('');
  const r = await q(
    `WITH RECURSIVE down(id, depth) AS (
       SELECT t.id, 0 FROM tasks t WHERE t.project_id = $1 AND (CASE WHEN $3 THEN t.parent_id IS NULL ELSE t.id = ANY($2::text[]) END)
       UNION ALL
       SELECT t.id, down.depth + 1 FROM down JOIN tasks t ON t.project_id = $1 AND t.parent_id = down.id WHERE down.depth < 100),
     under AS (SELECT id, max(depth) AS depth FROM down GROUP BY id)
     SELECT t.id FROM tasks t JOIN under u ON u.id = t.id
      WHERE t.project_id = $1 AND t.status NOT IN ('done', 'cancelled')
      ORDER BY (t.status = 'epic'), u.depth DESC, t.id
        FOR UPDATE OF t`,
    [projectId, [...scopes], whole],
  );
  return r.rows.map((row) => row.id as string);
}

/** The nearest exceeded budget over each task: its own (an epic's), then its epics' upwards, then the project's. */
export async function stoppedScopesOver(q: Query, projectId: string, taskIds: readonly string[]): Promise<Map<string, string>> {
  if (taskIds.length === 0) return new Map();
  const r = await q(
    `WITH RECURSIVE up(id, scope, depth) AS (
       SELECT t.id, t.id, 0 FROM tasks t WHERE t.project_id = $1 AND t.id = ANY($2::text[])
       UNION ALL
       SELECT up.id, t.parent_id, up.depth + 1 FROM up JOIN tasks t ON t.project_id = $1 AND t.id = up.scope
        WHERE t.parent_id IS NOT NULL AND up.depth < 100)
     SELECT DISTINCT ON (x.id) x.id, x.scope FROM (
       SELECT up.id, up.scope, up.depth FROM up
       UNION ALL
       SELECT id, '', 1000 FROM unnest($2::text[]) AS id) x
       JOIN budgets b ON b.project_id = $1 AND b.scope = x.scope AND b.exceeded_at IS NOT NULL
      ORDER BY x.id, x.depth`,
    [projectId, [...taskIds]],
  );
  return new Map(r.rows.map((row) => [row.id as string, row.scope as string]));
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
