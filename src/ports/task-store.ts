import type { ServiceIdentifier } from 'inversify';
import type { Escalation } from '../domain/escalation.js';
import type { LoomEvent, NewEvent } from '../domain/events.js';
import type { GraphNode } from '../domain/graph.js';
import type { InvariantSnapshot, InvariantTask } from '../domain/invariants.js';
import type { Message } from '../domain/message.js';
import type { MetricCounter } from '../domain/metrics.js';
import type { BudgetState } from '../domain/budget.js';
import type { UsageEntry, UsageGroupBy, UsageTotals } from '../domain/usage.js';
import type { BlockedReason, JsonObject, Lease, Priority, Project, Task, TaskStatus } from '../domain/task.js';

export interface ClaimSpec {
  agent_id: string;
  lease: Lease;
  now: Date;
  priority?: Priority;
}

/** A batch claim: one lease per task to take, each to its agent; every lease runs out at `expires_at`. */
export interface ClaimBatchSpec {
  leases: ReadonlyArray<{ agent_id: string; token: string }>;
  expires_at: string;
  now: Date;
}

export interface ClaimOutcome {
  task: Task;
  event: LoomEvent;
}

export interface CommitInput {
  task: Task;
  expected_revision: number;
  events: NewEvent[];
  release_dependents: boolean;
  now: Date;
  /** Usage reported with the decision: recorded in the same transaction, only when the decision is written. */
  usage?: UsageEntry;
}

export interface CommitOutcome {
  task: Task;
  events: LoomEvent[];
  unblocked: string[];
  /** Epics among the released dependents that now wait for nothing: the caller sees whether they complete. */
  epics: string[];
}

/** A batch commit: per input (same order) its outcome, or null when its revision moved on; and every event written, in id order. */
export interface BatchCommitOutcome {
  outcomes: Array<CommitOutcome | null>;
  events: LoomEvent[];
}

/** One render of a skill for a task (table skill_runs). */
export interface SkillRunRecord {
  project_id: string;
  skill: string;
  source: string;
  version: string;
  content_hash: string;
  task_id: string;
  agent_id: string | null;
  event_id: number;
  at: Date;
}

/** Uses of one skill version and how their tasks ended (the first ending after each run). */
export interface SkillStat {
  skill: string;
  version: string;
  uses: number;
  done: number;
  dead_lettered: number;
  escalated: number;
  cancelled: number;
  open: number;
}

/** What `listTasks` keeps: each filter given narrows the list. */
export interface TaskListFilter {
  statuses?: readonly TaskStatus[];
  /** A plain substring of the title, any case (no wildcards). */
  search?: string;
  parent_id?: string;
  /** Tasks having every one of these labels. */
  labels?: readonly string[];
  /** Only held tasks (true) or only those not held (false). */
  held?: boolean;
  ids?: readonly string[];
  limit: number;
}

/**
 * What a metrics scrape reads of one project. The counters and the histogram
 * come from the event log (folded in at scrape time), the rest from the
 * current rows.
 */
export interface MetricsRecord {
  tasks: Record<TaskStatus, number>;
  ready: number;
  open_escalations: number;
  counters: Record<MetricCounter, number>;
  /** Claim (the task's last one) to done: count per bucket of CLAIM_TO_DONE_BUCKETS_S (not cumulative), then above the last. */
  claim_to_done: { buckets: number[]; over: number; sum: number; count: number };
  /** Workflow runs grouped by what decides their status. */
  workflow_runs: Array<{ epic_status: TaskStatus; any_failed: boolean; any_escalated: boolean; runs: number }>;
  /** Outbox relay cursors, when asked for: the commit time of the first event not yet published (null when none). */
  relays: Array<{ name: string; oldest_at: string | null }>;
  /** Events not yet folded into the counters (a scrape folds a bounded batch; the next one goes on). */
  events_behind: number;
}

export type { UsageGroupBy } from '../domain/usage.js';

