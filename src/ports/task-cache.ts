import type { ServiceIdentifier } from 'inversify';
import type { Priority, Task } from '../domain/task.js';

/**
 * Where the outbox relay had got when it computed a cache entry: events are
 * relayed in (transaction id, event id) order, so a later position always
 * describes a later state. Both parts are decimal strings (xid8 exceeds a
 * JavaScript number's exact range in principle).
 */
export interface RelayPosition {
  tx: string;
  id: string;
}

/**
 * The head of a project's ready list as the relay computed it from Postgres
 * after a batch of events: pending tasks with no unmet dependencies in ready
 * order (priority, weight, age), including those still backing off
 * (`run_after` in the future: they become ready with time, without an
 * event, so a reader filters them by its own clock).
 */
export interface ReadyHead {
  position: RelayPosition;
  /** In ready order. Tasks as anyone may see them (no lease tokens). */
  tasks: Task[];
  /** True when `tasks` is the whole ready list; false when it was cut at the head size. */
  complete: boolean;
}

/**
 * Derived, disposable copies of what Postgres holds, for fast reads in
 * server mode (Redis). Never a source of truth: every miss, outage or doubt
 * is answered `undefined` and the caller reads Postgres; claims and writes
 * never consult it. Implementations never throw from reads.
 */
export interface TaskCache {
  /**
   * Ready tasks at `now` in ready order, at most `limit`, of one priority when
   * given: `undefined` when the cache cannot answer exactly (no head, a head
   * from before the last invalidation, too few entries left after filtering
   * a cut head, Redis unreachable).
   */
  ready(projectId: string, now: Date, limit: number, priority?: Priority): Promise<Task[] | undefined>;
  /** One task as last relayed, or `undefined` on a miss. */
  task(projectId: string, taskId: string): Promise<Task | undefined>;
  /**
   * Replaces the project's ready head unless the cache already holds one
   * from a later position (so a slower writer never overwrites newer data).
   * Rejects when Redis cannot be written.
   */
  storeHead(projectId: string, head: ReadyHead): Promise<void>;
  /** Stores task rows (unless a newer revision is cached); rejects when Redis cannot be written. */
  storeTasks(projectId: string, position: RelayPosition, tasks: readonly Task[]): Promise<void>;
  /**
   * Forgets everything cached so far (every project): used at relay start-up
   * and when the relay comes back after an outage, since changes made
   * meanwhile never reached the cache. Rejects when Redis cannot be written.
   */
  invalidateAll(): Promise<void>;
  close(): Promise<void>;
}
export const TaskCache: ServiceIdentifier<TaskCache> = Symbol.for('loom.TaskCache');
