import type { ServiceIdentifier } from 'inversify';
import type { BudgetView } from '../domain/budget.js';
import type { AgentView, Escalation } from '../domain/escalation.js';
import type { SerializedError } from '../domain/errors.js';
import type { LoomEvent } from '../domain/events.js';
import type { Message } from '../domain/message.js';
import type { GraphFormat, GraphView } from '../domain/graph.js';
import type { GraphPicture } from '../domain/graph-picture.js';
import type { JsonObject, Lease, Origin, Priority, Project, Task, TaskStatus } from '../domain/task.js';
import type { UsageReport, UsageTotals } from '../domain/usage.js';
import type { SkillStat, UsageGroup, UsageGroupBy } from './task-store.js';

/**
 * The driving port: every use case Loom offers, as plain JSON in and out.
 * The CLI and the MCP server call it; it is served in-process (server mode)
 * or by the project's daemon (embedded mode), so every input is untrusted
 * and validated behind it.
 */
export interface LoomApi {
  createProject(input: { name: string; id?: string }): Promise<Project>;
  getProject(input: { project_id: string }): Promise<Project>;
  /** Every project in this database with its task counts (to find a project a directory lost track of). */
  projects(input: Record<string, never>): Promise<Array<Project & { counts: Partial<Record<TaskStatus, number>> }>>;
  /**
   * Removes the project: cancels every open task, resolves every open escalation, records the
   * events and marks it removed, in one transaction. Afterwards its reads still work and every
   * write answers PROJECT_REMOVED.
   */
  removeProject(input: { project_id: string; agent_id?: string }): Promise<{ project: Project; cancelled: string[]; escalations_resolved: string[] }>;
  createTask(input: CreateTaskInput): Promise<Task>;
  /**
   * Bulk create: many tasks and their edges in one transaction, set-based, checked as single
   * creates are (cycles included). depends_on and parent_id name other items by key or existing
   * tasks by id. All or nothing; one task.created event per task.
   */
  createTasks(input: CreateTasksInput): Promise<CreateTasksResult>;
  updateTask(input: UpdateTaskInput): Promise<Task>;
  /** Ready tasks in ready order; with `labels`, only those having every one of them. */
  ready(input: { project_id: string; limit?: number; priority?: Priority; labels?: string[] }): Promise<Task[]>;
  /** Tasks of the project, oldest first, narrowed by every filter given (`loom list`); at most `limit` (default 50). */
  listTasks(input: ListTasksInput): Promise<Task[]>;
  claim(input: ClaimInput): Promise<ClaimResult>;
  /** Extends the lease; `progress` (a short note) tells the orchestrator the work moves on. */
  /** `usage` on heartbeat, done and fail: what was spent since this agent's last report on the task, recorded with the report. */
  heartbeat(input: LeaseInput & { lease_seconds?: number; progress?: string; usage?: UsageReport }): Promise<{ task: Task; lease: Lease }>;
  done(input: DoneInput): Promise<DoneResult>;
  /** With `rate_limited`, the failure uses no attempt and the task is ready again at `reset_at` (clamped to now .. 24 h ahead). */
  fail(input: FailInput): Promise<FailResult>;
  /**
   * Claims up to `count` of the best ready tasks in one statement, each with a lease of its own
   * (with `agent_ids`, the i-th task is leased to the i-th agent: a runner claiming for its free
   * slots). Fewer, or none, when fewer are ready.
   */
  claimBatch(input: ClaimBatchInput): Promise<ClaimBatchResult>;
  /** Completes many tasks in one call, each item checked against its own lease: one item refused never fails the others. */
  doneBatch(input: { project_id: string; items: Array<BatchItem<DoneInput>> }): Promise<BatchResult<DoneResult>>;
  /** Fails many tasks in one call, each item checked against its own lease; results per item. */
  failBatch(input: { project_id: string; items: Array<BatchItem<FailInput>> }): Promise<BatchResult<FailResult>>;
  /** Usage reported in the project, added up by task, epic (everything below it), agent or UTC day, most spent first. */
  costs(input: CostsInput): Promise<CostsReport>;
  /**
   * Sets, changes or clears (budget_usd null) the budget of the project, an epic or a workflow run
   * (its epic). Raising it above what was spent lifts its stop (held work resumes, its escalation
   * is resolved); setting it below stops the scope now.
   */
  setBudget(input: SetBudgetInput): Promise<SetBudgetResult>;
  /** The project's budgets with what was spent under each. */
  budgets(input: { project_id: string }): Promise<{ budgets: BudgetView[] }>;
  escalate(input: { project_id: string; task_id: string; message: string; agent_id?: string }): Promise<{ task: Task; escalation: Escalation }>;
  cancel(input: { project_id: string; task_id: string; reason?: string; agent_id?: string }): Promise<{ task: Task; cancelled: string[] }>;
  /** Holds a task, or an epic with everything below it: never ready or claimed until resumed (a claim already made runs out). */
  hold(input: { project_id: string; task_id: string; reason?: string; agent_id?: string }): Promise<{ task: Task; held: string[] }>;
  /** Resumes a held task (an epic: everything held below it too), each with the status it has now. */
  resume(input: { project_id: string; task_id: string; agent_id?: string }): Promise<{ task: Task; resumed: Array<{ id: string; status: TaskStatus }> }>;
  status(input: { project_id: string; task_id: string }): Promise<TaskDetail>;
  overview(input: { project_id: string }): Promise<ProjectOverview>;
  /**
   * The task graph in a format. `epic_id`: only that epic and everything below it. `dot`: Graphviz
   * text of the picture (finished epics drawn as one node unless `expand`), with the picture itself.
   */
  graph(input: GraphInput): Promise<GraphResult>;
  /** The event log, oldest first; with `task_id` only that task's (without `since`: its latest `limit`, oldest first). */
  events(input: { project_id: string; since?: number; limit?: number; task_id?: string }): Promise<LoomEvent[]>;
  /** Crash recovery: claimed tasks whose lease ran out go back to the queue (or to the dead letters). */
  recoverLeases(input: { project_id: string }): Promise<{ requeued: string[]; dead_lettered: string[]; escalated: string[] }>;
  /** One reconcile tick for the project: leases, stuck work, epic and failure backstops, agent liveness. */
  reconcile(input: { project_id: string }): Promise<TickReport>;
  /** Dead letters: failed tasks, newest first, with their last failure. */
  deadLetters(input: { project_id: string; limit?: number }): Promise<Task[]>;
  /** Puts one dead letter (or all) back in the queue with its attempts reset. */
  redrive(input: { project_id: string; task_id?: string; all?: boolean; agent_id?: string }): Promise<{ redriven: string[] }>;
  escalations(input: { project_id: string; status?: 'open' | 'resolved' | 'all' }): Promise<Escalation[]>;
  resolveEscalation(input: {
    project_id: string;
    escalation_id: string;
    action: 'retry' | 'cancel' | 'done' | 'unblock';
    output?: JsonObject;
    note?: string;
    agent_id?: string;
  }): Promise<{ escalation: Escalation; task: Task }>;
  /** Agents seen in the project, with their claims and whether they are active, idle or gone. */
  agents(input: { project_id: string }): Promise<AgentView[]>;
  /** Gives a claimed task back to the queue (no attempt used): for an agent that cannot go on. */
  release(input: LeaseInput & { reason?: string }): Promise<Task>;
  /** The tasks an agent holds now (claimed by it), with their leases. */
  agentTasks(input: { project_id: string; agent_id: string }): Promise<Task[]>;
  sendMessage(input: { project_id: string; from_agent: string; to_agent: string; body: string; thread_id?: string }): Promise<Message>;
  /** Unread messages for an agent (direct and broadcast, not its own), oldest first; marks them read. */
  inbox(input: { project_id: string; agent_id: string; since?: number; limit?: number }): Promise<Message[]>;
  /**
   * Checks the stored graph against its invariants (`loom fsck`); with
   * `repair`, first recounts what can be recomputed safely (unmet_deps,
   * weights, and the statuses that follow from them) in one transaction.
   */
  fsck(input: { project_id: string; repair?: boolean }): Promise<FsckReport>;
  /**
   * Writes the whole project (tasks, edges, escalations, agents, messages, runs; with
   * `events`, the event log) to `path` as JSON Lines (`loom export`). The path is absolute
   * and on the machine that serves the API (the daemon is the caller's own).
   */
  exportProject(input: { project_id: string; path: string; events?: boolean }): Promise<ExportResult>;
  /**
   * Reads a file `exportProject` wrote and writes its project into this store in one
   * transaction, ids kept (`loom import`). Refuses a project that exists here with work in
   * it, and ids taken here (IMPORT_CONFLICT), and a file that does not fit (IMPORT_INVALID).
   */
  importProject(input: { path: string }): Promise<ImportResult>;
  /** Skills of the project (builtin, plugins, user, project), and the files that are broken; with a task, those suggested for it first. */
  skills(input: { project_id: string; task_id?: string }): Promise<SkillList>;
  /** One skill with its template text. */
  skill(input: { project_id: string; name: string }): Promise<SkillDetail>;
  /** Renders a skill; with a task, from the task, its dependencies' outputs and its epic, and records the run (skill.used). */
  renderSkill(input: RenderSkillInput): Promise<RenderedSkill>;
  /** Per skill and version: uses and how the tasks ended (read from the events after each run). */
  skillStats(input: { project_id: string }): Promise<SkillStat[]>;
  /**
   * Decomposition in three calls. Without `plan`: the rendered
   * decompose_project skill, the plan's JSON Schema and how to call back.
   * With `plan`: a validated dry run (nothing written) with its `plan_hash`.
   * With `plan`, `apply: true` and that `plan_hash`: every task and edge
   * written in one transaction; the same plan under the same parent again
   * writes nothing and returns the same ids.
   */
  decompose(input: DecomposeInput): Promise<DecomposeResult>;
  /** Workflows of the project (builtin, plugins, user, project), and the files that are broken. */
  workflows(input: { project_id: string }): Promise<WorkflowList>;
  /** One workflow, with its file's text. */
  workflow(input: { project_id: string; name: string }): Promise<WorkflowDetail>;
  /**
   * Runs a workflow: checks the inputs, renders the steps and writes the
   * epic, every task, every edge and the run in one transaction; with
   * `dry_run` only shows them. The same `run_key` twice is one run.
   */
  runWorkflow(input: RunWorkflowInput): Promise<WorkflowRunResult>;
  /** Workflow runs, newest first, with their status (which follows the epic). */
  workflowRuns(input: { project_id: string; limit?: number }): Promise<WorkflowRunView[]>;
  /** One run: its steps and their tasks' statuses. */
  workflowRun(input: { project_id: string; run_id: number }): Promise<WorkflowRunDetail>;
  /**
   * The project's metrics as of now (`loom metrics`, `/metrics` of `loom serve`):
   * counts read at call time with bounded queries, counters and the claim-to-done
   * histogram folded from the event log. Nothing is recorded on the claim path.
   */
  metrics(input: { project_id: string }): Promise<ProjectMetrics>;
  /** Closes what the implementation holds (connections, sockets). */
  close(): Promise<void>;
}
export const LoomApi: ServiceIdentifier<LoomApi> = Symbol.for('loom.LoomApi');

