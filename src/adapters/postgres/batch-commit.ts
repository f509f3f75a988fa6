import type pg from 'pg';
import type { LoomEvent } from '../../domain/events.js';
import type { BatchCommitOutcome, CommitInput, CommitOutcome } from '../../ports/task-store.js';
import { recordsetJson, toEvent } from './rows.js';

type Query = (text: string, params: unknown[], name?: string) => Promise<pg.QueryResult>;

/**
 * commitDecision for many tasks of one project in one statement: each decided row is written
 * only if it is still at its expected revision; the dependents of those written with
 * `release_dependents` lose one unmet dependency per dependency finished here (a dependent of
 * two of them loses two, as two single commits would take), and those with none left become
 * pending with one task.unblocked event, `by` the last of its dependencies in input order (the
 * one whose single commit would have released it).
 */
export async function commitDecisions(q: Query, projectId: string, inputs: readonly CommitInput[], now: Date): Promise<BatchCommitOutcome> {
  const rows = inputs.map((input, n) => {
    const t = input.task;
    return {
      n, id: t.id, expected_revision: input.expected_revision, release: input.release_dependents, events: input.events,
      title: t.title, status: t.status, priority: t.priority, context: t.context, output: t.output, done_when: t.done_when,
      assignee: t.assignee, attempts: t.attempts, max_attempts: t.max_attempts, run_after: t.run_after, lease_token: t.lease_token,
      lease_expires_at: t.lease_expires_at, blocked_reason: t.blocked_reason, failure_reason: t.failure_reason, unmet_deps: t.unmet_deps,
      expiry_count: t.expiry_count, progress: t.progress, progress_at: t.progress_at,
    };
  });
  const r = await q(
    `WITH i AS (
       SELECT * FROM jsonb_to_recordset($2::jsonb) AS i(
         n int, id text, expected_revision int, release boolean, events jsonb,
         title text, status text, priority text, context jsonb, output jsonb, done_when text, assignee text, attempts int,
         max_attempts int, run_after timestamptz, lease_token text, lease_expires_at timestamptz, blocked_reason text,
         failure_reason text, unmet_deps int, expiry_count int, progress text, progress_at timestamptz)),
     upd AS (
       UPDATE tasks t SET title = i.title, status = i.status, priority = i.priority, context = i.context, output = i.output,
              done_when = i.done_when, assignee = i.assignee, attempts = i.attempts, max_attempts = i.max_attempts,
              run_after = i.run_after, lease_token = i.lease_token, lease_expires_at = i.lease_expires_at,
              blocked_reason = i.blocked_reason, failure_reason = i.failure_reason, unmet_deps = i.unmet_deps,
              revision = t.revision + 1, updated_at = $3, expiry_count = i.expiry_count, progress = i.progress, progress_at = i.progress_at
         FROM i
        -- the id array drives pkey lookups: joined on i alone, the planner (no statistics on the
        -- recordset, none on a table autovacuum has not analysed) chose a scan of every task
        WHERE t.project_id = $1 AND t.id = ANY($4::text[]) AND t.id = i.id AND t.revision = i.expected_revision
       RETURNING t.id, i.n, i.release, i.events),
     dep AS (
       SELECT x.task_id AS id, count(*)::int AS k, (array_agg(u.id ORDER BY u.n DESC))[1] AS by
         FROM upd u JOIN task_deps x ON x.depends_on = u.id
        WHERE u.release
        GROUP BY x.task_id),
     rel AS (
       UPDATE tasks d
          SET unmet_deps = d.unmet_deps - dep.k,
              status = CASE WHEN d.unmet_deps = dep.k AND d.status = 'blocked' AND d.blocked_reason = 'dependencies' THEN 'pending' ELSE d.status END,
              blocked_reason = CASE WHEN d.unmet_deps = dep.k AND d.status = 'blocked' AND d.blocked_reason = 'dependencies' THEN NULL ELSE d.blocked_reason END,
              revision = d.revision + 1, updated_at = $3
         FROM dep
        WHERE d.project_id = $1 AND d.id = dep.id
       RETURNING d.id, d.status, d.unmet_deps, dep.by),
     ev AS (
       INSERT INTO events (project_id, type, task_id, agent_id, payload, at)
       SELECT $1, e.type, e.task_id, e.agent_id, e.payload, $3 FROM (
         SELECT u.n, 0 AS phase, e.ord, e.type, e.task_id, e.agent_id, e.payload
           FROM upd u, ROWS FROM (jsonb_to_recordset(u.events) AS (type text, task_id text, agent_id text, payload jsonb)) WITH ORDINALITY AS e(type, task_id, agent_id, payload, ord)
         UNION ALL
         SELECT u.n, 1, 0, 'task.unblocked', rel.id, NULL, jsonb_build_object('by', rel.by)
           FROM rel JOIN upd u ON u.id = rel.by WHERE rel.status = 'pending'
         ORDER BY 1, 2, 3, 5) e
       RETURNING *)
     SELECT 'event' AS kind, ev.id, ev.project_id, ev.type, ev.task_id, ev.agent_id, ev.payload, ev.at, NULL AS by FROM ev
     UNION ALL
     SELECT 'written', NULL, NULL, NULL, u.id, NULL, NULL, NULL, NULL FROM upd u
     UNION ALL
     -- epics that now wait for nothing: the caller completes those whose children are done
     SELECT 'epic', NULL, NULL, NULL, rel.id, NULL, NULL, NULL, rel.by FROM rel WHERE rel.status = 'epic' AND rel.unmet_deps = 0
     ORDER BY kind, id`,
    [projectId, recordsetJson(rows).json, now, inputs.map((input) => input.task.id)],
    'loom_commit_batch',
  );
  const written = new Set<string>();
  const events: LoomEvent[] = [];
  const epicsBy = new Map<string, string[]>();
  for (const row of r.rows) {
    if (row.kind === 'written') written.add(row.task_id as string);
    else if (row.kind === 'epic') epicsBy.set(row.by as string, [...(epicsBy.get(row.by as string) ?? []), row.task_id as string]);
    else events.push(toEvent(row));
  }
  const outcomes = inputs.map((input): CommitOutcome | null => {
    const id = input.task.id;
    if (!written.has(id)) return null;
    const own = events.filter((e) => e.task_id === id || (e.type === 'task.unblocked' && e.payload.by === id));
    return {
      task: { ...input.task, revision: input.expected_revision + 1 },
      events: own,
      unblocked: own.filter((e) => e.type === 'task.unblocked').map((e) => e.task_id!).sort(),
      epics: (epicsBy.get(id) ?? []).sort(),
    };
  });
  return { outcomes, events };
}
