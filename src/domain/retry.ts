export interface RetryPolicy {
  /** Delay before the first retry. */
  base_ms: number;
  /** Growth per attempt. */
  factor: number;
  /** Upper bound of any delay. */
  max_ms: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { base_ms: 5_000, factor: 2, max_ms: 10 * 60_000 };
export const DEFAULT_MAX_ATTEMPTS = 3;

/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half is
 * random, so retries of many tasks spread out but never come back at once.
 * `random` returns a number in [0, 1) and is injected to keep this pure.
 */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const exp = policy.base_ms * policy.factor ** Math.max(0, attempt - 1);
  const capped = Math.min(policy.max_ms, exp);
  const r = Math.min(Math.max(random(), 0), 0.999999);
  return Math.round(capped / 2 + r * (capped / 2));
}

export type FailureDecision =
  | { outcome: 'retrying'; run_after: string; delay_ms: number }
  | { outcome: 'dead_lettered'; why: 'attempts_exhausted' | 'not_retryable' };

/** A failed attempt retries with backoff until attempts run out; a permanent failure never retries. */
export function decideFailure(
  attempts: number,
  maxAttempts: number,
  retryable: boolean,
  now: Date,
  policy: RetryPolicy,
  random: () => number,
): FailureDecision {
  if (!retryable) return { outcome: 'dead_lettered', why: 'not_retryable' };
  if (attempts >= maxAttempts) return { outcome: 'dead_lettered', why: 'attempts_exhausted' };
  const delay = backoffDelayMs(attempts, policy, random);
  return { outcome: 'retrying', run_after: new Date(now.getTime() + delay).toISOString(), delay_ms: delay };
}
