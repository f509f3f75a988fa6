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

/** Every task of the project with its dependency edges (inherited ones marked), in id order. */
export async function readInvariantTasks(query: Query, projectId: string): Promise<InvariantTask[]> {
  const r = await query(
    `SELECT t.id, t.status, t.parent_id, t.unmet_deps, t.weight, t.blocked_reason, t.assignee, t.lease_token, t.lease_expires_at,
            COALESCE(d.deps, '{}') AS depends_on, COALESCE(d.inherited, '{}') AS inherited
       FROM tasks t
       LEFT JOIN (SELECT e.task_id, array_agg(e.depends_on ORDER BY e.depends_on) AS deps,
                         array_agg(e.depends_on ORDER BY e.depends_on) FILTER (WHERE e.inherited) AS inherited
                    FROM task_deps e JOIN tasks o ON o.id = e.task_id
                   WHERE o.project_id = $1
                   GROUP BY e.task_id) d ON d.task_id = t.id
      WHERE t.project_id = $1
      ORDER BY t.id`,
    [projectId],
  );
  return r.rows.map((row) => ({
    id: row.id as string,
    status: row.status as InvariantTask['status'],
    parent_id: (row.parent_id as string | null) ?? null,
    depends_on: row.depends_on as string[],
    inherited: row.inherited as string[],
    unmet_deps: Number(row.unmet_deps),
    weight: Number(row.weight),
    blocked_reason: (row.blocked_reason as InvariantTask['blocked_reason']) ?? null,
    assignee: (row.assignee as string | null) ?? null,
    lease_token: (row.lease_token as string | null) ?? null,
    lease_expires_at: isoOrNull(row.lease_expires_at),
  }));
}

/**
 * Each task's latest status-bearing event (the rule of `isStatusBearing`:
 * an escalation sets a status only when an agent raised it).
 */
async function readLatestStatusEvents(query: Query, projectId: string): Promise<StatusEvent[]> {
  const r = await query(
    `SELECT DISTINCT ON (e.task_id) e.task_id, e.id, e.type, e.payload->>'status' AS status
       FROM events e
      WHERE e.project_id = $1 AND e.task_id IS NOT NULL AND e.type = ANY($2::text[])
        AND (e.type <> 'escalation.raised' OR e.payload->>'source' = 'agent')
      ORDER BY e.task_id, e.id DESC`,
    [projectId, [...STATUS_EVENT_TYPES]],
  );
  return r.rows.map((row) => ({
    task_id: row.task_id as string,
    event_id: Number(row.id),
    type: row.type as EventType,
    status: (row.status as string | null) ?? null,
  }));
}

/** Tasks whose latest task.done was written by a person (resolving an escalation with "done"). */
async function readDoneByHand(query: Query, projectId: string): Promise<string[]> {
  const r = await query(
    `SELECT task_id FROM (
       SELECT DISTINCT ON (e.task_id) e.task_id, e.payload->'by_hand' = 'true'::jsonb AS by_hand
         FROM events e
        WHERE e.project_id = $1 AND e.type = 'task.done' AND e.task_id IS NOT NULL
        ORDER BY e.task_id, e.id DESC) latest
      WHERE by_hand`,
    [projectId],
  );
  return r.rows.map((row) => row.task_id as string);
}

/** Everything the checks read, from one client (the caller gives it a consistent snapshot). */
export async function readInvariantSnapshot(query: Query, projectId: string): Promise<InvariantSnapshot> {
  const tasks = await readInvariantTasks(query, projectId);
  const latest = await readLatestStatusEvents(query, projectId);
  const byHand = await readDoneByHand(query, projectId);
  const count = await query('SELECT count(*)::int AS n FROM events WHERE project_id = $1', [projectId]);
  return { tasks, latest_status_events: latest, done_by_hand: byHand, event_count: Number(count.rows[0].n) };
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
