import { LoomError } from './errors.js';
import type { Escalation } from './escalation.js';
import type { NewEvent } from './events.js';
import { isLeaseExpired } from './lease.js';
import type { JsonObject, Task } from './task.js';
import { assertTransition } from './transitions.js';

/** Orchestration policy: when work counts as stuck, and when an agent counts as gone. */
export interface OrchestrationPolicy {
  /** A claimed task whose agent keeps heartbeating but reports no progress for this long is escalated. */
  stuck_after_ms: number;
  /** A task whose lease ran out this many times is escalated instead of requeued again. */
  max_lease_expiries: number;
  /** Seen within this long (or holding a claim): active; else idle. */
  agent_idle_after_ms: number;
  /** Not seen for this long: gone (its leases still just expire; nothing is taken early). */
  agent_gone_after_ms: number;
}

export const DEFAULT_ORCHESTRATION: OrchestrationPolicy = {
  stuck_after_ms: 2 * 3600_000,
  max_lease_expiries: 3,
  agent_idle_after_ms: 5 * 60_000,
  agent_gone_after_ms: 60 * 60_000,
};

/** Claimed, lease still alive (so heartbeats continue), yet no progress for longer than the policy allows. */
export function isStuck(task: Pick<Task, 'status' | 'lease_expires_at' | 'progress_at'>, now: Date, policy: OrchestrationPolicy): boolean {
  if (task.status !== 'claimed' || isLeaseExpired(task, now) || task.progress_at === null) return false;
  return now.getTime() - Date.parse(task.progress_at) > policy.stuck_after_ms;
}

/** A lease that has now run out this many times means the task keeps bouncing between agents. */
export const bouncedTooOften = (expiries: number, policy: OrchestrationPolicy): boolean => expiries >= policy.max_lease_expiries;

export type AgentStatus = 'active' | 'idle' | 'gone';

export function agentStatus(lastSeen: string, claims: number, now: Date, policy: OrchestrationPolicy): AgentStatus {
  const silent = now.getTime() - Date.parse(lastSeen);
  if (silent > policy.agent_gone_after_ms) return 'gone';
  return claims > 0 || silent <= policy.agent_idle_after_ms ? 'active' : 'idle';
}

/** A dead letter goes back to the queue with its attempts reset. */
export function decideRedrive(task: Task, now: Date, by: string | null): { task: Task; events: NewEvent[] } {
  if (task.status !== 'failed') {
    throw new LoomError('INVALID_TRANSITION', `cannot redrive task ${task.id}: it is ${task.status}, not failed`, {
      hint: 'only dead letters (failed tasks) are redriven; `loom dlq` lists them',
      details: { task_id: task.id, status: task.status },
    });
  }
  const waiting = task.unmet_deps > 0;
  assertTransition(task.id, task.status, 'pending', 'redrive');
  return {
    task: {
      ...task,
      status: waiting ? 'blocked' : 'pending',
      blocked_reason: waiting ? 'dependencies' : null,
      attempts: 0,
      expiry_count: 0,
      run_after: null,
      failure_reason: null,
      updated_at: now.toISOString(),
    },
    events: [{ type: 'task.redriven', task_id: task.id, agent_id: by, payload: { previous_failure: task.failure_reason, attempts: task.attempts } }],
  };
}

export const RESOLVE_ACTIONS = ['retry', 'cancel', 'done', 'unblock'] as const;
export type ResolveAction = (typeof RESOLVE_ACTIONS)[number];

/** The escalation closed with the action a person chose. */
export function decideEscalationResolved(
  escalation: Escalation,
  action: ResolveAction,
  note: string | undefined,
  by: string | null,
  now: Date,
): { escalation: Escalation; event: NewEvent } {
  if (escalation.status !== 'open') {
    throw new LoomError('INVALID_TRANSITION', `escalation ${escalation.id} is already resolved (${escalation.resolution ?? 'no note'})`, {
      hint: '`loom escalations` lists the open ones',
      details: { escalation_id: escalation.id },
    });
  }
  const resolution = note === undefined ? action : `${action}: ${note}`;
  return {
    escalation: { ...escalation, status: 'resolved', resolution, resolved_at: now.toISOString() },
    event: { type: 'escalation.resolved', task_id: escalation.task_id, agent_id: by, payload: { escalation_id: escalation.id, action, note: note ?? null } },
  };
}

/**
 * A person marks a task done (from any open or failed state), with the
 * output they give. This is the one way a task may be done while some of its
 * dependencies are not: the event records it (`by_hand`, and how many were
 * open), so `loom fsck` knows it for an override, not a broken invariant.
 */
export function decideDoneByHand(task: Task, output: JsonObject | undefined, now: Date, by: string | null): { task: Task; events: NewEvent[] } {
  assertTransition(task.id, task.status, 'done', 'mark done');
  return {
    task: { ...task, status: 'done', output: output ?? {}, blocked_reason: null, assignee: null, lease_token: null, lease_expires_at: null, run_after: null, updated_at: now.toISOString() },
    events: [
      {
        type: 'task.done',
        task_id: task.id,
        agent_id: by,
        payload: { by_hand: true, has_output: output !== undefined, ...(task.unmet_deps > 0 ? { override: true, unmet_dependencies: task.unmet_deps } : {}) },
      },
    ],
  };
}

/** A person lets an escalated task run again: back to the queue (or to waiting on its dependencies). */
export function decideUnblock(task: Task, now: Date, by: string | null, resetAttempts: boolean): { task: Task; events: NewEvent[] } {
  const waiting = task.unmet_deps > 0;
  const to = waiting ? 'blocked' : 'pending';
  assertTransition(task.id, task.status, to, 'unblock');
  return {
    task: {
      ...task,
      status: to,
      blocked_reason: waiting ? 'dependencies' : null,
      assignee: null,
      lease_token: null,
      lease_expires_at: null,
      run_after: null,
      ...(resetAttempts ? { attempts: 0, expiry_count: 0 } : {}),
      updated_at: now.toISOString(),
    },
    events: [{ type: waiting ? 'task.blocked' : 'task.unblocked', task_id: task.id, agent_id: by, payload: { by_hand: true } }],
  };
}
