import type pg from 'pg';
import type { Escalation } from '../../domain/escalation.js';
import type { InvariantSnapshot, InvariantTask } from '../../domain/invariants.js';
import type { Message } from '../../domain/message.js';
import type { LoomEvent, NewEvent } from '../../domain/events.js';
import type { BlockedReason, Project, Task, TaskStatus } from '../../domain/task.js';
import type { ArchiveRows, DecompositionRecord, DependencyRef, SkillRunRecord, TaskStoreTx, WorkflowRunRecord } from '../../ports/task-store.js';
import type { BudgetState } from '../../domain/budget.js';
import type { UsageEntry } from '../../domain/usage.js';
import { writeArchive } from './archive.js';
import { lockOpenUnder, readBudgets, recordUsage, saveBudget, stoppedScopesOver } from './usage-queries.js';
import * as fsck from './invariant-queries.js';
import { recordsetJson, TASK_COLUMNS, toEscalation, toEvent, toProject, toMessage, toTask, toWorkflowRun, WORKFLOW_RUN_COLUMNS } from './rows.js';

/** The columns of a task row as insertTasks writes them, with their SQL types. */
const TASK_COLUMN_TYPES: Record<string, string> = {
  id: 'text', project_id: 'text', title: 'text', status: 'text', priority: 'text', parent_id: 'text', context: 'jsonb', output: 'jsonb',
  done_when: 'text', origin: 'jsonb', assignee: 'text', attempts: 'integer', max_attempts: 'integer', run_after: 'timestamptz',
  lease_token: 'text', lease_expires_at: 'timestamptz', blocked_reason: 'text', failure_reason: 'text', unmet_deps: 'integer',
  weight: 'integer', revision: 'integer', created_at: 'timestamptz', updated_at: 'timestamptz', expiry_count: 'integer',
  progress: 'text', progress_at: 'timestamptz', labels: 'text[]', held_at: 'timestamptz', hold_reason: 'text', held_by_budget: 'text',
};
const INSERT_TASK_COLUMNS = Object.keys(TASK_COLUMN_TYPES);
/** NOT NULL columns a batch of new tasks mostly has in common: sent once (see recordsetJson). */
const SHARED_TASK_COLUMNS = [
  'project_id', 'status', 'priority', 'context', 'origin', 'attempts', 'max_attempts', 'unmet_deps', 'weight', 'revision', 'created_at', 'updated_at', 'expiry_count',
] as const satisfies ReadonlyArray<keyof Task>;

/** The statements a use case runs inside one transaction, on one connection. */
export class PgTaskStoreTx implements TaskStoreTx {
  /** Rows this transaction's UPDATEs rewrote (each leaves a dead version for VACUUM). */
  rewritten = 0;

  constructor(private readonly client: pg.PoolClient) {}

  /** A statement on this transaction's connection, named (planned once per connection) like the store's hot ones. */
  async named(config: pg.QueryConfig): Promise<pg.QueryResult> {
    const r = await this.client.query(config);
    if (r.command === 'UPDATE') this.rewritten += r.rowCount ?? 0;
    return r;
  }

  private async q(text: string, params: unknown[] = []): Promise<pg.QueryResult> {
    const r = await this.client.query(text, params);
    if (r.command === 'UPDATE') this.rewritten += r.rowCount ?? 0;
    return r;
  }

  async insertProject(project: Project): Promise<void> {
    await this.q('INSERT INTO projects (id, name, created_at) VALUES ($1, $2, $3)', [project.id, project.name, project.created_at]);
  }

  async getProject(projectId: string): Promise<Project | null> {
    const r = await this.q('SELECT id, name, created_at, removed_at FROM projects WHERE id = $1', [projectId]);
    return r.rows[0] === undefined ? null : toProject(r.rows[0]);
  }

  async lockProject(projectId: string): Promise<Project | null> {
    const r = await this.q('SELECT id, name, created_at, removed_at FROM projects WHERE id = $1 FOR UPDATE', [projectId]);
    return r.rows[0] === undefined ? null : toProject(r.rows[0]);
  }

