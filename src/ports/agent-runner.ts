import type { ServiceIdentifier } from 'inversify';
import type { Task } from '../domain/task.js';

/**
 * Runs one claimed task as an agent process (the dispatcher's driven port).
 * The runner only runs and stops processes; the dispatcher owns the claim,
 * the heartbeats and what gets recorded.
 */
export interface AgentRunner {
  start(job: RunJob): RunningJob;
}
export const AgentRunner: ServiceIdentifier<AgentRunner> = Symbol.for('loom.AgentRunner');

export interface RunJob {
  task: Task;
  /** The lease the dispatcher holds: the process may report through the CLI with it. */
  lease_token: string;
  /** The agent id the lease was claimed under (what `loom done --agent` is given). */
  agent_id: string;
  project_id: string;
  project_dir: string;
  /** Wall-clock limit; on expiry the runner kills the job itself (outcome `killed`, reason `timeout`). */
  timeout_ms: number | null;
}

export type KillReason = 'timeout' | 'shutdown' | 'lease_lost';

export interface RunningJob {
  /** Undefined when the process could not be started. */
  pid: number | undefined;
  /** Settles once the process and everything it started are gone; never rejects. */
  result: Promise<RunOutcome>;
  /** Stops the job; resolves only when its whole process tree is verified gone. Idempotent. */
  kill(reason: KillReason): Promise<void>;
}

export type RunOutcome =
  | { kind: 'exited'; code: number; stdout: string; stderr_tail: string }
  | { kind: 'killed'; reason: KillReason }
  | { kind: 'spawn_failed'; message: string };
