import { PROJECT_SCOPE, scopeLabel } from './budget.js';
import { LoomError, validationFailed } from './errors.js';
import type { Escalation } from './escalation.js';
import type { NewEvent } from './events.js';
import { effectiveDependencies, initialStatus, unmetCount } from './graph.js';
import { checkLease, isLeaseExpired, newLease } from './lease.js';
import { canonicalJson } from './json.js';
import { decideFailure, type RetryPolicy } from './retry.js';
import { editLabels, MAX_LABELS, type JsonObject, type Lease, type Origin, type Priority, type Task } from './task.js';
import { assertTransition } from './transitions.js';

/**
 * Pure deciders: given the current state, the input and the time, each
 * returns the new state and the events that describe the change. Use cases
 * load, call one of these, and persist the result in one transaction.
 */

export interface Decision {
  task: Task;
  events: NewEvent[];
}

export interface NewTaskInput {
  id: string;
  project_id: string;
  title: string;
  origin: Origin;
  context?: JsonObject;
  depends_on?: string[];
  priority?: Priority;
  parent_id?: string;
  done_when?: string;
  labels?: string[];
  epic?: boolean;
  max_attempts?: number;
}

export function decideCreate(
  input: NewTaskInput,
  deps: ReadonlyArray<Pick<Task, 'id' | 'status'>>,
  parent: Task | null,
  now: Date,
  defaults: { max_attempts: number; /** The project's own budget is exceeded: the task is born held by it. */ budget_stopped?: boolean },
): Decision {
  if (input.parent_id !== undefined) {
    if (parent === null) {
      throw new LoomError('TASK_NOT_FOUND', `no parent task ${input.parent_id} in this project`, {
        hint: 'the parent must be an epic of this project: create one with `loom create TITLE --epic`',
        details: { task_id: input.parent_id },
      });
    }
    if (parent.status !== 'epic') {
      throw validationFailed(`parent ${parent.id} is ${parent.status === 'done' ? 'a completed epic' : 'not an epic'}`, {
        parent_id: parent.id,
      });
    }
  }
  const dependsOn = effectiveDependencies(input.depends_on ?? [], parent);
  const unmet = unmetCount(deps);
  const { status, blocked_reason } = initialStatus(input.epic === true, deps);
  const at = now.toISOString();
  const task: Task = {
    id: input.id,
    project_id: input.project_id,
    title: input.title,
    status,
    priority: input.priority ?? 'p1',
    parent_id: input.parent_id ?? null,
    depends_on: dependsOn.sort(),
    context: input.context ?? {},
    output: null,
    done_when: input.done_when ?? null,
    labels: [...new Set(input.labels ?? [])].sort(),
    origin: input.origin,
    assignee: null,
    attempts: 0,
    max_attempts: input.max_attempts ?? defaults.max_attempts,
    run_after: null,
    lease_token: null,
    lease_expires_at: null,
    blocked_reason,
    failure_reason: null,
    unmet_deps: unmet,
    weight: 0,
    has_dependents: false,
    expiry_count: 0,
    progress: null,
    progress_at: null,
    // A child of a held epic is held with it (by a person or by the same budget): resuming the
    // epic, or raising that budget, resumes it too. Under an exceeded project budget, it is held by that.
    ...heldAtBirth(parent, defaults.budget_stopped === true, at),
    revision: 1,
    created_at: at,
    updated_at: at,
  };
  return {
    task,
    events: [
      {
        type: 'task.created',
        task_id: task.id,
        agent_id: input.origin.id,
        payload: { title: task.title, status, priority: task.priority, depends_on: task.depends_on, parent_id: task.parent_id, labels: task.labels, epic: status === 'epic', ...(task.held_at === null ? {} : { held: true }) },
      },
    ],
  };
}