  async projectWriteState(projectId: string): Promise<{ removed_at: string | null; budget_stopped_at: string | null }> {
    // FOR KEY SHARE: the lock a foreign key to the row takes anyway; it waits out a removal or a
    // budget stop in flight (both take the row FOR UPDATE) and then reads the row as they left it.
    const r = await this.q('SELECT removed_at, budget_stopped_at FROM projects WHERE id = $1 FOR KEY SHARE', [projectId]);
    const iso = (at: unknown): string | null => (at === undefined || at === null ? null : new Date(at as string).toISOString());
    return { removed_at: iso(r.rows[0]?.removed_at), budget_stopped_at: iso(r.rows[0]?.budget_stopped_at) };
  }

  async setProjectBudgetStopped(projectId: string, at: Date | null): Promise<void> {
    await this.q('UPDATE projects SET budget_stopped_at = $2 WHERE id = $1', [projectId, at]);
  }

  async markProjectRemoved(projectId: string, now: Date): Promise<void> {
    await this.q('UPDATE projects SET removed_at = $2 WHERE id = $1 AND removed_at IS NULL', [projectId, now]);
  }

  async openTaskIds(projectId: string): Promise<string[]> {
    const r = await this.q(`SELECT id FROM tasks WHERE project_id = $1 AND status IN ('pending','blocked','claimed','epic') ORDER BY id`, [projectId]);
    return r.rows.map((row) => row.id as string);
  }

  async openEscalations(projectId: string): Promise<Escalation[]> {
    const r = await this.q(`SELECT * FROM escalations WHERE project_id = $1 AND status = 'open' ORDER BY created_at, id FOR UPDATE`, [projectId]);
    return r.rows.map(toEscalation);
  }

  async lockTask(projectId: string, taskId: string): Promise<Task | null> {
    const r = await this.q(`SELECT ${TASK_COLUMNS} FROM tasks t WHERE t.project_id = $1 AND t.id = $2 FOR UPDATE`, [projectId, taskId]);
    return r.rows[0] === undefined ? null : toTask(r.rows[0]);
  }

  async lockTasks(projectId: string, taskIds: readonly string[]): Promise<Task[]> {
    if (taskIds.length === 0) return [];
    const r = await this.q(
      `SELECT ${TASK_COLUMNS} FROM tasks t WHERE t.project_id = $1 AND t.id = ANY($2::text[]) ORDER BY t.id FOR UPDATE`,
      [projectId, [...taskIds]],
    );
    return r.rows.map(toTask);
  }

  async lockGraph(projectId: string): Promise<void> {
    await this.q(`SELECT pg_advisory_xact_lock(hashtext('loom.graph'), hashtext($1))`, [projectId]);
  }

  async getTasks(projectId: string, taskIds: readonly string[]): Promise<Task[]> {
    if (taskIds.length === 0) return [];
    const r = await this.q(`SELECT ${TASK_COLUMNS} FROM tasks t WHERE t.project_id = $1 AND t.id = ANY($2::text[])`, [projectId, [...taskIds]]);
    return r.rows.map(toTask);
  }

  async lockInOrder(projectId: string, taskIds: readonly string[]): Promise<Map<string, Task>> {
    if (taskIds.length === 0) return new Map();
    // Rows are locked as the sorted rows come up (the row locking sits above the sort): in the given order.
    const r = await this.q(
      `SELECT ${TASK_COLUMNS} FROM unnest($2::text[]) WITH ORDINALITY AS o(id, n) JOIN tasks t ON t.id = o.id
        WHERE t.project_id = $1 ORDER BY o.n FOR NO KEY UPDATE OF t`,
      [projectId, [...taskIds]],
    );
    return new Map(r.rows.map((row) => [row.id as string, toTask(row)]));
  }