/** Usage reports added up under one key (a task id, an epic id, an agent id, a UTC day). */
export interface UsageGroup extends UsageTotals {
  key: string;
  /** The task's or epic's title. */
  label?: string;
  /** The workflow run whose epic this is. */
  run_id?: number;
}

export interface DependencyRef {
  id: string;
  inherited: boolean;
}

/**
 * Persistence of the task graph. One SQL implementation serves Postgres and
 * the embedded store. Reads outside `transaction` see committed state;
 * everything that changes state runs inside one, events included.
 */
export interface TaskStore {
  transaction<T>(fn: (tx: TaskStoreTx) => Promise<T>): Promise<T>;

  getProject(projectId: string): Promise<Project | null>;
  getTask(projectId: string, taskId: string): Promise<Task | null>;
  /** Ready tasks in ready order (index-backed). */
  ready(projectId: string, now: Date, limit: number, priority?: Priority, labels?: readonly string[]): Promise<Task[]>;
  readyCount(projectId: string, now: Date): Promise<number>;
  /** Atomically claims the best ready task (SKIP LOCKED), writing its event. */
  claimNext(projectId: string, spec: ClaimSpec): Promise<ClaimOutcome | null>;
  /**
   * One statement: claims up to `leases.length` of the best ready tasks (SKIP LOCKED), in ready
   * order, the i-th taking the i-th lease, and writes their events. Fewer when fewer are ready.
   */
  claimBatch(projectId: string, spec: ClaimBatchSpec): Promise<ClaimOutcome[]>;
  /** Atomically claims one task if it is ready now; null when it is not. */
  claimTask(projectId: string, taskId: string, spec: ClaimSpec): Promise<ClaimOutcome | null>;
  /**
   * Optimistic write of one decided task state, in one statement: applies
   * only if the task is still at `expected_revision`, writes the events, and
   * optionally releases the task's dependents (with their task.unblocked
   * events). Null when another writer got there first: decide again.
   */
  commitDecision(input: CommitInput): Promise<CommitOutcome | null>;
  /**
   * commitDecision for many tasks of one project in one statement: each input is written only
   * if its task is still at its revision (null outcome otherwise: decide again), and the
   * dependents are released set-based, ending as the same commits one by one would leave them.
   */
  commitDecisions(projectId: string, inputs: readonly CommitInput[], now: Date): Promise<BatchCommitOutcome>;
  /** Tasks of the project by id (those that exist), in no particular order. */
  getTasks(projectId: string, taskIds: readonly string[]): Promise<Task[]>;
  /** Claimed tasks whose lease ran out, oldest expiry first (all projects when projectId is null). */
  expiredLeases(projectId: string | null, now: Date, limit: number): Promise<Task[]>;
  /** Claimed tasks, lease alive, whose last progress is older than `progressBefore`. */
  stuckCandidates(projectId: string | null, now: Date, progressBefore: Date, limit: number): Promise<Task[]>;
  /** Open epics whose children are all finished (at least one done) and whose own dependencies are done (a backstop: completions normally close them). */
  completableEpics(projectId: string | null, limit: number): Promise<Task[]>;
  /** Pending workflow steps whose condition or fan-out was never decided (a backstop: releases decide them). */
  undecidedWorkflowSteps(projectId: string | null, limit: number): Promise<Task[]>;
  /** Tasks still blocked on dependencies although one of them failed or was cancelled (a backstop). */
  orphanedDependents(projectId: string | null, limit: number): Promise<Task[]>;
  projectIds(): Promise<string[]>;
  /** Every project of the database with its task counts by status, oldest first. */
  projects(): Promise<Array<Project & { counts: Partial<Record<TaskStatus, number>> }>>;
  /** Reads agents' last-seen times from the event log since the last sync (off the hot path). */
  syncAgents(projectId: string): Promise<void>;
  agents(projectId: string): Promise<Array<{ agent_id: string; first_seen: string; last_seen: string; claims: string[] }>>;
  deadLetters(projectId: string, limit: number): Promise<Task[]>;
  /** Tasks claimed by one agent now. */
  agentTasks(projectId: string, agentId: string): Promise<Task[]>;
  /** Tasks of the project matching every given filter, oldest first (`loom list`). */
  listTasks(projectId: string, filter: TaskListFilter): Promise<Task[]>;
  countByStatus(projectId: string): Promise<Record<TaskStatus, number>>;
  /** Held tasks by status (only statuses that have some). */
  heldCounts(projectId: string): Promise<Partial<Record<TaskStatus, number>>>;
  blockedTasks(projectId: string, limit: number): Promise<Task[]>;
  escalations(projectId: string, filter: { task_id?: string; status?: 'open' | 'resolved'; limit?: number }): Promise<Escalation[]>;
  graphNodes(projectId: string): Promise<GraphNode[]>;
  dependentIds(projectId: string, taskId: string): Promise<string[]>;
  childIds(projectId: string, parentId: string): Promise<string[]>;
  events(projectId: string, filter: { since?: number; limit: number; task_id?: string }): Promise<LoomEvent[]>;
  /** Everything `loom fsck` checks of one project, read from one consistent snapshot. */
  invariantSnapshot(projectId: string): Promise<InvariantSnapshot>;
  /** Skill runs per skill and version, their outcomes derived from the events after each run. */
  skillStats(projectId: string): Promise<SkillStat[]>;
  /** Workflow runs of the project, newest first. */
  workflowRuns(projectId: string, limit: number): Promise<WorkflowRunRecord[]>;
  workflowRun(projectId: string, runId: number): Promise<WorkflowRunRecord | null>;
  /** The whole project as stored, read from one snapshot, for `loom export` (see ArchiveRows). */
  exportArchive(projectId: string, options: { events: boolean }): Promise<ArchiveRows>;
  /**
   * Metrics of a project, read at scrape time with bounded queries: folds the
   * events committed since the last scrape (at most a batch) into the stored
   * counters, then reads them with the current counts. Never called on the claim path.
   */
  metrics(projectId: string, options: { relays: boolean }): Promise<MetricsRecord>;
  /** Running usage totals of these scopes ('' is the project, else a task id: an epic's cover everything below it); absent when none. */
  usageTotals(projectId: string, scopes: readonly string[]): Promise<Map<string, UsageTotals>>;
  /** Usage reports since `since` (null: all), grouped, most spent first, at most `limit` groups; with their total. */
  usageGroups(projectId: string, by: UsageGroupBy, since: Date | null, limit: number): Promise<{ groups: UsageGroup[]; total: UsageTotals }>;
  /** Every budget of the project with what was spent under it, in scope order. */
  budgets(projectId: string): Promise<BudgetState[]>;
  /** The exceeded budgets holding a pending task of the project (why a claim found nothing). */
  stoppedBudgetsHoldingWork(projectId: string): Promise<BudgetState[]>;
  close(): Promise<void>;
}
export const TaskStore: ServiceIdentifier<TaskStore> = Symbol.for('loom.TaskStore');

