import { LoomError } from './errors.js';
import type { TaskStatus } from './task.js';

/** The one table of legal status changes. Every use case goes through it. */
export const TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  pending: ['claimed', 'blocked', 'cancelled', 'done'],
  blocked: ['pending', 'blocked', 'cancelled', 'done'],
  claimed: ['done', 'pending', 'failed', 'blocked', 'cancelled'],
  failed: ['pending', 'blocked', 'cancelled', 'done'],
  epic: ['done', 'cancelled'],
  done: [],
  cancelled: [],
};

export const canTransition = (from: TaskStatus, to: TaskStatus): boolean => TRANSITIONS[from].includes(to);

export function assertTransition(taskId: string, from: TaskStatus, to: TaskStatus, action: string): void {
  if (canTransition(from, to)) return;
  const allowed = TRANSITIONS[from];
  throw new LoomError('INVALID_TRANSITION', `cannot ${action} task ${taskId}: it is ${from}`, {
    hint:
      allowed.length === 0
        ? `${from} is final; create a new task if more work is needed`
        : `from ${from} a task can only become ${allowed.join(', ')}`,
    details: { task_id: taskId, from, to },
  });
}
