import { DEFAULT_LEASE_SECONDS } from '../domain/lease.js';
import { DEFAULT_ORCHESTRATION } from '../domain/policy.js';
import { DEFAULT_MAX_ATTEMPTS, DEFAULT_RETRY_POLICY } from '../domain/retry.js';
import type { TaskSettings } from './use-cases/deps.js';

export const DEFAULT_TASK_SETTINGS: TaskSettings = {
  orchestration: DEFAULT_ORCHESTRATION,
  max_attempts: DEFAULT_MAX_ATTEMPTS,
  lease_seconds: DEFAULT_LEASE_SECONDS,
  failure_policy: 'block',
  retry: DEFAULT_RETRY_POLICY,
  max_context_bytes: 64 * 1024,
  max_output_bytes: 64 * 1024,
};

/** The most a config may allow for a context or an output: replies of list reads and the daemon stay bounded. */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;