export interface TaskStoreTx {
  insertProject(project: Project): Promise<void>;
  getProject(projectId: string): Promise<Project | null>;
  /** Reads and row-locks the project row (FOR UPDATE): a removal takes it, so writers checking it wait. */
  lockProject(projectId: string): Promise<Project | null>;
  /**
   * When the project was removed (null: it was not), and since when its own budget is exceeded
   * (null: it is not), read under a key-share lock on its row, so a write checking it either
   * commits before a removal or a budget stop, or sees it.
   */
  projectWriteState(projectId: string): Promise<{ removed_at: string | null; budget_stopped_at: string | null }>;
  /** Sets (a budget stop) or clears the project's budget_stopped_at; the caller holds the row FOR UPDATE. */
  setProjectBudgetStopped(projectId: string, at: Date | null): Promise<void>;
  markProjectRemoved(projectId: string, now: Date): Promise<void>;
  /** Ids of the project's open tasks (pending, blocked, claimed, epic), in id order. */
  openTaskIds(projectId: string): Promise<string[]>;
  /** The project's open escalations, row-locked. */
  openEscalations(projectId: string): Promise<Escalation[]>;
  /** Reads and row-locks one task (FOR UPDATE). */
  lockTask(projectId: string, taskId: string): Promise<Task | null>;
  /** Reads tasks of the project, row-locked in id order (so concurrent writers never deadlock on them). */
  lockTasks(projectId: string, taskIds: readonly string[]): Promise<Task[]>;
  /**
   * The project's graph lock, taken first by every transaction that changes
   * dependency edges or walks the graph to change many tasks (create with
   * dependencies or a parent, update of depends_on, cancel, redrive, resolve,
   * dead letters). Edges change only under it, so a writer holding it can read
   * the graph, then lock what it will touch in `waitsForOrder`.
   */
  lockGraph(projectId: string): Promise<void>;
  /** Reads tasks of the project without locking them, in no particular order. */
  getTasks(projectId: string, taskIds: readonly string[]): Promise<Task[]>;
  /** Row-locks the given tasks one after another in exactly this order (see `waitsForOrder`); returns those that exist. */
  lockInOrder(projectId: string, taskIds: readonly string[]): Promise<Map<string, Task>>;
  /**
   * The "waits for" edges reachable from `from` (a task waits for its
   * dependencies, an epic for its children), for cycle detection.
   */
  reachableDependencies(projectId: string, from: readonly string[]): Promise<Map<string, string[]>>;
  /** Locks the given tasks and all their transitive dependencies, in id order. */
  lockAncestors(projectId: string, from: readonly string[]): Promise<string[]>;
  /** False when the id is taken (ids are short and random). */
  insertTask(task: Task): Promise<boolean>;
  /** Which of these ids some task of any project already has (task ids are unique across projects). */
  takenTaskIds(taskIds: readonly string[]): Promise<string[]>;
  replaceDependencies(taskId: string, deps: readonly DependencyRef[]): Promise<void>;
  dependencyRefs(taskId: string): Promise<DependencyRef[]>;
  /** Writes every mutable column and bumps the revision. */
  updateTask(task: Task): Promise<Task>;
  /**
   * Adds delta to the critical-path weight of each given task (already
   * locked) and bumps their revision, so an optimistic writer that read them
   * before a new dependent appeared decides again.
   */
  addWeight(projectId: string, taskIds: readonly string[], delta: number): Promise<void>;
  /** Recomputes weights from the graph for the given tasks and all their ancestors. */
  recomputeWeights(projectId: string, taskIds: readonly string[]): Promise<void>;
  /**
   * A dependency finished: one statement decrements unmet_deps of every
   * dependent and makes those with none left pending. Returns the unblocked
   * ids, and the epics among the dependents that now wait for nothing (they
   * complete once their children are done), and which of the unblocked carry
   * a workflow condition to decide now (context.workflow_when).
   */
  releaseDependents(projectId: string, taskId: string, now: Date): Promise<{ unblocked: string[]; epics: string[]; gated: string[] }>;
  dependents(projectId: string, taskIds: readonly string[]): Promise<Task[]>;
  /** Open dependents, transitively (for cancel propagation). */
  openDescendants(projectId: string, taskIds: readonly string[]): Promise<string[]>;
  children(projectId: string, parentId: string): Promise<Task[]>;
  /** How many children the task has in each status (only statuses that have some): one aggregate, no rows mapped. */
  childStatusCounts(projectId: string, parentId: string): Promise<Partial<Record<TaskStatus, number>>>;
  /** Sets status cancelled on those of these tasks still open; returns them. */
  cancelTasks(projectId: string, taskIds: readonly string[], reason: string, now: Date): Promise<string[]>;
  /** Flags these tasks (already locked) held by a person, those not held yet or held by a budget; bumps their revision so optimistic writers decide again. */
  holdTasks(projectId: string, taskIds: readonly string[], reason: string | null, now: Date): Promise<void>;
  /** Drops the hold of these tasks (already locked), setting the status each was decided to have now. */
  resumeTasks(projectId: string, tasks: ReadonlyArray<{ id: string; status: TaskStatus; blocked_reason: BlockedReason | null }>, now: Date): Promise<void>;
  insertEscalation(escalation: Escalation): Promise<void>;
  lockEscalation(projectId: string, escalationId: string): Promise<Escalation | null>;
  updateEscalation(escalation: Escalation): Promise<void>;
  openEscalationsFor(projectId: string, taskId: string): Promise<Escalation[]>;
  /** Open tasks of the project, row-locked, that are blocked behind this failed task. */
  failedDependents(projectId: string, taskId: string): Promise<Task[]>;
  /** Registers the agent (or marks it seen) and locks its row; returns its inbox cursor. */
  touchAgent(projectId: string, agentId: string, now: Date): Promise<{ inbox_cursor: number }>;
  setInboxCursor(projectId: string, agentId: string, cursor: number): Promise<void>;
  insertMessage(message: Omit<Message, 'id'>): Promise<Message>;
  /** Messages to the agent or to everyone, not its own, after `after`, oldest first. */
  messagesFor(projectId: string, agentId: string, after: number, limit: number): Promise<Message[]>;
  appendEvents(projectId: string, events: readonly NewEvent[], at: Date): Promise<LoomEvent[]>;
  /**
   * Appends a usage report and adds it to the running totals of the project, the task and every
   * epic above it. Call it last among the transaction's writes (it locks the totals rows).
   */
  recordUsage(entry: UsageEntry): Promise<BudgetState[]>;