export type { SkillStat };

export interface ProjectMetrics {
  project_id: string;
  /** When they were read. */
  at: string;
  tasks: Record<TaskStatus, number>;
  ready: number;
  open_escalations: number;
  /** Counts since the project began, from its events (task.claimed, task.done, task.failed, task.lease_expired, task.retrying, task.dead_lettered). */
  counters: { claims: number; completions: number; failures: number; lease_expiries: number; retries: number; dead_letters: number };
  /** Seconds from a task's last claim to its done; buckets are cumulative (Prometheus `le`). */
  claim_to_done_seconds: { buckets: Array<{ le: number; count: number }>; sum: number; count: number };
  agents: Record<'active' | 'idle' | 'gone', number>;
  workflow_runs: Record<WorkflowRunStatus, number>;
  /** Server mode with Redis: the outbox relay's lag, seconds since the first event it has not published committed (0 when none). */
  relays: Array<{ name: string; lag_seconds: number }>;
  /** Events not yet folded into the counters (nonzero only after a burst larger than one scrape folds). */
  events_behind: number;
}

export interface SkillArgumentView {
  name: string;
  description?: string;
  required: boolean;
  default?: string;
}

export interface SkillInfo {
  name: string;
  description: string;
  version: string;
  source: string;
  arguments: SkillArgumentView[];
  tags: string[];
  suggested_for: string[];
  /** With a task: whether suggested_for names its status or one of its context.tags. */
  suggested?: boolean;
}

