export const TASK_STATUSES = ['pending', 'blocked', 'claimed', 'done', 'failed', 'cancelled', 'epic'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const PRIORITIES = ['p0', 'p1', 'p2'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** Lower rank runs first: p0 > p1 > p2. */
export const priorityRank = (p: Priority): number => PRIORITIES.indexOf(p);

export type FailurePolicy = 'block' | 'cancel';

/** Why a task is blocked: waiting on its dependencies, or on a human. */
export type BlockedReason = 'dependencies' | 'escalation' | 'dependency_failed';

export interface Origin {
  kind: string;
  id: string;
}

export interface Lease {
  token: string;
  expires_at: string; // ISO 8601
}

/** A JSON object: a task's context or output, an event's payload. */
export type JsonObject = Record<string, unknown>;

export interface Project {
  id: string;
  name: string;
  created_at: string;
  /** Set once `loom project remove` closed the project to writes (absent on projects never removed). */
  removed_at?: string | null;
}

export interface Task {
  id: string;
  project_id: string;
  title: string;
  status: TaskStatus;
  priority: Priority;
  parent_id: string | null;
  depends_on: string[];
  context: JsonObject;
  output: JsonObject | null;
  done_when: string | null;
  /** Free-form tags, sorted and unique (LABEL_PATTERN); filters of `list` and `ready` keep tasks having all given. */
  labels: string[];
  origin: Origin;
  assignee: string | null;
  attempts: number;
  max_attempts: number;
  run_after: string | null;
  lease_token: string | null;
  lease_expires_at: string | null;
  blocked_reason: BlockedReason | null;
  failure_reason: string | null;
  /** Dependencies not yet done: the task is ready when this is 0. */
  unmet_deps: number;
  /** Critical-path weight: transitive dependents not yet done. */
  weight: number;
  /** Whether any task depends on this one (read from the edges; a new edge also moves this task's revision). */
  has_dependents: boolean;
  /** Lease expiries without a report; a task that keeps bouncing is escalated. */
  expiry_count: number;
  /** The agent's last progress note and when it came (set at claim, moved by heartbeats that report progress). */
  progress: string | null;
  progress_at: string | null;
  /** Set while the task is held (`loom hold`): never ready, never claimed; its status is kept up to date meanwhile. */
  held_at: string | null;
  hold_reason: string | null;
  /** The budget whose stop holds the task ('' the project's, else an epic id); null when held by a person or not held. */
  held_by_budget: string | null;
  revision: number;
  created_at: string;
  updated_at: string;
}

export const TERMINAL_STATUSES: readonly TaskStatus[] = ['done', 'failed', 'cancelled'];
export const isTerminal = (s: TaskStatus): boolean => TERMINAL_STATUSES.includes(s);

/** A label: lower case, starting with a letter or digit, then letters, digits and . _ : - (64 characters at most). */
export const LABEL_PATTERN = '^[a-z0-9][a-z0-9._:-]{0,63}$';
export const MAX_LABELS = 20;

/** The task's labels with these added and those removed (removal wins when a label is in both), sorted. */
export const editLabels = (current: readonly string[], add: readonly string[], remove: readonly string[]): string[] => {
  const gone = new Set(remove);
  return [...new Set([...current, ...add])].filter((l) => !gone.has(l)).sort();
};

export const TASK_ID_PATTERN = /^loom-[0-9a-f]{8}$/;
