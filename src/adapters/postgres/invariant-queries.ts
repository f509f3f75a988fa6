import type pg from 'pg';
import type { EventType } from '../../domain/events.js';
import { STATUS_EVENT_TYPES, type InvariantSnapshot, type InvariantTask, type StatusEvent } from '../../domain/invariants.js';

/**
 * The SQL of `loom fsck`: a handful of set-based statements over one
 * project, whatever its size. Reading is shared by the store (a snapshot)
 * and a repair transaction; the repairs only ever run inside one.
 */

export type Query = (text: string, params: unknown[]) => Promise<pg.QueryResult>;

const isoOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : new Date(v as string | Date).toISOString());

/**
 * The project's tasks with their dependency edges (inherited ones marked)
 * and, with `events`, each task's latest status-bearing event (the rule of
 * `isStatusBearing`: an escalation sets a status only when an agent raised
 * it) and whether its latest task.done was by hand. One statement, and one
 * JSON document rather than a row per task: the embedded store pays per row
 * returned (100,000 rows took seconds through PGlite; one document, a
 * fraction of that).
 */
function snapshotSql(events: boolean): string {
  return `WITH deps AS (
       SELECT e.task_id, array_agg(e.depends_on ORDER BY e.depends_on) AS deps,
              array_agg(e.depends_on ORDER BY e.depends_on) FILTER (WHERE e.inherited) AS inherited
         FROM task_deps e JOIN tasks o ON o.id = e.task_id
        WHERE o.project_id = $1
        GROUP BY e.task_id)${
          events
            ? `,
     latest AS (
       SELECT DISTINCT ON (e.task_id) e.task_id, e.id, e.type, e.payload->>'status' AS status
         FROM events e
        WHERE e.project_id = $1 AND e.task_id IS NOT NULL AND e.type = ANY($2::text[])
          AND (e.type <> 'escalation.raised' OR e.payload->>'source' = 'agent')
        ORDER BY e.task_id, e.id DESC),
     done AS (
       SELECT DISTINCT ON (e.task_id) e.task_id, e.payload->'by_hand' = 'true'::jsonb AS by_hand
         FROM events e
        WHERE e.project_id = $1 AND e.type = 'task.done' AND e.task_id IS NOT NULL
        ORDER BY e.task_id, e.id DESC)`
            : ''
        }
     SELECT COALESCE(json_agg(json_build_array(
              t.id, t.status, t.parent_id, t.unmet_deps, t.weight, t.blocked_reason, t.assignee, t.lease_token, t.lease_expires_at,
              COALESCE(d.deps, '{}'), COALESCE(d.inherited, '{}')${events ? ', l.id, l.type, l.status, COALESCE(h.by_hand, false)' : ''}
            ) ORDER BY t.id), '[]')::text AS tasks
       FROM tasks t
       LEFT JOIN deps d ON d.task_id = t.id${events ? `
       LEFT JOIN latest l ON l.task_id = t.id
       LEFT JOIN done h ON h.task_id = t.id` : ''}
      WHERE t.project_id = $1`;
}

type Row = [string, string, string | null, number, number, string | null, string | null, string | null, string | null, string[], string[], number?, string?, string?, boolean?];

const toTask = (r: Row): InvariantTask => ({
  id: r[0],
  status: r[1] as InvariantTask['status'],
  parent_id: r[2],
  unmet_deps: Number(r[3]),
  weight: Number(r[4]),
  blocked_reason: r[5] as InvariantTask['blocked_reason'],
  assignee: r[6],
  lease_token: r[7],
  lease_expires_at: isoOrNull(r[8]),
  depends_on: r[9],
  inherited: r[10],
});

const rowsOf = (r: pg.QueryResult): Row[] => JSON.parse(r.rows[0].tasks as string) as Row[];

/** Every task of the project with its dependency edges (inherited ones marked), in id order. */
export async function readInvariantTasks(query: Query, projectId: string): Promise<InvariantTask[]> {
  return rowsOf(await query(snapshotSql(false), [projectId])).map(toTask);
}

