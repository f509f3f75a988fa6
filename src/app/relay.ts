import type { LoomEvent } from '../domain/events.js';
import type { EventBus, EventHandler } from '../ports/event-bus.js';
import type { EventSink, OutboxStore, RelayedEvent, RelayReader } from '../ports/outbox.js';
import type { TaskCache } from '../ports/task-cache.js';

export interface RelayOptions {
  outbox: OutboxStore;
  sink: EventSink;
  /** Refreshed after every batch: each touched project's ready head and touched tasks. */
  cache?: TaskCache;
  /** The relay target's cursor name. */
  name?: string;
  batchSize?: number;
  /**
   * How often an idle relay looks (one cheap statement) for events it was
   * not nudged about: those of processes that do not relay, and those held
   * back by an open transaction when the nudged pass ran.
   */
  pollMs?: number;
  /** How many ready tasks of a project the cache holds. */
  headSize?: number;
  log?: (line: string) => void;
}

/** Longest wait between attempts while Redis (or Postgres) is failing. */
const MAX_BACKOFF_MS = 2_000;
/** First wait before looking again at events held back by an open transaction. */
const STALL_RETRY_MS = 10;
/** A project's cache is filled on a miss at most this often. */
const WARM_EVERY_MS = 1_000;
/** Another relay holds the lock: look again this soon, so a nudge is not lost to its last pass. */
const LOCKED_RETRY_MS = 10;

/**
 * The outbox relay: moves committed events from Postgres to the event sink
 * (Redis), in relay order, each once, and keeps the cache in step. Every
 * long-lived Loom process of server mode runs one; the database lets one
 * pass run at a time across all of them, so they share the work safely.
 *
 * A pass runs when this process commits something (`nudge`), when an idle
 * relay's peek every `pollMs` finds events past the cursor (those of
 * processes that do not relay), again soon while events wait behind an open
 * transaction, and back to back while batches come full. While
 * the sink fails, events wait in Postgres: the relay backs off, logs the
 * outage once and catches up when the sink answers again, forgetting the
 * cache first since it missed the changes.
 */
export class OutboxRelay {
  private readonly name: string;
  private readonly batchSize: number;
  private readonly pollMs: number;
  private readonly headSize: number;
  private readonly log: (line: string) => void;
  private running: Promise<void> | undefined;
  private again = false;
  /** A nudge not yet answered by a pass of this relay: while another relay holds the lock, look again soon. */
  private nudged = false;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private cacheFailing = false;
  private closed = false;
  private published = 0;
  private stallMs = STALL_RETRY_MS;
  private readonly warmed = new Map<string, number>();
  private readonly warming = new Set<Promise<void>>();

  constructor(private readonly o: RelayOptions) {
    this.name = o.name ?? 'redis';
    this.batchSize = o.batchSize ?? 500;
    this.pollMs = o.pollMs ?? 250;
    this.headSize = o.headSize ?? 100;
    this.log = o.log ?? ((line) => process.stderr.write(`${line}\n`));
  }

  /** Starts polling (the timer never keeps the process alive). */
  start(): void {
    this.schedule(0);
  }

  /** Events were just committed here: relay them now rather than at the next poll. */
  nudge(): void {
    if (this.closed) return;
    this.nudged = true;
    // While the sink fails, the backoff timer decides: a busy writer must not turn every commit into
    // a pass that fails.
    if (this.failures > 0) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  /**
   * A read found no usable head for this project in the cache (a cold or
   * invalidated cache, a project no batch touched lately): fill it, off the
   * read path, at most one fill per project at a time and per WARM_EVERY_MS.
   */
  warm(projectId: string): void {
    const cache = this.o.cache;
    if (cache === undefined || this.closed || this.failures > 0) return;
    const last = this.warmed.get(projectId);
    if (last !== undefined && Date.now() - last < WARM_EVERY_MS) return;
    this.warmed.set(projectId, Date.now());
    const filling = this.o.outbox
      .readyHeadNow(this.name, projectId, this.headSize)
      .then(({ position, tasks }) => cache.storeHead(projectId, { position, tasks, complete: tasks.length < this.headSize }))
      .catch(() => {}) // Redis or Postgres away: reads keep going to Postgres; the relay reports outages
      .finally(() => this.warming.delete(filling));
    this.warming.add(filling);
  }

  /** Events published by this relay since it started. */
  get publishedCount(): number {
    return this.published;
  }

  /** True while the sink (or the database) is failing. */
  get failing(): boolean {
    return this.failures > 0;
  }

  /**
   * Runs passes until nothing is due, another relay has the lock, or
   * `timeoutMs` passed: what a short-lived process does before it exits, so
   * its events go out now. Never throws.
   */
  async flush(timeoutMs = 1_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await this.running;
    while (!this.closed && Date.now() < deadline) {
      const outcome = await this.pass();
      if (outcome !== 'full') return;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running;
    await Promise.all(this.warming);
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), ms);
    this.timer.unref();
  }