  async reachableDependencies(projectId: string, from: readonly string[]): Promise<Map<string, string[]>> {
    // "Waits for" edges: a task waits for its dependencies, an epic for its children.
    const r = await this.q(
      `WITH RECURSIVE reach(id) AS (
         SELECT unnest($2::text[])
         UNION
         SELECT w.id FROM reach, LATERAL (
           SELECT d.depends_on AS id FROM task_deps d WHERE d.task_id = reach.id
           UNION ALL
           SELECT c.id FROM tasks c WHERE c.parent_id = reach.id
         ) w
       )
       SELECT reach.id AS task_id, w.id AS waits_for
         FROM reach JOIN tasks t ON t.id = reach.id AND t.project_id = $1,
         LATERAL (
           SELECT d.depends_on AS id FROM task_deps d WHERE d.task_id = reach.id
           UNION ALL
           SELECT c.id FROM tasks c WHERE c.parent_id = reach.id
         ) w`,
      [projectId, [...from]],
    );
    const edges = new Map<string, string[]>();
    for (const row of r.rows) {
      const list = edges.get(row.task_id) ?? [];
      list.push(row.waits_for);
      edges.set(row.task_id, list);
    }
    return edges;
  }

  async lockAncestors(projectId: string, from: readonly string[]): Promise<string[]> {
    if (from.length === 0) return [];
    const r = await this.q(
      `WITH RECURSIVE anc(id) AS (
         SELECT unnest($2::text[])
         UNION
         SELECT d.depends_on FROM task_deps d JOIN anc ON d.task_id = anc.id
       )
       SELECT t.id FROM tasks t WHERE t.project_id = $1 AND t.id IN (SELECT id FROM anc) ORDER BY t.id FOR NO KEY UPDATE`,
      [projectId, [...from]],
    );
    return r.rows.map((row) => row.id as string);
  }

  async insertTask(task: Task): Promise<boolean> {
    const r = await this.q(
      `INSERT INTO tasks (id, project_id, title, status, priority, parent_id, context, output, done_when, origin, assignee,
                          attempts, max_attempts, run_after, lease_token, lease_expires_at, blocked_reason, failure_reason,
                          unmet_deps, weight, revision, created_at, updated_at, expiry_count, progress, progress_at, labels, held_at, hold_reason, held_by_budget)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,$28,$29,$30)
       ON CONFLICT (id) DO NOTHING`,
      [
        task.id, task.project_id, task.title, task.status, task.priority, task.parent_id, task.context, task.output,
        task.done_when, task.origin, task.assignee, task.attempts, task.max_attempts, task.run_after, task.lease_token,
        task.lease_expires_at, task.blocked_reason, task.failure_reason, task.unmet_deps, task.weight, task.revision,
        task.created_at, task.updated_at, task.expiry_count, task.progress, task.progress_at, task.labels,
        task.held_at, task.hold_reason, task.held_by_budget,
      ],
    );
    return r.rowCount === 1;
  }

  async takenTaskIds(taskIds: readonly string[]): Promise<string[]> {
    if (taskIds.length === 0) return [];
    const r = await this.q('SELECT id FROM tasks WHERE id = ANY($1::text[])', [[...taskIds]]);
    return r.rows.map((row) => row.id as string);
  }

  async replaceDependencies(taskId: string, deps: readonly DependencyRef[]): Promise<void> {
    await this.q('DELETE FROM task_deps WHERE task_id = $1', [taskId]);
    if (deps.length === 0) return;
    await this.q(
      `INSERT INTO task_deps (task_id, depends_on, inherited) SELECT $1, unnest($2::text[]), unnest($3::boolean[])`,
      [taskId, deps.map((d) => d.id), deps.map((d) => d.inherited)],
    );
  }

  async dependencyRefs(taskId: string): Promise<DependencyRef[]> {
    const r = await this.q('SELECT depends_on, inherited FROM task_deps WHERE task_id = $1 ORDER BY depends_on', [taskId]);
    return r.rows.map((row) => ({ id: row.depends_on as string, inherited: row.inherited === true }));
  }

  async updateTask(task: Task): Promise<Task> {
    const r = await this.q(
      `UPDATE tasks t SET title = $3, status = $4, priority = $5, context = $6, output = $7, done_when = $8, assignee = $9,
              attempts = $10, max_attempts = $11, run_after = $12, lease_token = $13, lease_expires_at = $14,
              blocked_reason = $15, failure_reason = $16, unmet_deps = $17, revision = t.revision + 1, updated_at = $18,
              expiry_count = $19, progress = $20, progress_at = $21, labels = $22
        WHERE t.project_id = $1 AND t.id = $2
        RETURNING ${TASK_COLUMNS}`,
      [
        task.project_id, task.id, task.title, task.status, task.priority, task.context, task.output, task.done_when,
        task.assignee, task.attempts, task.max_attempts, task.run_after, task.lease_token, task.lease_expires_at,
        task.blocked_reason, task.failure_reason, task.unmet_deps, task.updated_at, task.expiry_count, task.progress, task.progress_at,
        task.labels,
      ],
    );
    return toTask(r.rows[0]);
  }

