import { LoomError } from './errors.js';
import type { NewEvent } from './events.js';
import type { BlockedReason, JsonObject, Task, TaskStatus } from './task.js';

/**
 * Hold and resume: an operator pauses a task, or an epic with everything
 * below it, without cancelling it. Held is a flag (held_at), not a status:
 * while it is set the task is never ready and never claimed, but its status
 * goes on following the graph (a dependency that finishes still unblocks it;
 * a claim already made finishes its lease, and its done or fail still
 * records). Resuming drops the flag, so each task has the status it would
 * have now.
 */

type HoldTask = Pick<Task, 'id' | 'status' | 'held_at' | 'unmet_deps' | 'blocked_reason'> & { held_by_budget?: string | null };

const finished = (s: TaskStatus): boolean => s === 'done' || s === 'cancelled';

export interface HoldDecision {
  /** The tasks to flag held (those not held already and not finished). */
  held: string[];
  events: NewEvent[];
}

/** `below`: the root's subtree when it is an epic (children, their children, ...), otherwise empty. */
export function decideHold(root: HoldTask, below: readonly HoldTask[], reason: string | null, agentId: string | null): HoldDecision {
  if (finished(root.status)) {
    throw new LoomError('INVALID_TRANSITION', `cannot hold task ${root.id}: it is ${root.status}`, {
      hint:
        root.status === 'done'
          ? 'a done task has nothing left to run; hold the open work that follows it (or its epic) instead'
          : 'a cancelled task never runs again; nothing to hold',
      details: { task_id: root.id, status: root.status },
    });
  }
  // A task an exceeded budget holds is held by the person now: raising the budget leaves it held.
  const held = [root, ...below].filter((t) => (t.held_at === null || (t.held_by_budget ?? null) !== null) && !finished(t.status)).map((t) => t.id);
  const events: NewEvent[] = held.map((id) => ({
    type: 'task.held',
    task_id: id,
    agent_id: agentId,
    payload: { ...(reason === null ? {} : { reason }), ...(id === root.id ? {} : { by: root.id }) },
  }));
  return { held, events };
}

/** One resumed task and the status it takes now. */
export interface Resumed {
  id: string;
  status: TaskStatus;
  blocked_reason: BlockedReason | null;
}

export interface ResumeDecision {
  resumed: Resumed[];
  events: NewEvent[];
}

/**
 * The status a held task has on resume: waiting on dependencies is derived
 * again from its unmet count (a dependency that finished during the hold
 * counts); every other status (claimed, done, failed, blocked on a human,
 * an epic) stays as it is.
 */
export function statusOnResume(t: HoldTask): { status: TaskStatus; blocked_reason: BlockedReason | null } {
  const waitsOnDeps = t.status === 'pending' || (t.status === 'blocked' && t.blocked_reason === 'dependencies');
  if (!waitsOnDeps) return { status: t.status, blocked_reason: t.blocked_reason };
  return t.unmet_deps > 0 ? { status: 'blocked', blocked_reason: 'dependencies' } : { status: 'pending', blocked_reason: null };
}

/** Resumes the root and every held task below it (`below` as for `decideHold`). */
export function decideResume(root: HoldTask, below: readonly HoldTask[], agentId: string | null): ResumeDecision {
  const held = [root, ...below].filter((t) => t.held_at !== null);
  if (held.length === 0) {
    throw new LoomError('INVALID_TRANSITION', `cannot resume task ${root.id}: it is not held${below.length > 0 ? ', nor is anything below it' : ''}`, {
      hint: 'only held work resumes; `loom list --held` shows what is held',
      details: { task_id: root.id, status: root.status },
    });
  }
  return resumeEach(held, agentId, (t) => (t.id === root.id ? {} : { by: root.id }));
}

/** Resumes each of these held tasks to the status it would have now; `extra` adds to each task.resumed payload. */
export function resumeEach(held: readonly HoldTask[], agentId: string | null, extra: (t: HoldTask) => JsonObject): ResumeDecision {
  const resumed: Resumed[] = [];
  const events: NewEvent[] = [];
  for (const t of held) {
    const next = statusOnResume(t);
    resumed.push({ id: t.id, ...next });
    events.push({ type: 'task.resumed', task_id: t.id, agent_id: agentId, payload: { status: next.status, ...extra(t) } });
    // Every status change has its status-bearing event (fsck reads the latest one).
    if (next.status !== t.status) {
      events.push({ type: next.status === 'pending' ? 'task.unblocked' : 'task.blocked', task_id: t.id, agent_id: agentId, payload: { reason: 'resumed' } });
    }
  }
  return { resumed, events };
}