function heldAtBirth(parent: Task | null, budgetStopped: boolean, at: string): Pick<Task, 'held_at' | 'hold_reason' | 'held_by_budget'> {
  if (parent !== null && parent.held_at !== null) return { held_at: at, hold_reason: parent.hold_reason, held_by_budget: parent.held_by_budget };
  if (budgetStopped) return { held_at: at, hold_reason: `budget of ${scopeLabel(PROJECT_SCOPE)} exceeded`, held_by_budget: PROJECT_SCOPE };
  return { held_at: null, hold_reason: null, held_by_budget: null };
}

export interface TaskPatch {
  title?: string;
  context?: JsonObject;
  priority?: Priority;
  done_when?: string | null;
  max_attempts?: number;
  /** Replaces the labels; not with add_labels or remove_labels. */
  labels?: string[];
  add_labels?: string[];
  remove_labels?: string[];
}

/** Field changes; dependency changes are decided by `decideDependencies`. */
export function decideUpdate(task: Task, patch: TaskPatch, now: Date, agentId: string | null): Decision {
  if (task.status === 'done' || task.status === 'cancelled') {
    throw new LoomError('INVALID_TRANSITION', `cannot update task ${task.id}: it is ${task.status}`, {
      hint: 'finished tasks are kept as they were; create a new task for more work',
      details: { task_id: task.id, status: task.status },
    });
  }
  const { labels: replace, add_labels, remove_labels, ...fields } = patch;
  const changed = Object.keys(fields).filter((k) => (fields as Record<string, unknown>)[k] !== undefined);
  const labels =
    replace !== undefined ? [...new Set(replace)].sort() : add_labels !== undefined || remove_labels !== undefined ? editLabels(task.labels, add_labels ?? [], remove_labels ?? []) : task.labels;
  const labelsChanged = labels.length !== task.labels.length || labels.some((l, i) => l !== task.labels[i]);
  if (labelsChanged) {
    if (labels.length > MAX_LABELS) {
      throw validationFailed(`labels: task ${task.id} would have ${labels.length} labels; at most ${MAX_LABELS} are allowed`, { field: 'labels', task_id: task.id });
    }
    changed.push('labels');
  }
  const next: Task = {
    ...task,
    ...(patch.title !== undefined ? { title: patch.title } : {}),
    ...(patch.context !== undefined ? { context: patch.context } : {}),
    ...(patch.priority !== undefined ? { priority: patch.priority } : {}),
    ...(patch.done_when !== undefined ? { done_when: patch.done_when } : {}),
    ...(patch.max_attempts !== undefined ? { max_attempts: patch.max_attempts } : {}),
    labels,
    updated_at: now.toISOString(),
  };
  const payload = labelsChanged ? { changed, labels } : { changed };
  return { task: next, events: changed.length === 0 ? [] : [{ type: 'task.updated', task_id: task.id, agent_id: agentId, payload }] };
}

/**
 * New dependencies of an open task: its unmet count and, unless it runs
 * already, its status follow. A task that runs (claimed) cannot gain an
 * unfinished dependency: it could be done before it, and no task is ever
 * done ahead of its dependencies. `via` names the epic whose dependencies
 * the task inherits, when that is where they come from.
 */
export function decideDependencies(
  task: Task,
  deps: ReadonlyArray<Pick<Task, 'id' | 'status'>>,
  now: Date,
  agentId: string | null,
  via?: string,
): Decision {
  const unmet = unmetCount(deps);
  if (task.status === 'claimed' && unmet > 0) {
    const open = deps.filter((d) => d.status !== 'done').map((d) => d.id);
    const who = task.assignee ?? 'an agent';
    throw new LoomError(
      'INVALID_TRANSITION',
      `cannot make ${task.id}${via === undefined ? '' : ` (a child of epic ${via}, which passes its dependencies on)`} wait for unfinished ${open.join(', ')}: ` +
        `it is claimed by ${who} and running, and would be done before them`,
      {
        hint:
          `add the dependency once ${task.id} is done; or take the task back first (${who} releases it with loom_recover, ` +
          `or \`loom escalate ${task.id}\` ends the claim), then add it. Nothing was written`,
        details: { task_id: task.id, status: task.status, assignee: task.assignee, unfinished: open, ...(via === undefined ? {} : { epic_id: via }) },
      },
    );
  }
  let { status, blocked_reason } = task;
  // Blocked for a human (an escalation) stays blocked; blocked on dependencies is re-derived.
  if (status === 'pending' || (status === 'blocked' && blocked_reason !== 'escalation')) {
    ({ status, blocked_reason } = initialStatus(false, deps));
  }
  const next: Task = { ...task, depends_on: deps.map((d) => d.id).sort(), unmet_deps: unmet, status, blocked_reason, updated_at: now.toISOString() };
  const events: NewEvent[] = [
    { type: 'task.updated', task_id: task.id, agent_id: agentId, payload: { changed: ['depends_on'], depends_on: next.depends_on } },
  ];
  if (status !== task.status) {
    events.push({ type: status === 'blocked' ? 'task.blocked' : 'task.unblocked', task_id: task.id, agent_id: agentId, payload: { reason: 'dependencies changed' } });
  }
  return { task: next, events };
}

