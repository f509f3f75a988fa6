import type { NewEvent } from './events.js';
import { giveBackLease } from './deciders.js';
import type { Task } from './task.js';

/**
 * Rate-limited failures: the agent's provider said "not now, try after
 * reset_at". That is not the task failing, so it uses no attempt (the one the
 * claim counted is given back) and the task waits, ready again at reset_at.
 */

/** The furthest ahead a reset is believed: past it, the task is ready again after a day. */
export const MAX_RATE_LIMIT_WAIT_MS = 24 * 60 * 60 * 1000;

export type ResetClamp = 'past' | 'too_far' | null;

/** A reset time in the past becomes now; one more than a day ahead becomes a day ahead. */
export function clampResetAt(requested: Date, now: Date): { reset_at: Date; clamped: ResetClamp } {
  if (requested.getTime() < now.getTime()) return { reset_at: now, clamped: 'past' };
  if (requested.getTime() - now.getTime() > MAX_RATE_LIMIT_WAIT_MS) return { reset_at: new Date(now.getTime() + MAX_RATE_LIMIT_WAIT_MS), clamped: 'too_far' };
  return { reset_at: requested, clamped: null };
}

export interface RateLimitedInput {
  token: string;
  agentId: string;
  reason: string;
  reset_at: Date;
}

/**
 * Ends the lease of a rate-limited task: back to pending (blocked when a
 * dependency was added while it ran), its attempt given back, ready again at
 * the (clamped) reset time. One `task.rate_limited` event, which says when a
 * reset was clamped.
 */
export function decideRateLimited(task: Task, input: RateLimitedInput, now: Date): { task: Task; events: NewEvent[]; clamped: ResetClamp } {
  const given = giveBackLease(task, input.token, now, 'retry');
  const { reset_at, clamped } = clampResetAt(input.reset_at, now);
  const resetIso = reset_at.toISOString();
  return {
    clamped,
    task: { ...given, run_after: resetIso, failure_reason: input.reason },
    events: [
      {
        type: 'task.rate_limited',
        task_id: task.id,
        agent_id: input.agentId,
        payload: {
          reason: input.reason,
          reset_at: resetIso,
          ...(clamped === null ? {} : { clamped, requested_reset_at: input.reset_at.toISOString() }),
          attempts: given.attempts,
          max_attempts: task.max_attempts,
        },
      },
    ],
  };
}