  // Budgets (src/domain/budget.ts).
  /**
   * The budgets of these scopes ('' the project, else an epic id), row-locked in scope order,
   * each with what was spent under it so far (the usage totals); scopes without one are absent.
   */
  lockBudgets(projectId: string, scopes: readonly string[]): Promise<BudgetState[]>;
  /** Every budget of the project with what was spent under it, unlocked, in scope order. */
  budgets(projectId: string): Promise<BudgetState[]>;
  /** Writes a budget row (insert or update); null budget_micros deletes it. */
  saveBudget(projectId: string, b: { scope: string; budget_micros: number | null; warned_at: Date | null; exceeded_at: Date | null; escalation_id: string | null }, now: Date): Promise<void>;
  /**
   * Row-locks, in id order and in one statement, every open task (not done or cancelled) under
   * these scopes: an epic and everything below it, or for '' every open task of the project.
   */
  lockOpenUnder(projectId: string, scopes: readonly string[]): Promise<string[]>;
  /** Holds these tasks (already locked) for the scope's budget, those not held already; returns the ids it held. */
  holdForBudget(projectId: string, taskIds: readonly string[], scope: string, reason: string, now: Date): Promise<string[]>;
  /** Tasks held by this scope's budget, row-locked in id order. */
  lockHeldByBudget(projectId: string, scope: string): Promise<Task[]>;
  /** For each of these tasks under an exceeded budget: the nearest such scope (the task's own epic budget first, the project's last). */
  stoppedScopesOver(projectId: string, taskIds: readonly string[]): Promise<Map<string, string>>;
  /** Moves these held tasks (already locked) to another scope's budget hold. */
  moveBudgetHold(projectId: string, taskIds: readonly string[], scope: string, reason: string, now: Date): Promise<void>;