export function decideHeartbeat(task: Task, token: string, agentId: string, now: Date, leaseSeconds: number, progress?: string): Decision & { lease: Lease } {
  const check = checkLease(task, token, now);
  if (check.ok !== true) throw check.ok === false ? check.error : new Error('unreachable');
  const lease = newLease(token, now, leaseSeconds);
  return {
    task: {
      ...task,
      lease_expires_at: lease.expires_at,
      ...(progress === undefined ? {} : { progress, progress_at: now.toISOString() }),
      updated_at: now.toISOString(),
    },
    lease,
    events: [
      {
        type: 'task.heartbeat',
        task_id: task.id,
        agent_id: agentId,
        payload: { lease_expires_at: lease.expires_at, ...(progress === undefined ? {} : { progress }) },
      },
    ],
  };
}

export type DoneDecision = (Decision & { already_done: false }) | { task: Task; events: []; already_done: true };

export function decideDone(task: Task, token: string, agentId: string, output: JsonObject | undefined, now: Date): DoneDecision {
  const check = checkLease(task, token, now, { allowDone: true });
  if (check.ok === 'already_done') {
    // A repeat of the report that completed it changes nothing; a different output under the same lease is not a repeat.
    if (output !== undefined && canonicalJson(output) !== canonicalJson(task.output ?? {})) {
      throw new LoomError('CONFLICT', `task ${task.id} is already done under this lease, with another output: yours was not recorded`, {
        hint: `read what was recorded with \`loom status ${task.id}\` (MCP: loom_status); to add to it, message the team or create a follow-up task that depends on ${task.id}`,
        details: { task_id: task.id, done_by: task.assignee, already_done: true },
      });
    }
    return { task, events: [], already_done: true };
  }
  if (check.ok === false) throw check.error;
  assertTransition(task.id, task.status, 'done', 'complete');
  if (task.unmet_deps > 0) {
    // Claims need every dependency done, and a claimed task gains no unfinished one: this guards the invariant all the same.
    throw new LoomError('INVALID_TRANSITION', `cannot complete ${task.id}: ${task.unmet_deps} of its dependencies are not done`, {
      hint: `a task is never done ahead of its dependencies; \`loom status ${task.id}\` lists them. A person can still mark it done by resolving an escalation (\`loom resolve ID --action done\`)`,
      details: { task_id: task.id, unmet_deps: task.unmet_deps },
    });
  }
  return {
    already_done: false,
    task: { ...task, status: 'done', output: output ?? {}, lease_expires_at: null, updated_at: now.toISOString() },
    events: [
      {
        type: 'task.done',
        task_id: task.id,
        agent_id: agentId,
        // The lease token is what entitles a report; who reported is recorded, and who held the claim when that differs.
        payload: { attempt: task.attempts, has_output: output !== undefined, ...(task.assignee !== null && task.assignee !== agentId ? { lease_holder: task.assignee } : {}) },
      },
    ],
  };
}

export interface FailInput {
  token: string;
  agentId: string;
  reason: string;
  retryable: boolean;
}

