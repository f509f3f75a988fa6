import type { Escalation } from '../../domain/escalation.js';
import type { EventType, LoomEvent } from '../../domain/events.js';
import type { GraphNode } from '../../domain/graph.js';
import type { Message } from '../../domain/message.js';
import type { Project, Task } from '../../domain/task.js';
import type { WorkflowRunRecord } from '../../ports/task-store.js';

/** Every task column, with its dependency ids, as the SQL of this adapter selects it. */
export const TASK_COLUMNS = `t.id, t.project_id, t.title, t.status, t.priority, t.parent_id, t.context, t.output,
  t.done_when, t.origin, t.assignee, t.attempts, t.max_attempts, t.run_after, t.lease_token, t.lease_expires_at,
  t.blocked_reason, t.failure_reason, t.unmet_deps, t.weight, t.expiry_count, t.progress, t.progress_at, t.revision, t.created_at, t.updated_at, t.labels, t.held_at, t.hold_reason, t.held_by_budget,
  ARRAY(SELECT d.depends_on FROM task_deps d WHERE d.task_id = t.id ORDER BY d.depends_on) AS depends_on,
  COALESCE((SELECT true FROM task_deps x WHERE x.depends_on = t.id LIMIT 1), false) AS has_dependents`;

/**
 * A list read (ready, dead letters, an agent's claims) returns many tasks:
 * a context or output over this many bytes is replaced there by a marker,
 * `{truncated: true, bytes, see}`, so the answer stays small however large
 * the stored JSON is. Reading the one task (`status`, a claim) gives it whole.
 */
export const LIST_BODY_BYTES = 4096;

// The stored (possibly compressed) size first: a large body is never serialised just to be measured.
const listBody = (col: string): string => `CASE
    WHEN ${col} IS NULL THEN NULL
    WHEN pg_column_size(${col}) > ${LIST_BODY_BYTES} OR octet_length(${col}::text) > ${LIST_BODY_BYTES}
      THEN jsonb_build_object('truncated', true, 'bytes', octet_length(${col}::text), 'see', 'loom status ' || t.id)
    ELSE ${col} END`;

/** TASK_COLUMNS for list reads: large bodies left out (see LIST_BODY_BYTES). */
export const TASK_LIST_COLUMNS = TASK_COLUMNS.replace('t.context, t.output,', `${listBody('t.context')} AS context, ${listBody('t.output')} AS output,`);

export type Row = Record<string, unknown>;

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());
const isoOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : iso(v));

export function toTask(r: Row): Task {
  return {
    id: r.id as string,
    project_id: r.project_id as string,
    title: r.title as string,
    status: r.status as Task['status'],
    priority: r.priority as Task['priority'],
    parent_id: (r.parent_id as string | null) ?? null,
    depends_on: (r.depends_on as string[] | null) ?? [],
    context: (r.context as Task['context']) ?? {},
    output: (r.output as Task['output']) ?? null,
    done_when: (r.done_when as string | null) ?? null,
    labels: (r.labels as string[] | null) ?? [],
    origin: r.origin as Task['origin'],
    assignee: (r.assignee as string | null) ?? null,
    attempts: Number(r.attempts),
    max_attempts: Number(r.max_attempts),
    run_after: isoOrNull(r.run_after),
    lease_token: (r.lease_token as string | null) ?? null,
    lease_expires_at: isoOrNull(r.lease_expires_at),
    blocked_reason: (r.blocked_reason as Task['blocked_reason']) ?? null,
    failure_reason: (r.failure_reason as string | null) ?? null,
    unmet_deps: Number(r.unmet_deps),
    weight: Number(r.weight),
    has_dependents: r.has_dependents === true,
    expiry_count: Number(r.expiry_count ?? 0),
    progress: (r.progress as string | null) ?? null,
    progress_at: isoOrNull(r.progress_at),
    held_at: isoOrNull(r.held_at),
    hold_reason: (r.hold_reason as string | null) ?? null,
    held_by_budget: (r.held_by_budget as string | null | undefined) ?? null,
    revision: Number(r.revision),
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
  };
}

export function toEvent(r: Row): LoomEvent {
  return {
    id: Number(r.id),
    project_id: r.project_id as string,
    type: r.type as EventType,
    task_id: (r.task_id as string | null) ?? null,
    agent_id: (r.agent_id as string | null) ?? null,
    payload: (r.payload as LoomEvent['payload']) ?? {},
    at: iso(r.at),
  };
}

