import type { FailurePolicy } from '../../domain/task.js';
import type { OrchestrationPolicy } from '../../domain/policy.js';
import type { RetryPolicy } from '../../domain/retry.js';
import type { Clock } from '../../ports/clock.js';
import type { EventBus } from '../../ports/event-bus.js';
import type { IdGenerator } from '../../ports/id-generator.js';
import type { TaskCache } from '../../ports/task-cache.js';
import type { TaskStore } from '../../ports/task-store.js';
import type { SkillRegistry } from '../skills/skill-registry.js';
import type { WorkflowRegistry } from '../workflows/workflow-registry.js';
import type { RecentTasks } from './recent-tasks.js';

export interface TaskSettings {
  /** Stuck work, bouncing tasks and agent liveness. */
  orchestration: OrchestrationPolicy;
  max_attempts: number;
  lease_seconds: number;
  failure_policy: FailurePolicy;
  retry: RetryPolicy;
  /** Largest `context` of a task, in bytes of JSON (config tasks.max_context_bytes). */
  max_context_bytes: number;
  /** Largest `output` a report may carry, in bytes of JSON (config tasks.max_output_bytes). */
  max_output_bytes: number;
}

/** What every use case runs against: ports only, wired by the composition root. */
export interface UseCaseDeps {
  store: TaskStore;
  clock: Clock;
  ids: IdGenerator;
  bus: EventBus;
  settings: TaskSettings;
  /** Rows this process just wrote: lets a report skip its read (revision-guarded). */
  recent?: RecentTasks;
  /** Server mode's read cache (Redis): `ready` asks it first and reads Postgres on a miss. */
  cache?: TaskCache;
  /** Told of each cache miss, so the cache gets filled for the next read. */
  cacheMissed?: (projectId: string) => void;
  /** The skills this process serves (builtin, plugins, user, project). */
  skills?: SkillRegistry;
  /** The workflows this process serves (the same kinds of sources as skills). */
  workflows?: WorkflowRegistry;
  /** The project's directory (where .loom/ is): spec files and the file tree are read there. Null when the service has none. */
  projectDir?: string | null;
  /** The project whose directory projectDir is (a server may serve others: their spec files are not there). */
  projectDirOf?: string | null;
}