export interface SkillProblemView {
  file: string;
  line: number;
  reason: string;
}

export interface SkillList {
  skills: SkillInfo[];
  problems: SkillProblemView[];
}

export interface SkillDetail extends SkillInfo {
  path: string;
  content_hash: string;
  body: string;
}

export interface RenderSkillInput {
  project_id: string;
  name: string;
  task_id?: string;
  arguments?: Record<string, string>;
  agent_id?: string;
}

export interface RenderedSkill {
  name: string;
  source: string;
  version: string;
  content_hash: string;
  text: string;
  /** The recorded run, when rendered for a task. */
  run_id?: number;
}

export interface WorkflowInputView {
  name: string;
  type: 'string' | 'number' | 'boolean' | 'list';
  description?: string;
  required: boolean;
  default?: unknown;
  enum?: unknown[];
}

export interface WorkflowInfo {
  name: string;
  description: string;
  version: string;
  source: string;
  inputs: WorkflowInputView[];
  steps: Array<{ id: string; title: string | null; skill: string | null; depends_on: string[]; when: string | null; for_each: string | null; uses: string | null; loop: { until: string; max_rounds: number; repeat: string[] } | null }>;
}

export interface WorkflowList {
  workflows: WorkflowInfo[];
  problems: SkillProblemView[];
}