  // `loom fsck --repair`: set-based, one project at a time.
  /** Row-locks every task of the project, in id order, so counters cannot move under a repair; returns how many. */
  lockProjectTasks(projectId: string): Promise<number>;
  /** One statement: unmet_deps of every task := how many of its dependencies are not done. Returns the changed ones. */
  recountUnmetDeps(projectId: string, now: Date): Promise<Array<{ id: string; from: number; to: number }>>;
  /** The project's tasks as the invariant checks read them. */
  invariantTasks(projectId: string): Promise<InvariantTask[]>;
  /** Writes these critical-path weights; returns the ids whose weight changed. */
  setWeights(projectId: string, weights: ReadonlyArray<{ id: string; weight: number }>): Promise<string[]>;
  /**
   * Blocked-on-dependencies tasks with none unmet become pending, pending
   * tasks with some unmet become blocked on them (each guarded by its
   * counter). Returns the ids moved; their events are the caller's.
   */
  settleStatuses(projectId: string, moves: { unblocked: readonly string[]; blocked: readonly string[] }, now: Date): Promise<{ unblocked: string[]; blocked: string[] }>;
  /** Records a skill run (with its skill.used event, in the same transaction); returns the run's id. */
  insertSkillRun(run: SkillRunRecord): Promise<number>;
  /** Inserts many new tasks in one statement (ids are fresh: a taken one fails the transaction). */
  insertTasks(tasks: readonly Task[]): Promise<void>;
  /** Inserts many dependency edges in one statement. */
  insertDependencies(edges: ReadonlyArray<{ task_id: string; depends_on: string; inherited: boolean }>): Promise<void>;
  /** An applied plan under this parent ('' for a new epic) with this hash, if any. */
  findDecomposition(projectId: string, parentId: string, planHash: string): Promise<DecompositionRecord | null>;
  insertDecomposition(record: DecompositionRecord): Promise<void>;
  /** The run of this project with this run key, if any. */
  findWorkflowRun(projectId: string, runKey: string): Promise<WorkflowRunRecord | null>;
  /** Records a run; returns its id. */
  insertWorkflowRun(run: Omit<WorkflowRunRecord, 'id'>): Promise<number>;
  /** Adds a review round's tasks to a run (step path -> task ids, task key -> id), row-locked. */
  addWorkflowRunTasks(projectId: string, runId: number, steps: Record<string, string[]>, tasks: Record<string, string>): Promise<void>;
  /**
   * Writes an exported project into this store, ids kept: the project must be new here, or
   * empty (no tasks, messages or runs; its own events are replaced). Refuses with IMPORT_CONFLICT
   * when a task or escalation id is taken, IMPORT_INVALID when a row does not fit the schema.
   * Imported events count as published (the relay does not send them again), and the id
   * sequences move past the imported ids. The caller checks the result's invariants.
   */
  importArchive(archive: ArchiveRows): Promise<void>;
  /** Everything `loom fsck` checks of one project, as this transaction sees it. */
  invariantSnapshot(projectId: string): Promise<InvariantSnapshot>;
}