  async addWeight(projectId: string, taskIds: readonly string[], delta: number): Promise<void> {
    if (taskIds.length === 0) return;
    await this.q(`UPDATE tasks SET weight = weight + $3, revision = revision + 1 WHERE project_id = $1 AND id = ANY($2::text[])`, [
      projectId,
      [...taskIds],
      delta,
    ]);
  }

  async recomputeWeights(projectId: string, taskIds: readonly string[]): Promise<void> {
    if (taskIds.length === 0) return;
    await this.q(
      `WITH RECURSIVE anc(id) AS (
         SELECT unnest($2::text[])
         UNION
         SELECT d.depends_on FROM task_deps d JOIN anc ON d.task_id = anc.id
       ),
       des(root, id) AS (
         SELECT d.depends_on, d.task_id FROM task_deps d WHERE d.depends_on IN (SELECT id FROM anc)
         UNION
         SELECT des.root, d.task_id FROM task_deps d JOIN des ON d.depends_on = des.id
       ),
       w AS (
         SELECT des.root, count(*) FILTER (WHERE t.status IN ('pending','blocked','claimed')) AS n
           FROM des JOIN tasks t ON t.id = des.id GROUP BY des.root
       )
       UPDATE tasks t SET weight = COALESCE((SELECT w.n FROM w WHERE w.root = t.id), 0)
        WHERE t.project_id = $1 AND t.id IN (SELECT id FROM anc)`,
      [projectId, [...taskIds]],
    );
  }

  async releaseDependents(projectId: string, taskId: string, now: Date): Promise<{ unblocked: string[]; epics: string[]; gated: string[] }> {
    const r = await this.q(
      `UPDATE tasks t
          SET unmet_deps = t.unmet_deps - 1,
              status = CASE WHEN t.unmet_deps = 1 AND t.status = 'blocked' AND t.blocked_reason = 'dependencies' THEN 'pending' ELSE t.status END,
              blocked_reason = CASE WHEN t.unmet_deps = 1 AND t.status = 'blocked' AND t.blocked_reason = 'dependencies' THEN NULL ELSE t.blocked_reason END,
              revision = t.revision + 1, updated_at = $3
        WHERE t.id = ANY(ARRAY(SELECT d.task_id FROM task_deps d WHERE d.depends_on = $2)) AND t.project_id = $1
        RETURNING t.id, t.status, t.blocked_reason, t.unmet_deps, (t.context ? 'workflow_when' OR t.context ? 'workflow_for_each') AS gated`,
      [projectId, taskId, now],
    );
    // RETURNING shows the new row: pending here means "just unblocked", since
    // a pending task never has unmet dependencies.
    const ids = (status: string) => r.rows.filter((row) => row.status === status && Number(row.unmet_deps) === 0).map((row) => row.id as string).sort();
    const unblocked = ids('pending');
    const gated = new Set(r.rows.filter((row) => row.gated === true).map((row) => row.id as string));
    return { unblocked, epics: ids('epic'), gated: unblocked.filter((id) => gated.has(id)) };
  }

  async dependents(projectId: string, taskIds: readonly string[]): Promise<Task[]> {
    if (taskIds.length === 0) return [];
    const r = await this.q(
      `SELECT ${TASK_COLUMNS} FROM tasks t
        WHERE t.project_id = $1 AND t.id = ANY(ARRAY(SELECT task_id FROM task_deps WHERE depends_on = ANY($2::text[])))
        ORDER BY t.id FOR UPDATE`,
      [projectId, [...taskIds]],
    );
    return r.rows.map(toTask);
  }