export interface WorkflowDetail extends WorkflowInfo {
  path: string;
  content_hash: string;
  text: string;
}

export interface RunWorkflowInput {
  project_id: string;
  name: string;
  /** Input values by name; text is read by the input's type (--input n=3 is the number 3). */
  inputs?: JsonObject;
  dry_run?: boolean;
  /** An open epic the run's epic goes under. */
  parent_id?: string;
  /** The same key twice in a project is one run (the second call returns the first run). */
  run_key?: string;
  /** A budget in dollars on the run (its epic), set in the transaction that writes it (see setBudget). */
  budget_usd?: number;
  agent_id?: string;
}

export interface WorkflowSkippedStep {
  step: string;
  reason: string;
}

export type WorkflowRunResult =
  | {
      stage: 'dry_run';
      workflow: string;
      version: string;
      title: string;
      inputs: JsonObject;
      tasks: PlannedTaskView[];
      edges: Array<[string, string]>;
      waves: string[][];
      critical_path: string[];
      skipped: WorkflowSkippedStep[];
      /** Step path -> plan keys. */
      steps: Record<string, string[]>;
    }
  | {
      stage: 'started';
      run_id: number;
      epic_id: string;
      /** False when a run with this run_key existed: nothing new was written. */
      created: boolean;
      /** Plan key -> task id. */
      tasks: Record<string, string>;
      /** Step path -> task ids. */
      steps: Record<string, string[]>;
      skipped: WorkflowSkippedStep[];
    };

export type WorkflowRunStatus = 'running' | 'done' | 'failed' | 'escalated' | 'cancelled';

export interface WorkflowRunView {
  run_id: number;
  workflow: string;
  version: string;
  source: string;
  epic_id: string;
  title: string;
  run_key: string | null;
  status: WorkflowRunStatus;
  inputs: JsonObject;
  started_at: string;
  counts: Partial<Record<TaskStatus, number>>;
}

export interface WorkflowRunDetail extends WorkflowRunView {
  steps: Array<{ step: string; skipped: string | null; tasks: Array<{ id: string; title: string; status: TaskStatus }> }>;
}

/** Exactly one of goal, spec_path or epic_id says what is decomposed. */
export interface DecomposeInput {
  project_id: string;
  /** What the team should achieve (text). */
  goal?: string;
  /** A spec file inside the project directory (relative to it), read by Loom. */
  spec_path?: string;
  /** An existing epic to break down: the tasks go under it. */
  epic_id?: string;
  /** The plan (see the decomposition-plan JSON Schema). Without it the call returns the skill to write one. */
  plan?: JsonObject;
  /** A plan of more than 3 tasks with no edges is refused unless this is true. */
  allow_flat?: boolean;
  /** Write the plan: needs the plan_hash of its dry run. */
  apply?: boolean;
  plan_hash?: string;
  /** Without a plan: add a summary of the project's file tree to the skill. */
  include_file_tree?: boolean;
  /** Without a plan: limits to respect, passed to the skill. */
  constraints?: string;
  agent_id?: string;
}

