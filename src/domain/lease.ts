import { LoomError } from './errors.js';
import type { Lease, Task } from './task.js';

export const DEFAULT_LEASE_SECONDS = 300;
export const MAX_LEASE_SECONDS = 24 * 3600;

export function newLease(token: string, now: Date, seconds: number): Lease {
  return { token, expires_at: new Date(now.getTime() + seconds * 1000).toISOString() };
}

export function isLeaseExpired(task: Pick<Task, 'status' | 'lease_expires_at'>, now: Date): boolean {
  return task.status === 'claimed' && task.lease_expires_at !== null && Date.parse(task.lease_expires_at) <= now.getTime();
}

export type LeaseCheck = { ok: true } | { ok: false; error: LoomError } | { ok: 'already_done' };

/**
 * Fencing: a report about a claimed task must present its current, unexpired
 * lease. A report from an agent whose lease expired or was superseded is
 * refused with LEASE_LOST, so it changes nothing.
 */
export function checkLease(
  task: Pick<Task, 'id' | 'status' | 'lease_token' | 'lease_expires_at' | 'attempts'>,
  token: string,
  now: Date,
  opts: { allowDone?: boolean } = {},
): LeaseCheck {
  if (task.status === 'claimed') {
    if (task.lease_token !== token) {
      return { ok: false, error: leaseLost(task.id, 'another lease holds this task now') };
    }
    if (isLeaseExpired(task, now)) {
      return { ok: false, error: leaseLost(task.id, `the lease expired at ${task.lease_expires_at}`) };
    }
    return { ok: true };
  }
  if (opts.allowDone === true && task.status === 'done' && task.lease_token === token) return { ok: 'already_done' };
  if (task.attempts > 0) return { ok: false, error: leaseLost(task.id, `the task is ${task.status} now`) };
  return {
    ok: false,
    error: new LoomError('NOT_CLAIMED', `task ${task.id} is ${task.status}, not claimed`, {
      hint: `claim it first (loom claim ${task.id} --agent YOU) and use the lease token it returns`,
      details: { task_id: task.id, status: task.status },
    }),
  };
}

function leaseLost(taskId: string, why: string): LoomError {
  return new LoomError('LEASE_LOST', `your lease on ${taskId} is no longer valid: ${why}`, {
    hint: 'stop working on this task: it went back to the queue or to another agent. Nothing was recorded; claim new work with loom_claim / `loom claim`',
    details: { task_id: taskId },
  });
}
