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
};
