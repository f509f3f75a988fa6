import type { EventType } from './events.js';

/** The counters of a project, each the number of its events of one type since the project began. */
export const METRIC_COUNTERS = {
  claims: 'task.claimed',
  completions: 'task.done',
  failures: 'task.failed',
  lease_expiries: 'task.lease_expired',
  retries: 'task.retrying',
  dead_letters: 'task.dead_lettered',
} as const satisfies Record<string, EventType>;

export type MetricCounter = keyof typeof METRIC_COUNTERS;

/**
 * Upper bounds (seconds) of the claim-to-done histogram: agent work takes
 * seconds to hours, so the buckets run from 1 s to a day.
 */
export const CLAIM_TO_DONE_BUCKETS_S = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800, 86400] as const;