/** Everything the checks read (the caller runs it in one snapshot). */
export async function readInvariantSnapshot(query: Query, projectId: string): Promise<InvariantSnapshot> {
  const rows = rowsOf(await query(snapshotSql(true), [projectId, [...STATUS_EVENT_TYPES]]));
  const latest: StatusEvent[] = [];
  const byHand: string[] = [];
  for (const r of rows) {
    if (r[11] !== null && r[11] !== undefined) latest.push({ task_id: r[0], event_id: Number(r[11]), type: r[12] as EventType, status: r[13] ?? null });
    if (r[14] === true) byHand.push(r[0]);
  }
  const count = await query('SELECT count(*)::int AS n FROM events WHERE project_id = $1', [projectId]);
  return { tasks: rows.map(toTask), latest_status_events: latest, done_by_hand: byHand, event_count: Number(count.rows[0].n) };
}

/** One statement: unmet_deps of every task of the project := its dependencies not done. Returns what changed. */
export async function recountUnmetDeps(query: Query, projectId: string, now: Date): Promise<Array<{ id: string; from: number; to: number }>> {
  const r = await query(
    `WITH n AS (
       SELECT d.task_id, count(*) FILTER (WHERE x.status <> 'done')::int AS n
         FROM task_deps d JOIN tasks o ON o.id = d.task_id JOIN tasks x ON x.id = d.depends_on
        WHERE o.project_id = $1
        GROUP BY d.task_id),
     counted AS (
       SELECT t.id, t.unmet_deps AS old, COALESCE(n.n, 0) AS n FROM tasks t LEFT JOIN n ON n.task_id = t.id WHERE t.project_id = $1)
     UPDATE tasks t SET unmet_deps = c.n, revision = t.revision + 1, updated_at = $2
       FROM counted c
      WHERE t.id = c.id AND c.old <> c.n
     RETURNING t.id, c.old, c.n`,
    [projectId, now],
  );
  return r.rows
    .map((row) => ({ id: row.id as string, from: Number(row.old), to: Number(row.n) }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** Writes these weights; returns the ids written. */
export async function setWeights(query: Query, projectId: string, weights: ReadonlyArray<{ id: string; weight: number }>): Promise<string[]> {
  if (weights.length === 0) return [];
  const r = await query(
    `UPDATE tasks t SET weight = v.w
       FROM unnest($2::text[], $3::int[]) AS v(id, w)
      WHERE t.project_id = $1 AND t.id = v.id AND t.weight <> v.w
     RETURNING t.id`,
    [projectId, weights.map((w) => w.id), weights.map((w) => w.weight)],
  );
  return r.rows.map((row) => row.id as string).sort();
}

/**
 * Moves statuses that follow from the counters, each guarded by the counter
 * it follows from: blocked on dependencies with none unmet -> pending;
 * pending with some unmet -> blocked on them. Returns the ids moved.
 */
export async function settleStatuses(
  query: Query,
  projectId: string,
  moves: { unblocked: readonly string[]; blocked: readonly string[] },
  now: Date,
): Promise<{ unblocked: string[]; blocked: string[] }> {
  const ids = (r: pg.QueryResult): string[] => r.rows.map((row) => row.id as string).sort();
  const unblocked =
    moves.unblocked.length === 0
      ? []
      : ids(
          await query(
            `UPDATE tasks SET status = 'pending', blocked_reason = NULL, revision = revision + 1, updated_at = $3
              WHERE project_id = $1 AND id = ANY($2::text[]) AND status = 'blocked' AND blocked_reason = 'dependencies' AND unmet_deps = 0
             RETURNING id`,
            [projectId, [...moves.unblocked], now],
          ),
        );
  const blocked =
    moves.blocked.length === 0
      ? []
      : ids(
          await query(
            `UPDATE tasks SET status = 'blocked', blocked_reason = 'dependencies', revision = revision + 1, updated_at = $3
              WHERE project_id = $1 AND id = ANY($2::text[]) AND status = 'pending' AND unmet_deps > 0
             RETURNING id`,
            [projectId, [...moves.blocked], now],
          ),
        );
  return { unblocked, blocked };
}

/** Row-locks every task of the project in id order: a repair must not race completions that move counters. */
export async function lockProjectTasks(query: Query, projectId: string): Promise<number> {
  const r = await query(
    'SELECT count(*)::int AS n FROM (SELECT id FROM tasks WHERE project_id = $1 ORDER BY id FOR NO KEY UPDATE) locked',
    [projectId],
  );
  return Number(r.rows[0].n);
}