  async openDescendants(projectId: string, taskIds: readonly string[]): Promise<string[]> {
    if (taskIds.length === 0) return [];
    const r = await this.q(
      `WITH RECURSIVE des(id) AS (
         SELECT d.task_id FROM task_deps d WHERE d.depends_on = ANY($2::text[])
         UNION
         SELECT d.task_id FROM task_deps d JOIN des ON d.depends_on = des.id
       )
       SELECT t.id FROM tasks t WHERE t.project_id = $1 AND t.id IN (SELECT id FROM des)
          AND t.status IN ('pending','blocked') ORDER BY t.id FOR UPDATE`,
      [projectId, [...taskIds]],
    );
    return r.rows.map((row) => row.id as string);
  }

  async children(projectId: string, parentId: string): Promise<Task[]> {
    const r = await this.q(`SELECT ${TASK_COLUMNS} FROM tasks t WHERE t.project_id = $1 AND t.parent_id = $2 ORDER BY t.id`, [projectId, parentId]);
    return r.rows.map(toTask);
  }

  async childStatusCounts(projectId: string, parentId: string): Promise<Partial<Record<TaskStatus, number>>> {
    const r = await this.q('SELECT status, count(*)::int AS n FROM tasks WHERE project_id = $1 AND parent_id = $2 GROUP BY status', [projectId, parentId]);
    return Object.fromEntries(r.rows.map((row) => [row.status as TaskStatus, row.n as number]));
  }

  async cancelTasks(projectId: string, taskIds: readonly string[], reason: string, now: Date): Promise<string[]> {
    if (taskIds.length === 0) return [];
    const r = await this.q(
      `UPDATE tasks SET status = 'cancelled', failure_reason = $3, lease_token = NULL, lease_expires_at = NULL,
              blocked_reason = NULL, revision = revision + 1, updated_at = $4
        WHERE project_id = $1 AND id = ANY($2::text[]) AND status IN ('pending','blocked','claimed','epic')
        RETURNING id`,
      [projectId, [...taskIds], reason, now],
    );
    return r.rows.map((row) => row.id as string).sort();
  }

  async holdTasks(projectId: string, taskIds: readonly string[], reason: string | null, now: Date): Promise<void> {
    if (taskIds.length === 0) return;
    await this.q(
      `UPDATE tasks SET held_at = $3, hold_reason = $4, held_by_budget = NULL, revision = revision + 1, updated_at = $3
        WHERE project_id = $1 AND id = ANY($2::text[]) AND (held_at IS NULL OR held_by_budget IS NOT NULL)`,
      [projectId, [...taskIds], now, reason],
    );
  }

  async resumeTasks(projectId: string, tasks: ReadonlyArray<{ id: string; status: TaskStatus; blocked_reason: BlockedReason | null }>, now: Date): Promise<void> {
    if (tasks.length === 0) return;
    await this.q(
      `UPDATE tasks t SET held_at = NULL, hold_reason = NULL, held_by_budget = NULL, status = x.status, blocked_reason = x.blocked_reason,
              revision = t.revision + 1, updated_at = $3
         FROM jsonb_to_recordset($2::jsonb) AS x(id text, status text, blocked_reason text)
        WHERE t.project_id = $1 AND t.id = ANY($4::text[]) AND t.id = x.id AND t.held_at IS NOT NULL`,
      // the id array drives pkey lookups (see commitDecisions): the recordset join alone planned a scan of every task
      [projectId, JSON.stringify(tasks), now, tasks.map((t) => t.id)],
    );
  }

  async insertEscalation(e: Escalation): Promise<void> {
    await this.q(
      `INSERT INTO escalations (id, project_id, task_id, message, source, raised_by, status, resolution, created_at, resolved_at)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`,
      [e.id, e.project_id, e.task_id, e.message, e.source, e.raised_by, e.status, e.resolution, e.created_at, e.resolved_at],
    );
  }

  async lockEscalation(projectId: string, escalationId: string): Promise<Escalation | null> {
    const r = await this.q('SELECT * FROM escalations WHERE project_id = $1 AND id = $2 FOR UPDATE', [projectId, escalationId]);
    return r.rows[0] === undefined ? null : toEscalation(r.rows[0]);
  }

  async updateEscalation(e: Escalation): Promise<void> {
    await this.q('UPDATE escalations SET status = $3, resolution = $4, resolved_at = $5 WHERE project_id = $1 AND id = $2', [
      e.project_id,
      e.id,
      e.status,
      e.resolution,
      e.resolved_at,
    ]);
  }