export function decideFail(
  task: Task,
  input: FailInput,
  now: Date,
  policy: RetryPolicy,
  random: () => number,
): Decision & { outcome: 'retrying' | 'dead_lettered' } {
  const check = checkLease(task, input.token, now);
  if (check.ok !== true) throw check.ok === false ? check.error : new Error('unreachable');
  const d = decideFailure(task.attempts, task.max_attempts, input.retryable, now, policy, random);
  const base = { ...task, assignee: null, lease_token: null, lease_expires_at: null, failure_reason: input.reason, updated_at: now.toISOString() };
  if (d.outcome === 'retrying') {
    assertTransition(task.id, task.status, 'pending', 'retry');
    // A dependency added while it ran keeps it blocked until that is done.
    const waiting = task.unmet_deps > 0;
    return {
      outcome: 'retrying',
      task: { ...base, status: waiting ? 'blocked' : 'pending', blocked_reason: waiting ? 'dependencies' : null, run_after: d.run_after },
      events: [
        { type: 'task.failed', task_id: task.id, agent_id: input.agentId, payload: { reason: input.reason, attempt: task.attempts, retryable: true } },
        { type: 'task.retrying', task_id: task.id, agent_id: input.agentId, payload: { run_after: d.run_after, delay_ms: d.delay_ms, attempt: task.attempts, max_attempts: task.max_attempts } },
      ],
    };
  }
  assertTransition(task.id, task.status, 'failed', 'fail');
  return {
    outcome: 'dead_lettered',
    task: { ...base, status: 'failed', run_after: null },
    events: [
      { type: 'task.failed', task_id: task.id, agent_id: input.agentId, payload: { reason: input.reason, attempt: task.attempts, retryable: input.retryable } },
      { type: 'task.dead_lettered', task_id: task.id, agent_id: input.agentId, payload: { reason: input.reason, why: d.why, attempts: task.attempts } },
    ],
  };
}

export function decideEscalate(
  task: Task,
  message: string,
  escalationId: string,
  raisedBy: string | null,
  source: Escalation['source'],
  now: Date,
): Decision & { escalation: Escalation } {
  if (task.status === 'epic' || task.status === 'done' || task.status === 'cancelled' || task.status === 'failed') {
    throw new LoomError('INVALID_TRANSITION', `cannot escalate task ${task.id}: it is ${task.status}`, {
      hint: 'escalate open work (pending, blocked or claimed tasks)',
      details: { task_id: task.id, status: task.status },
    });
  }
  assertTransition(task.id, task.status, 'blocked', 'escalate');
  const at = now.toISOString();
  const escalation: Escalation = {
    id: escalationId,
    project_id: task.project_id,
    task_id: task.id,
    message,
    source,
    raised_by: raisedBy,
    status: 'open',
    resolution: null,
    created_at: at,
    resolved_at: null,
  };
  return {
    escalation,
    task: { ...task, status: 'blocked', blocked_reason: 'escalation', assignee: null, lease_token: null, lease_expires_at: null, updated_at: at },
    events: [{ type: 'escalation.raised', task_id: task.id, agent_id: raisedBy, payload: { escalation_id: escalationId, message, source } }],
  };
}

export function decideCancel(task: Task, reason: string, now: Date): Decision {
  assertTransition(task.id, task.status, 'cancelled', 'cancel');
  return {
    task: { ...task, status: 'cancelled', failure_reason: reason, blocked_reason: null, lease_token: null, lease_expires_at: null, updated_at: now.toISOString() },
    events: [{ type: 'task.cancelled', task_id: task.id, agent_id: null, payload: { reason } }],
  };
}

/** An epic whose children are all done completes itself. */
export function decideEpicCompletion(epic: Task, now: Date): Decision {
  if (epic.status !== 'epic') throw new LoomError('INVALID_TRANSITION', `task ${epic.id} is not an epic`, { details: { task_id: epic.id } });
  if (epic.unmet_deps > 0) {
    throw new LoomError('INVALID_TRANSITION', `epic ${epic.id} cannot complete: ${epic.unmet_deps} of its own dependencies are not done`, {
      details: { task_id: epic.id, unmet_deps: epic.unmet_deps },
    });
  }
  assertTransition(epic.id, epic.status, 'done', 'complete');
  return {
    task: { ...epic, status: 'done', output: epic.output ?? {}, updated_at: now.toISOString() },
    events: [{ type: 'epic.completed', task_id: epic.id, agent_id: null, payload: {} }],
  };
}