export type DecomposeResult = DecomposePrompt | DecomposeDryRun | DecomposeApplied;

/** Without a plan: what the calling agent (the LLM) needs to write one. */
export interface DecomposePrompt {
  stage: 'plan_needed';
  /** The rendered decompose_project skill: follow it. */
  skill: RenderedSkill;
  /** The JSON Schema (draft 2020-12) a plan must satisfy. */
  plan_schema: JsonObject;
  /** How to call back, in words. */
  next: string;
}

export interface PlanWarning {
  code: 'no_done_when' | 'duplicate_title' | 'isolated';
  message: string;
  keys: string[];
}

export interface PlannedTaskView {
  key: string;
  title: string;
  priority: Priority;
  /** Keys of the plan and ids of existing tasks. */
  depends_on: string[];
  done_when: string | null;
  skill: string | null;
  /** The wave it runs in, counted within the plan (0 = can start first). */
  wave: number;
}

/** With a plan: what applying it would write. Nothing is written. */
export interface DecomposeDryRun {
  stage: 'dry_run';
  title: string;
  /** Where the tasks would go: an existing epic, or a new epic titled after the plan. */
  parent: { epic_id: string } | { new_epic: string };
  tasks: PlannedTaskView[];
  /** [task key, dependency key or existing task id]. */
  edges: Array<[string, string]>;
  /** Plan keys grouped by wave. */
  waves: string[][];
  /** The longest chain of plan tasks, first to last. */
  critical_path: string[];
  critical_path_length: number;
  warnings: PlanWarning[];
  counts: { tasks: number; edges: number; existing_dependencies: number };
  /** Pass it back with apply: true. It changes when the plan, the parent or allow_flat change. */
  plan_hash: string;
  next: string;
}

/** With apply: the written graph (or the one an identical earlier apply wrote). */
export interface DecomposeApplied {
  stage: 'applied';
  epic_id: string;
  /** False when this plan was applied under this parent before: nothing new was written. */
  created: boolean;
  /** Plan key -> task id. */
  tasks: Record<string, string>;
  counts: { tasks: number; edges: number };
  waves: string[][];
  plan_hash: string;
}

export interface CreateTaskInput {
  project_id: string;
  title: string;
  origin: Origin;
  context?: JsonObject;
  depends_on?: string[];
  priority?: Priority;
  parent_id?: string;
  done_when?: string;
  /** Lower-case tags (LABEL_PATTERN), unique, at most 20. */
  labels?: string[];
  epic?: boolean;
  max_attempts?: number;
}

/**
 * One task of a bulk create: what a single create takes, plus a key the other items may name.
 * depends_on and parent_id may name keys of the call as well as ids of existing tasks.
 */
export interface BulkTaskInput extends Omit<CreateTaskInput, 'project_id' | 'origin'> {
  /** Unique in the call; not shaped like a task id (default: the item's position, as #0, #1, ...). */
  key?: string;
  /** Default: the call's origin. */
  origin?: Origin;
}

export interface CreateTasksInput {
  project_id: string;
  origin: Origin;
  /** 1..MAX_BATCH_TASKS (domain/batch.ts) items. */
  tasks: BulkTaskInput[];
}

export interface CreateTasksResult {
  /** Every created task in input order, with its key when the item had one. */
  tasks: Array<{ id: string; key?: string; status: TaskStatus }>;
  created: number;
  edges: number;
}

export interface ListTasksInput {
  project_id: string;
  /** Any of these statuses. */
  statuses?: TaskStatus[];
  /** A plain substring of the title, any case. */
  search?: string;
  /** Only the children of this epic. */
  parent_id?: string;
  /** Only tasks having every one of these labels. */
  labels?: string[];
  /** Only held tasks (true) or only those not held (false). */
  held?: boolean;
  /** 1..1000, default 50. */
  limit?: number;
}