  async openEscalationsFor(projectId: string, taskId: string): Promise<Escalation[]> {
    const r = await this.q(`SELECT * FROM escalations WHERE project_id = $1 AND task_id = $2 AND status = 'open' ORDER BY created_at FOR UPDATE`, [
      projectId,
      taskId,
    ]);
    return r.rows.map(toEscalation);
  }

  async failedDependents(projectId: string, taskId: string): Promise<Task[]> {
    const r = await this.q(
      `SELECT ${TASK_COLUMNS} FROM tasks t
        WHERE t.project_id = $1 AND t.status = 'blocked' AND t.blocked_reason = 'dependency_failed'
          AND t.id = ANY(ARRAY(SELECT d.task_id FROM task_deps d WHERE d.depends_on = $2))
        ORDER BY t.id FOR UPDATE`,
      [projectId, taskId],
    );
    return r.rows.map(toTask);
  }

  async touchAgent(projectId: string, agentId: string, now: Date): Promise<{ inbox_cursor: number }> {
    const r = await this.q(
      `INSERT INTO agents (project_id, agent_id, first_seen, last_seen) VALUES ($1, $2, $3, $3)
       ON CONFLICT (project_id, agent_id) DO UPDATE SET last_seen = excluded.last_seen
       RETURNING inbox_cursor`,
      [projectId, agentId, now],
    );
    return { inbox_cursor: Number(r.rows[0].inbox_cursor) };
  }

  async setInboxCursor(projectId: string, agentId: string, cursor: number): Promise<void> {
    await this.q('UPDATE agents SET inbox_cursor = greatest(inbox_cursor, $3) WHERE project_id = $1 AND agent_id = $2', [projectId, agentId, cursor]);
  }

  async insertMessage(m: Omit<Message, 'id'>): Promise<Message> {
    const r = await this.q(
      `INSERT INTO messages (project_id, from_agent, to_agent, thread_id, body, created_at) VALUES ($1,$2,$3,$4,$5,$6) RETURNING *`,
      [m.project_id, m.from_agent, m.to_agent, m.thread_id, m.body, m.created_at],
    );
    return toMessage(r.rows[0]);
  }

  async messagesFor(projectId: string, agentId: string, after: number, limit: number): Promise<Message[]> {
    const r = await this.q(
      `SELECT * FROM messages
        WHERE project_id = $1 AND id > $3 AND to_agent IN ($2, '*') AND from_agent <> $2
        ORDER BY id LIMIT $4`,
      [projectId, agentId, after, limit],
    );
    return r.rows.map(toMessage);
  }

  async recordUsage(entry: UsageEntry): Promise<BudgetState[]> {
    return recordUsage(this.query, entry);
  }

  async lockBudgets(projectId: string, scopes: readonly string[]): Promise<BudgetState[]> {
    return scopes.length === 0 ? [] : readBudgets(this.query, projectId, scopes, true);
  }

  async budgets(projectId: string): Promise<BudgetState[]> {
    return readBudgets(this.query, projectId, null, false);
  }

  async saveBudget(
    projectId: string,
    b: { scope: string; budget_micros: number | null; warned_at: Date | null; exceeded_at: Date | null; escalation_id: string | null },
    now: Date,
  ): Promise<void> {
    await saveBudget(this.query, projectId, b, now);
  }

  async lockOpenUnder(projectId: string, scopes: readonly string[]): Promise<string[]> {
    return lockOpenUnder(this.query, projectId, scopes);
  }

  async holdForBudget(projectId: string, taskIds: readonly string[], scope: string, reason: string, now: Date): Promise<string[]> {
    if (taskIds.length === 0) return [];
    const r = await this.q(
      `UPDATE tasks SET held_at = $3, hold_reason = $4, held_by_budget = $5, revision = revision + 1, updated_at = $3
        WHERE project_id = $1 AND id = ANY($2::text[]) AND held_at IS NULL AND status NOT IN ('done', 'cancelled')
        RETURNING id`,
      [projectId, [...taskIds], now, reason, scope],
    );
    return r.rows.map((row) => row.id as string).sort();
  }