  private tick(): void {
    if (this.running !== undefined || this.closed) return;
    this.running = (async () => {
      let next = this.pollMs;
      for (;;) {
        this.again = false;
        // Idle and nobody nudged: one cheap look before a whole pass.
        if (!this.nudged && this.failures === 0 && !(await this.peek())) {
          this.stallMs = STALL_RETRY_MS;
          break;
        }
        const outcome = await this.pass();
        if (outcome === 'failed') {
          next = Math.min(MAX_BACKOFF_MS, this.pollMs * 2 ** Math.min(this.failures, 10));
          break;
        }
        if (outcome === 'locked') {
          // The holder's pass may have read the log before this process's commit.
          next = this.nudged ? LOCKED_RETRY_MS : this.pollMs;
          break;
        }
        if (outcome === 'full' || this.again) continue;
        if (outcome === 'empty') {
          // Events are committed but wait behind an open transaction (or another relay just took
          // them): look again soon, less often the longer it lasts.
          next = this.stallMs;
          this.stallMs = Math.min(this.pollMs, this.stallMs * 2);
        } else {
          this.stallMs = STALL_RETRY_MS;
        }
        break;
      }
      this.running = undefined;
      this.schedule(next);
    })();
  }

  private async peek(): Promise<boolean> {
    try {
      return await this.o.outbox.hasPending(this.name);
    } catch {
      return true; // let the pass run into the failure, back off and report it
    }
  }

  private async pass(): Promise<'full' | 'done' | 'empty' | 'locked' | 'failed'> {
    try {
      const pass = await this.o.outbox.relayPass(this.name, this.batchSize, (batch, reader) => this.publish(batch, reader));
      // Only a pass that published proves the sink works again (an empty one never reached it).
      if (this.failures > 0 && pass.locked && pass.count > 0) {
        this.failures = 0;
        this.log(`relay: publishing events works again; caught up from the event log`);
      }
      if (!pass.locked) return 'locked';
      if (this.failures > 0 && pass.count === 0) {
        // Nothing was sent, so nothing proves Redis is back; unless another relay has since
        // published everything, which it could only do through Redis.
        if (await this.peek()) return 'failed';
        this.failures = 0;
        this.log('relay: the event log is out again (another process relayed it)');
        return 'empty';
      }
      this.nudged = false;
      this.published += pass.count;
      return pass.count === this.batchSize ? 'full' : pass.count === 0 ? 'empty' : 'done';
    } catch (e) {
      if (this.failures === 0) {
        this.log(`relay: cannot publish events (${describe(e)}); they wait in the event log and go out when it works again`);
      }
      this.failures++;
      return 'failed';
    }
  }

  private async publish(batch: readonly RelayedEvent[], reader: RelayReader): Promise<void> {
    const recovering = this.failures > 0;
    if (recovering && this.o.cache !== undefined) {
      // The cache missed every change made while the relay could not reach Redis.
      await this.o.cache.invalidateAll();
    }
    await this.o.sink.append(batch, reader.relayId);
    if (this.o.cache !== undefined) await this.refreshCache(this.o.cache, batch, reader);
  }

  /** Recomputes each touched project's ready head and stores its touched tasks; a cache failure never holds events back. */
  private async refreshCache(cache: TaskCache, batch: readonly RelayedEvent[], reader: RelayReader): Promise<void> {
    const position = batch[batch.length - 1]!.position;
    const touched = new Map<string, Set<string>>();
    for (const { event } of batch) {
      const tasks = touched.get(event.project_id) ?? new Set<string>();
      if (event.task_id !== null) tasks.add(event.task_id);
      touched.set(event.project_id, tasks);
    }
    try {
      for (const [projectId, taskIds] of touched) {
        const head = await reader.readyHead(projectId, this.headSize);
        await cache.storeHead(projectId, { position, tasks: head, complete: head.length < this.headSize });
        if (taskIds.size > 0) await cache.storeTasks(projectId, position, await reader.tasks(projectId, [...taskIds]));
      }
      if (this.cacheFailing) {
        this.cacheFailing = false;
        this.log('relay: the cache is updated again');
      }
    } catch (e) {
      if (!this.cacheFailing) {
        this.cacheFailing = true;
        this.log(`relay: cannot update the cache (${describe(e)}); reads go to Postgres until it is rebuilt`);
      }
      await cache.invalidateAll().catch(() => {});
    }
  }
}

/**
 * Server mode's event bus: what a process commits is relayed from the event
 * log (publish only nudges the relay), and subscribers hear every process's
 * events through Redis.
 */
export class RelayedEventBus implements EventBus {
  constructor(
    private readonly relay: OutboxRelay,
    private readonly sink: EventSink,
  ) {}

  publish(events: readonly LoomEvent[]): void {
    if (events.length > 0) this.relay.nudge();
  }

  subscribe(projectId: string, handler: EventHandler): () => void {
    return this.sink.subscribe(projectId, handler);
  }

  async close(): Promise<void> {
    await this.relay.flush();
    await this.relay.close();
    await this.sink.close();
  }
}

function describe(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length > 0) return describe(e.errors[0]);
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}