export interface UpdateTaskInput {
  project_id: string;
  task_id: string;
  title?: string;
  context?: JsonObject;
  priority?: Priority;
  /** Replaces the task's own dependencies; not with add_depends_on or remove_depends_on. */
  depends_on?: string[];
  /** Adds these edges to the task's own dependencies (in the same transaction as the rest). */
  add_depends_on?: string[];
  /** Removes these edges from the task's own dependencies (an edge inherited from its epic stays). */
  remove_depends_on?: string[];
  done_when?: string | null;
  max_attempts?: number;
  /** Replaces the task's labels; not with add_labels or remove_labels. */
  labels?: string[];
  /** Adds these labels (one the task has already is no change). */
  add_labels?: string[];
  /** Removes these labels (removal wins over add_labels for a label in both). */
  remove_labels?: string[];
}

export interface ClaimInput {
  project_id: string;
  agent_id: string;
  task_id?: string;
  lease_seconds?: number;
}

/** Nothing to claim is an expected outcome, not an error. */
export type ClaimResult =
  | { claimed: true; task: Task; lease: Lease }
  | { claimed: false; reason: 'none_ready' | 'not_ready'; task?: Task };

export interface SetBudgetInput {
  project_id: string;
  /** The epic whose budget this is; with neither this nor run_id, the project's. */
  epic_id?: string;
  /** A workflow run: its epic's budget. */
  run_id?: number;
  /** Dollars, above 0; null clears the budget. */
  budget_usd: number | null;
  agent_id?: string;
}

export interface SetBudgetResult {
  /** The budget now (null: cleared). */
  budget: BudgetView | null;
  /** Tasks the change resumed (it lifted a stop) or held (it was set below what was spent). */
  resumed: string[];
  held: string[];
}

export interface CostsInput {
  project_id: string;
  /** Default task. */
  by?: UsageGroupBy;
  /** Only reports at or after this time (ISO 8601: a date is its UTC midnight). */
  since?: string;
  /** Most groups listed (default 50). */
  limit?: number;
}

export interface CostsReport {
  by: UsageGroupBy;
  since: string | null;
  /** Everything reported in the project (since `since`), not only the groups listed. */
  total: UsageTotals;
  groups: UsageGroup[];
}

export interface LeaseInput {
  project_id: string;
  task_id: string;
  agent_id: string;
  lease_token: string;
}

export type DoneInput = LeaseInput & { output?: JsonObject; usage?: UsageReport };
export type FailInput = LeaseInput & { reason: string; retryable?: boolean; rate_limited?: { reset_at: string }; usage?: UsageReport };

/** Most tasks one batch claim, done or fail may carry. */
export const MAX_BATCH = 100;

export interface ClaimBatchInput {
  project_id: string;
  agent_id: string;
  /** How many tasks at most (1 to MAX_BATCH); with `agent_ids`, their number. */
  count?: number;
  /** One agent per task, in order (distinct); the tasks are leased to them instead of `agent_id`. */
  agent_ids?: string[];
  lease_seconds?: number;
}

/** Ready order (the order single claims would have taken them); empty when nothing is ready. */
export interface ClaimBatchResult {
  claims: Array<{ task: Task; lease: Lease }>;
}

/** One item of a batch done or fail: the single call's input without the project (the batch names it). */
export type BatchItem<I> = Omit<I, 'project_id'>;

/** Per item, in the order of the items: what the single call would have returned, or the error it would have thrown. */
export interface BatchResult<R> {
  results: Array<{ task_id: string; ok: true; result: R } | { task_id: string; ok: false; error: SerializedError }>;
}

export interface DoneResult {
  task: Task;
  unblocked: string[];
  completed_epics: string[];
  /** True when this lease had already completed the task: nothing changed. */
  already_done: boolean;
  /**
   * For a workflow step with a review loop whose `until` did not hold: one
   * more round was added (its tasks, key -> id), or after the last round a
   * person was asked (the task is blocked on that escalation, its output kept).
   */
  loop?: { outcome: 'round_added'; round: number; tasks: Record<string, string> } | { outcome: 'escalated'; round: number; escalation_id: string };
}