  async lockHeldByBudget(projectId: string, scope: string): Promise<Task[]> {
    const r = await this.q(`SELECT ${TASK_COLUMNS} FROM tasks t WHERE t.project_id = $1 AND t.held_by_budget = $2 AND t.held_at IS NOT NULL ORDER BY t.id FOR UPDATE OF t`, [projectId, scope]);
    return r.rows.map(toTask);
  }

  async stoppedScopesOver(projectId: string, taskIds: readonly string[]): Promise<Map<string, string>> {
    return stoppedScopesOver(this.query, projectId, taskIds);
  }

  async moveBudgetHold(projectId: string, taskIds: readonly string[], scope: string, reason: string, now: Date): Promise<void> {
    if (taskIds.length === 0) return;
    await this.q(
      `UPDATE tasks SET held_at = COALESCE(held_at, $3), hold_reason = $4, held_by_budget = $5, revision = revision + 1, updated_at = $3
        WHERE project_id = $1 AND id = ANY($2::text[])`,
      [projectId, [...taskIds], now, reason, scope],
    );
  }

  async appendEvents(projectId: string, events: readonly NewEvent[], at: Date): Promise<LoomEvent[]> {
    if (events.length === 0) return [];
    const { json, sharedValues } = recordsetJson(events, ['type']);
    const r = await this.q(
      `INSERT INTO events (project_id, type, task_id, agent_id, payload, at)
       SELECT $1, COALESCE(e.type, $4), e.task_id, e.agent_id, e.payload, $3
         FROM jsonb_to_recordset($2::jsonb) AS e(type text, task_id text, agent_id text, payload jsonb)
       RETURNING *`,
      [projectId, json, at, sharedValues.type],
    );
    return r.rows.map(toEvent).sort((a, b) => a.id - b.id);
  }

  private readonly query: fsck.Query = (text, params) => this.q(text, params);

  async lockProjectTasks(projectId: string): Promise<number> {
    return fsck.lockProjectTasks(this.query, projectId);
  }

  async recountUnmetDeps(projectId: string, now: Date): Promise<Array<{ id: string; from: number; to: number }>> {
    return fsck.recountUnmetDeps(this.query, projectId, now);
  }

  async invariantTasks(projectId: string): Promise<InvariantTask[]> {
    return fsck.readInvariantTasks(this.query, projectId);
  }

  async setWeights(projectId: string, weights: ReadonlyArray<{ id: string; weight: number }>): Promise<string[]> {
    return fsck.setWeights(this.query, projectId, weights);
  }

  async settleStatuses(
    projectId: string,
    moves: { unblocked: readonly string[]; blocked: readonly string[] },
    now: Date,
  ): Promise<{ unblocked: string[]; blocked: string[] }> {
    return fsck.settleStatuses(this.query, projectId, moves, now);
  }