/**
 * The kinds of rows a project archive holds, in the order they are written and read back (a row
 * may name only rows of kinds before it). Usage and budgets came later: a file without them imports as before.
 */
export const ARCHIVE_KINDS = ['task', 'dep', 'escalation', 'agent', 'message', 'skill_run', 'decomposition', 'workflow_run', 'usage_report', 'usage_total', 'budget', 'event'] as const;
export type ArchiveKind = (typeof ARCHIVE_KINDS)[number];

/**
 * A project as its tables store it: each row as a JSON object of its columns (without
 * project_id; events also without tx_id, which only means something in the database that
 * wrote them), timestamps in UTC, rows in key order. `schema` is the migration version of
 * the store that wrote it.
 */
export interface ArchiveRows {
  schema: number;
  project: { id: string; name: string; created_at: string };
  events: boolean;
  rows: Record<ArchiveKind, JsonObject[]>;
}

/** One workflow run (table workflow_runs). */
export interface WorkflowRunRecord {
  id: number;
  project_id: string;
  workflow: string;
  source: string;
  version: string;
  content_hash: string;
  inputs: Record<string, unknown>;
  epic_id: string;
  run_key: string | null;
  /** Step path -> task ids. */
  steps: Record<string, string[]>;
  /** Task key -> task id. */
  tasks: Record<string, string>;
  skipped: Array<{ step: string; reason: string }>;
  created_at: string;
}

/** One applied decomposition plan (table decompositions). */
export interface DecompositionRecord {
  project_id: string;
  /** The epic the plan was sent for, or '' when it made a new one. */
  parent_id: string;
  plan_hash: string;
  epic_id: string;
  task_ids: Record<string, string>;
  edges: number;
  at: Date;
}