export interface FailResult {
  task: Task;
  outcome: 'retrying' | 'dead_lettered' | 'rate_limited';
  run_after: string | null;
  /** A rate limit's reset_at that was moved: `past` (ready now) or `too_far` (ready in 24 h). */
  clamped?: 'past' | 'too_far';
}

/** Another task as seen from one: enough to say whether it is in the way. */
export type TaskRef = Pick<Task, 'id' | 'title' | 'status' | 'priority' | 'unmet_deps' | 'blocked_reason'>;

export interface TaskDetail {
  task: Task;
  dependents: string[];
  /** The task's dependencies and dependents, with their status and title. */
  dependency_tasks: TaskRef[];
  dependent_tasks: TaskRef[];
  children: string[];
  escalations: Escalation[];
  recent_events: LoomEvent[];
  /** Usage reported on this task (an epic: on everything below it); absent when none was. */
  usage?: UsageTotals;
  /** The epic's budget (set with `loom budget set --epic`), with what was spent under it. */
  budget?: BudgetView;
}

export interface ProjectOverview {
  project: Project;
  counts: Record<TaskStatus, number>;
  total: number;
  ready: number;
  blocked: Array<Pick<Task, 'id' | 'title' | 'blocked_reason' | 'unmet_deps'>>;
  /** Held tasks (`loom hold`), oldest first, at most 50. */
  held: Array<Pick<Task, 'id' | 'title' | 'status' | 'held_at' | 'hold_reason'>>;
  /** How many tasks are held, by status (included in `counts`). */
  held_counts: Partial<Record<TaskStatus, number>>;
  escalations: Escalation[];
}

export interface GraphInput {
  project_id: string;
  format?: GraphFormat;
  epic_id?: string;
  /** dot: draw every task, even inside epics that are finished. */
  expand?: boolean;
}

export type GraphResult =
  | { format: 'json'; graph: GraphView }
  | { format: 'mermaid' | 'summary' | 'waves'; graph: GraphView; text: string }
  | { format: 'dot'; graph: GraphView; picture: GraphPicture; text: string };

export interface TickReport {
  requeued: string[];
  dead_lettered: string[];
  escalated: string[];
  stuck: string[];
  epics_completed: string[];
  dependents_blocked: string[];
  dependents_cancelled: string[];
  /** Workflow steps released without their condition or fan-out decided, decided now (a backstop). */
  workflow_steps_decided?: string[];
}

/** One broken invariant (or one thing the tick is due to do), with the tasks involved. */
export interface FsckFinding {
  check: string;
  message: string;
  task_ids: string[];
}

/** Rows per kind in an export file: tasks, dependency edges, escalations, agents, messages, skill and workflow runs, decompositions, events. */
export type ArchiveCounts = Record<'task' | 'dep' | 'escalation' | 'agent' | 'message' | 'skill_run' | 'decomposition' | 'workflow_run' | 'event', number>;

export interface ExportResult {
  project_id: string;
  path: string;
  bytes: number;
  /** Of the file's bytes: the same project exported twice gives the same hash. */
  sha256: string;
  /** The store's schema (migration) version. */
  schema: number;
  events: boolean;
  counts: ArchiveCounts;
}

export interface ImportResult {
  project_id: string;
  project_name: string;
  path: string;
  schema: number;
  /** Whether the file carried the event log. */
  events: boolean;
  counts: ArchiveCounts;
  /** Events the import itself wrote: one project.imported, and without the log a task.imported per task. */
  events_written: number;
}

export interface FsckReport {
  /** False while any violation remains. */
  ok: boolean;
  project_id: string;
  checked: { tasks: number; edges: number; events: number };
  /** At most 200 per check; a last entry of that check counts the rest. */
  violations: FsckFinding[];
  /** Not violations: what the reconcile tick is about to act on (expired leases, finished epics, ...). */
  due: FsckFinding[];
  /** How many findings there were in all (the lists are bounded). */
  totals: { violations: number; due: number };
  /** With `repair`: what was rewritten (ids listed up to 200 each; `counts` has the totals). */
  repaired?: {
    unmet_deps: string[];
    weights: string[];
    unblocked: string[];
    blocked: string[];
    counts: { unmet_deps: number; weights: number; unblocked: number; blocked: number };
  };
}