export function toEscalation(r: Row): Escalation {
  return {
    id: r.id as string,
    project_id: r.project_id as string,
    task_id: r.task_id as string,
    message: r.message as string,
    source: r.source as Escalation['source'],
    raised_by: (r.raised_by as string | null) ?? null,
    status: r.status as Escalation['status'],
    resolution: (r.resolution as string | null) ?? null,
    created_at: iso(r.created_at),
    resolved_at: isoOrNull(r.resolved_at),
  };
}

export function toGraphNode(r: Row): GraphNode {
  return {
    id: r.id as string,
    title: r.title as string,
    status: r.status as GraphNode['status'],
    priority: r.priority as GraphNode['priority'],
    parent_id: (r.parent_id as string | null) ?? null,
    depends_on: (r.depends_on as string[] | null) ?? [],
    weight: Number(r.weight),
    held: r.held_at !== null && r.held_at !== undefined,
    held_at: isoOrNull(r.held_at),
    hold_reason: (r.hold_reason as string | null | undefined) ?? null,
    assignee: (r.assignee as string | null | undefined) ?? null,
    blocked_reason: (r.blocked_reason as string | null | undefined) ?? null,
    created_at: iso(r.created_at),
  };
}

export function toMessage(r: Row): Message {
  return {
    id: Number(r.id),
    project_id: r.project_id as string,
    from_agent: r.from_agent as string,
    to_agent: r.to_agent as string,
    thread_id: (r.thread_id as string | null) ?? null,
    body: r.body as string,
    created_at: iso(r.created_at),
  };
}

export const WORKFLOW_RUN_COLUMNS = 'id, project_id, workflow, source, version, content_hash, inputs, epic_id, run_key, steps, tasks, skipped, created_at';

export function toWorkflowRun(row: Record<string, unknown>): WorkflowRunRecord {
  return {
    id: Number(row.id),
    project_id: row.project_id as string,
    workflow: row.workflow as string,
    source: row.source as string,
    version: row.version as string,
    content_hash: row.content_hash as string,
    inputs: row.inputs as Record<string, unknown>,
    epic_id: row.epic_id as string,
    run_key: (row.run_key as string | null) ?? null,
    // Stored as [key, value] pairs: a jsonb object would sort its keys, and the order is the run's.
    steps: Object.fromEntries(row.steps as Array<[string, string[]]>),
    tasks: Object.fromEntries(row.tasks as Array<[string, string]>),
    skipped: row.skipped as Array<{ step: string; reason: string }>,
    created_at: new Date(row.created_at as string).toISOString(),
  };
}

export function toProject(r: Row): Project {
  const project: Project = { id: r.id as string, name: r.name as string, created_at: new Date(r.created_at as string).toISOString() };
  // Only a removed project carries removed_at, so the shape of every other stays as it was.
  if (r.removed_at !== null && r.removed_at !== undefined) project.removed_at = new Date(r.removed_at as string).toISOString();
  return project;
}

/**
 * The JSON of rows that `jsonb_to_recordset` reads, without the null fields:
 * a key that is absent reads as NULL there, so nothing changes but the size.
 * A fresh task is half nulls; leaving them out took the parse of 20,000 new
 * tasks from 667 to 128 ms (with `shared` below).
 *
 * `shared` names NOT NULL columns whose value most rows have in common (a
 * project id, a timestamp): a row with that value leaves it out, and the SQL
 * reads it as `COALESCE(x.col, $n)` with `sharedValues[col]` as `$n`. Only
 * columns that can never be NULL may be shared, or a NULL would become the
 * common value.
 */
export function recordsetJson<T extends object>(rows: readonly T[], shared: ReadonlyArray<keyof T & string> = []): { json: string; sharedValues: Record<string, unknown> } {
  const first = rows[0] as Record<string, unknown> | undefined;
  const sharedValues: Record<string, unknown> = {};
  const sharedJson = new Map<string, string>();
  for (const key of shared) {
    sharedValues[key] = first?.[key] ?? null;
    if (first !== undefined) sharedJson.set(key, JSON.stringify(first[key]));
  }
  const json = JSON.stringify(
    rows.map((row) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(row)) {
        if (v === null || v === undefined) continue;
        const common = sharedJson.get(k);
        if (common !== undefined && (v === sharedValues[k] || JSON.stringify(v) === common)) continue;
        out[k] = v;
      }
      return out;
    }),
  );
  return { json, sharedValues };
}