/**
 * An agent gives a claimed task back (it cannot go on, or lost its context):
 * the task returns to the queue at once, without backoff, and the attempt
 * is not counted: giving work back is not failing at it.
 */
export function decideRelease(task: Task, token: string, agentId: string, reason: string | undefined, now: Date): Decision {
  return {
    task: giveBackLease(task, token, now, 'release'),
    events: [{ type: 'task.released', task_id: task.id, agent_id: agentId, payload: { reason: reason ?? null } }],
  };
}

/**
 * The lease holder gives a claimed task back without failing it (a release, a
 * rate limit): the lease is checked and cleared, the attempt the claim counted
 * is given back, and the task waits again: pending, or blocked when a
 * dependency was added while it ran.
 */
export function giveBackLease(task: Task, token: string, now: Date, action: string): Task {
  const check = checkLease(task, token, now);
  if (check.ok !== true) throw check.ok === false ? check.error : new Error('unreachable');
  const waiting = task.unmet_deps > 0;
  assertTransition(task.id, task.status, waiting ? 'blocked' : 'pending', action);
  return {
    ...task,
    status: waiting ? 'blocked' : 'pending',
    blocked_reason: waiting ? 'dependencies' : null,
    assignee: null,
    lease_token: null,
    lease_expires_at: null,
    attempts: Math.max(0, task.attempts - 1),
    updated_at: now.toISOString(),
  };
}

/**
 * A lease ran out without a report (the agent crashed, stalled or lost its
 * context): the task goes back to the queue with backoff, or to the dead
 * letters when its attempts are used up. Null when the lease has not expired.
 */
export function decideLeaseExpiry(
  task: Task,
  now: Date,
  policy: RetryPolicy,
  random: () => number,
  maxExpiries = Infinity,
): (Decision & { outcome: 'retrying' | 'dead_lettered' | 'escalated' }) | null {
  if (!isLeaseExpired(task, now)) return null;
  const d = decideFailure(task.attempts, task.max_attempts, true, now, policy, random);
  const reason = `lease expired at ${task.lease_expires_at} without a report from ${task.assignee ?? 'its agent'}`;
  const expiries = task.expiry_count + 1;
  const base = { ...task, assignee: null, lease_token: null, lease_expires_at: null, failure_reason: reason, expiry_count: expiries, updated_at: now.toISOString() };
  const expired: NewEvent = { type: 'task.lease_expired', task_id: task.id, agent_id: task.assignee, payload: { attempt: task.attempts, lease_expires_at: task.lease_expires_at, expiries } };
  if (d.outcome === 'retrying' && expiries >= maxExpiries) {
    // It keeps bouncing: agents take it and vanish. A person should look before the next one does.
    return { outcome: 'escalated', task: { ...base, status: 'blocked', blocked_reason: 'escalation', run_after: null }, events: [expired] };
  }
  if (d.outcome === 'retrying') {
    const waiting = task.unmet_deps > 0;
    return {
      outcome: 'retrying',
      task: { ...base, status: waiting ? 'blocked' : 'pending', blocked_reason: waiting ? 'dependencies' : null, run_after: d.run_after },
      events: [expired, { type: 'task.retrying', task_id: task.id, agent_id: null, payload: { run_after: d.run_after, delay_ms: d.delay_ms, attempt: task.attempts, max_attempts: task.max_attempts } }],
    };
  }
  return {
    outcome: 'dead_lettered',
    task: { ...base, status: 'failed', run_after: null },
    events: [expired, { type: 'task.dead_lettered', task_id: task.id, agent_id: null, payload: { reason, why: d.why, attempts: task.attempts } }],
  };
}
