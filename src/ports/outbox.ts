import type { ServiceIdentifier } from 'inversify';
import type { LoomEvent } from '../domain/events.js';
import type { EventHandler } from './event-bus.js';
import type { Task } from '../domain/task.js';
import type { RelayPosition } from './task-cache.js';

/** A committed event with its place in relay order. */
export interface RelayedEvent {
  event: LoomEvent;
  position: RelayPosition;
}

/** What a relay pass may read while it holds the relay lock. */
export interface RelayReader {
  /** The cursor's identity (one per database and relay target): names the sink's guard. */
  readonly relayId: string;
  /**
   * The head of a project's ready list (pending, no unmet dependencies,
   * backing-off tasks included) in ready order, at most `size`, without
   * lease tokens.
   */
  readyHead(projectId: string, size: number): Promise<Task[]>;
  /** Current rows of these tasks of one project (missing ids are left out), without lease tokens. */
  tasks(projectId: string, taskIds: readonly string[]): Promise<Task[]>;
}

export type RelayPass =
  /** Another relay holds the lock: it publishes, this one stands by. */
  | { locked: false }
  /** This relay published `count` events (0 when none were due) and the cursor is at `position`. */
  | { locked: true; count: number; position: RelayPosition };

export interface RelayLag {
  cursor: RelayPosition;
  relay_id: string;
  /** When the cursor last moved. */
  published_at: string;
  /** Committed events past the cursor. */
  pending: number;
  /** Commit time of the oldest of them, null when none. */
  oldest_at: string | null;
}

/**
 * The outbox side of the relay, in the database that holds the events: the
 * relay cursor, moved by one relay at a time (many processes on many
 * machines may run one; the database decides who publishes).
 */
export interface OutboxStore {
  /**
   * Under the relay lock (skipped at once when another relay holds it), hands
   * the next events past the cursor, in relay order and at most `limit`, to
   * `publish`; when it resolves the cursor moves past them in the same
   * transaction. When it rejects, nothing moves and the error is thrown.
   */
  relayPass(name: string, limit: number, publish: (batch: readonly RelayedEvent[], reader: RelayReader) => Promise<void>): Promise<RelayPass>;
  /**
   * A project's ready head as of now, with the relay cursor read in the same
   * snapshot: for filling the cache of a project no recent batch touched.
   */
  readyHeadNow(name: string, projectId: string, size: number): Promise<{ position: RelayPosition; tasks: Task[] }>;
  /**
   * Whether any committed event lies past the cursor (due or still behind an
   * open transaction): one cheap statement, for relays that are idle.
   */
  hasPending(name: string): Promise<boolean>;
  /** How far behind the relay is. */
  lag(name: string): Promise<RelayLag>;
  close(): Promise<void>;
}
export const OutboxStore: ServiceIdentifier<OutboxStore> = Symbol.for('loom.OutboxStore');

/**
 * Where relayed events go, and where every process hears them (Redis
 * streams and pub/sub): the relay appends, subscribers listen.
 */
export interface EventSink {
  /**
   * Appends the batch to each project's stream and fans it out, in the order
   * given. Idempotent per relay cursor (`relayId`): events at or before the
   * last position the sink accepted from that cursor are dropped, so a batch published again after a relay crashed
   * before moving its cursor reaches nobody twice. Rejects when the sink is
   * unreachable.
   */
  append(batch: readonly RelayedEvent[], relayId: string): Promise<void>;
  /** Events of one project relayed by any process, each once; returns the unsubscribe function. */
  subscribe(projectId: string, handler: EventHandler): () => void;
  close(): Promise<void>;
}
export const EventSink: ServiceIdentifier<EventSink> = Symbol.for('loom.EventSink');