  async insertSkillRun(run: SkillRunRecord): Promise<number> {
    const r = await this.q(
      `INSERT INTO skill_runs (project_id, skill, source, version, content_hash, task_id, agent_id, event_id, at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
      [run.project_id, run.skill, run.source, run.version, run.content_hash, run.task_id, run.agent_id, run.event_id, run.at],
    );
    return Number(r.rows[0].id);
  }

  async insertTasks(tasks: readonly Task[]): Promise<void> {
    if (tasks.length === 0) return;
    // One statement for the lot: jsonb_to_recordset reads every column from one parameter, each
    // row without its nulls and without the NOT NULL values it shares with the first row.
    const { json, sharedValues } = recordsetJson(tasks, SHARED_TASK_COLUMNS);
    const column = (name: string): string => {
      const n = SHARED_TASK_COLUMNS.indexOf(name as (typeof SHARED_TASK_COLUMNS)[number]);
      if (n < 0) return name === 'labels' ? `COALESCE(x.labels, '{}')` : `x.${name}`;
      return `COALESCE(x.${name}, $${n + 2}::${TASK_COLUMN_TYPES[name]})`;
    };
    await this.q(
      `INSERT INTO tasks (${INSERT_TASK_COLUMNS.join(', ')})
       SELECT ${INSERT_TASK_COLUMNS.map(column).join(', ')}
         FROM jsonb_to_recordset($1::jsonb) AS x(${INSERT_TASK_COLUMNS.map((c) => `${c} ${TASK_COLUMN_TYPES[c]}`).join(', ')})`,
      [json, ...SHARED_TASK_COLUMNS.map((c) => (sharedValues[c] !== null && (c === 'context' || c === 'origin') ? JSON.stringify(sharedValues[c]) : sharedValues[c]))],
    );
  }

  async insertDependencies(edges: ReadonlyArray<{ task_id: string; depends_on: string; inherited: boolean }>): Promise<void> {
    if (edges.length === 0) return;
    await this.q(
      `INSERT INTO task_deps (task_id, depends_on, inherited) SELECT unnest($1::text[]), unnest($2::text[]), unnest($3::boolean[])`,
      [edges.map((e) => e.task_id), edges.map((e) => e.depends_on), edges.map((e) => e.inherited)],
    );
  }

  async findDecomposition(projectId: string, parentId: string, planHash: string): Promise<DecompositionRecord | null> {
    const r = await this.q(
      'SELECT project_id, parent_id, plan_hash, epic_id, task_ids, edges, at FROM decompositions WHERE project_id = $1 AND parent_id = $2 AND plan_hash = $3',
      [projectId, parentId, planHash],
    );
    const row = r.rows[0];
    return row === undefined
      ? null
      : { project_id: row.project_id, parent_id: row.parent_id, plan_hash: row.plan_hash, epic_id: row.epic_id, task_ids: row.task_ids, edges: row.edges, at: new Date(row.at) };
  }

  async insertDecomposition(d: DecompositionRecord): Promise<void> {
    await this.q(
      'INSERT INTO decompositions (project_id, parent_id, plan_hash, epic_id, task_ids, edges, at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [d.project_id, d.parent_id, d.plan_hash, d.epic_id, JSON.stringify(d.task_ids), d.edges, d.at],
    );
  }

  async findWorkflowRun(projectId: string, runKey: string): Promise<WorkflowRunRecord | null> {
    const r = await this.q(`SELECT ${WORKFLOW_RUN_COLUMNS} FROM workflow_runs WHERE project_id = $1 AND run_key = $2`, [projectId, runKey]);
    return r.rows[0] === undefined ? null : toWorkflowRun(r.rows[0]);
  }

  async insertWorkflowRun(run: Omit<WorkflowRunRecord, 'id'>): Promise<number> {
    const r = await this.q(
      `INSERT INTO workflow_runs (project_id, workflow, source, version, content_hash, inputs, epic_id, run_key, steps, tasks, skipped, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
      [run.project_id, run.workflow, run.source, run.version, run.content_hash, JSON.stringify(run.inputs), run.epic_id, run.run_key, JSON.stringify(Object.entries(run.steps)), JSON.stringify(Object.entries(run.tasks)), JSON.stringify(run.skipped), run.created_at],
    );
    return Number(r.rows[0].id);
  }

  async addWorkflowRunTasks(projectId: string, runId: number, steps: Record<string, string[]>, tasks: Record<string, string>): Promise<void> {
    const r = await this.q(`SELECT ${WORKFLOW_RUN_COLUMNS} FROM workflow_runs WHERE project_id = $1 AND id = $2 FOR UPDATE`, [projectId, runId]);
    if (r.rows[0] === undefined) return;
    const run = toWorkflowRun(r.rows[0]);
    for (const [step, ids] of Object.entries(steps)) run.steps[step] = [...(run.steps[step] ?? []), ...ids];
    Object.assign(run.tasks, tasks);
    await this.q('UPDATE workflow_runs SET steps = $3, tasks = $4 WHERE project_id = $1 AND id = $2', [
      projectId,
      runId,
      JSON.stringify(Object.entries(run.steps)),
      JSON.stringify(Object.entries(run.tasks)),
    ]);
  }

  async importArchive(archive: ArchiveRows): Promise<void> {
    await writeArchive(this.query, archive);
  }

  async invariantSnapshot(projectId: string): Promise<InvariantSnapshot> {
    return fsck.readInvariantSnapshot(this.query, projectId);
  }
}
