import { Redis, type RedisOptions } from 'ioredis';
import type { LoomEvent } from '../../domain/events.js';
import type { EventBus, EventHandler } from '../../ports/event-bus.js';
import { quit, redactedUrl, untilSettledOrError, whenReady, withTimeout } from './connection.js';
import { OutageLog } from './outage-log.js';
import { RecentIds } from './recent-ids.js';

export interface RedisEventBusOptions {
  /** `redis://[user:password@]host:port[/db]` */
  url: string;
  /** Prepended to every key and channel, so several Looms (or tests) can share one Redis. */
  keyPrefix?: string;
  /** Approximate cap (`XADD MAXLEN ~`) on each project's event stream. */
  streamMaxLen?: number;
  /** How many recent event ids per subscribed project are remembered to drop duplicates. */
  dedupeWindow?: number;
  /** Where the bus reports its own trouble (outages, throwing subscribers); stderr by default. */
  log?: (line: string) => void;
}

interface ProjectChannel {
  projectId: string;
  handlers: Set<EventHandler>;
  recent: RecentIds;
}

interface Outgoing {
  key: string;
  id: string;
  json: string;
}

/** Publishes wait at most this long for a SUBSCRIBE of this bus to be acknowledged. */
const SUBSCRIBE_GATE_MS = 2_000;

/**
 * The event bus of server mode: every Loom process on every machine shares
 * one Redis. Each event is appended to its project's stream
 * (`{prefix}events:{project}`, for replay by cursor) and published on the
 * channel of the same name (for instant fan-out), both in one pipeline per
 * `publish` call. Redis holds derived data only: when it is unreachable,
 * events are dropped (logged once per outage) and the event log in Postgres
 * stays the source of truth.
 *
 * Subscribers share one dedicated subscriber connection, hear events from
 * every process (this one included) in the order Redis delivers them, and
 * never see the same event id twice in a row of recent ids.
 */
export class RedisEventBus implements EventBus {
  private readonly url: string;
  private readonly prefix: string;
  private readonly streamMaxLen: number;
  private readonly dedupeWindow: number;
  private readonly log: (line: string) => void;
  private readonly publisher: Redis;
  private subscriber: Redis | undefined;
  private readonly publishing: OutageLog;
  private readonly listening: OutageLog;
  /** Subscribed projects, by channel name. */
  private readonly channels = new Map<string, ProjectChannel>();
  /**
   * Set while a SUBSCRIBE of this bus awaits its acknowledgement: publishes
   * queue behind it, so an event published after `subscribe` returned reaches
   * that subscriber even though SUBSCRIBE and PUBLISH use different connections.
   */
  private gate: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: RedisEventBusOptions) {
    this.url = options.url;
    this.prefix = options.keyPrefix ?? 'loom:';
    this.streamMaxLen = options.streamMaxLen ?? 10_000;
    this.dedupeWindow = options.dedupeWindow ?? 10_000;
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    if (!Number.isInteger(this.streamMaxLen) || this.streamMaxLen < 1) {
      throw new RangeError(`streamMaxLen must be a positive integer, got ${this.streamMaxLen}`);
    }
    const where = redactedUrl(this.url);
    this.publishing = new OutageLog(
      {
        failing: `redis event bus: cannot publish to ${where}`,
        meanwhile: 'events are dropped',
        recovered: `redis event bus: publishing to ${where} works again`,
      },
      this.log,
    );
    this.listening = new OutageLog(
      {
        failing: `redis event bus: cannot listen on ${where}`,
        meanwhile: 'events of other processes are missed',
        recovered: `redis event bus: listening on ${where} again`,
      },
      this.log,
    );
    this.publisher = this.connect('loom-events-pub', {
      // Fire and forget: a publish queued while Redis is down is given up
      // after one failed reconnect instead of piling up in memory.
      maxRetriesPerRequest: 1,
    });
    this.publisher.on('error', (e: unknown) => {
      if (this.closing === undefined) this.publishing.fail(e);
    });
    this.publisher.on('ready', () => this.publishing.recover());
  }

  publish(events: readonly LoomEvent[]): void {
    if (this.closing !== undefined || events.length === 0) return;
    // Serialised now: the caller may reuse its objects once publish returns.
    const batch: Outgoing[] = events.map((e) => ({ key: this.keyOf(e.project_id), id: String(e.id), json: JSON.stringify(e) }));
    if (this.gate === undefined) this.send(batch);
    else this.after(() => this.send(batch));
  }

  subscribe(projectId: string, handler: EventHandler): () => void {
    if (this.closing !== undefined) return () => {};
    const channel = this.keyOf(projectId);
    let project = this.channels.get(channel);
    if (project === undefined) {
      project = { projectId, handlers: new Set(), recent: new RecentIds(this.dedupeWindow) };
      this.channels.set(channel, project);
      const subscriber = this.subscriberConnection();
      const acknowledged = subscriber.subscribe(channel).then(
        () => {},
        (e: unknown) => this.listening.fail(e),
      );
      // Holding publishes is pointless once the subscriber cannot reach Redis.
      this.after(() => (this.listening.isDown ? undefined : withTimeout(untilSettledOrError(acknowledged, subscriber), SUBSCRIBE_GATE_MS)));
    }
    const subscribed = project;
    subscribed.handlers.add(handler);
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      subscribed.handlers.delete(handler);
      if (subscribed.handlers.size > 0 || this.channels.get(channel) !== subscribed) return;
      this.channels.delete(channel);
      if (this.closing === undefined) {
        this.subscriber?.unsubscribe(channel).catch((e: unknown) => this.listening.fail(e));
      }
    };
  }

  /**
   * Resolves once both connections are up and every subscription made so far
   * is acknowledged by Redis (from then on, events any process publishes reach
   * this bus's subscribers); rejects with the connection error otherwise.
   */
  async ready(): Promise<void> {
    await Promise.all([whenReady(this.publisher), whenReady(this.subscriberConnection())]);
    await this.gate;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.gate; // publishes held for a pending SUBSCRIBE still go out
      this.channels.clear();
      await Promise.all([quit(this.publisher), this.subscriber === undefined ? undefined : quit(this.subscriber)]);
    })();
    return this.closing;
  }

  private keyOf(projectId: string): string {
    return `${this.prefix}events:${projectId}`;
  }

  /** Connections open on first use: a process that only listens (or only publishes) opens one. */
  private connect(name: string, options: RedisOptions): Redis {
    return new Redis(this.url, { connectionName: name, lazyConnect: true, ...options });
  }

  /** The subscriber connection, made on first need. */
  private subscriberConnection(): Redis {
    if (this.subscriber !== undefined) return this.subscriber;
    const subscriber = this.connect('loom-events-sub', {
      // SUBSCRIBE waits out an outage instead of failing (a failed SUBSCRIBE
      // would silently never be retried); ioredis resubscribes on reconnect.
      maxRetriesPerRequest: null,
      autoResubscribe: true,
    });
    subscriber.on('error', (e: unknown) => {
      if (this.closing === undefined) this.listening.fail(e);
    });
    subscriber.on('ready', () => this.listening.recover());
    subscriber.on('message', (channel: string, message: string) => this.deliver(channel, message));
    this.subscriber = subscriber;
    return subscriber;
  }

  /** Runs `step` once everything queued behind the gate has run. */
  private after(step: () => unknown): void {
    const next: Promise<void> = (this.gate ?? Promise.resolve())
      .then(step)
      .then(
        () => {},
        () => {},
      )
      .then(() => {
        if (this.gate === next) this.gate = undefined;
      });
    this.gate = next;
  }

  private send(batch: readonly Outgoing[]): void {
    if (this.publishing.isDown && this.publisher.status !== 'ready') {
      this.publishing.drop(batch.length);
      return;
    }
    const pipeline = this.publisher.pipeline();
    for (const { key, id, json } of batch) {
      pipeline.xadd(key, 'MAXLEN', '~', this.streamMaxLen, '*', 'id', id, 'event', json);
      pipeline.publish(key, json);
    }
    pipeline.exec().then(
      (results) => {
        const failure = results?.find(([error]) => error !== null)?.[0];
        if (failure) this.publishing.fail(failure, batch.length);
        else if (this.publisher.status === 'ready') this.publishing.recover();
      },
      (e: unknown) => this.publishing.fail(e, batch.length),
    );
  }

  private deliver(channel: string, message: string): void {
    const project = this.channels.get(channel);
    if (project === undefined) return; // unsubscribed while the message was on its way
    const event = parseEvent(message);
    if (event === undefined || event.project_id !== project.projectId) {
      this.log(`redis event bus: ignored a malformed message on ${channel}: ${message.slice(0, 200)}`);
      return;
    }
    if (!project.recent.add(event.id)) return;
    for (const handler of [...project.handlers]) {
      if (!project.handlers.has(handler)) continue; // unsubscribed by an earlier handler
      try {
        handler(event);
      } catch (e) {
        this.log(`redis event bus: a subscriber of project ${project.projectId} failed on event ${event.id} (${event.type}): ${(e as Error)?.message ?? String(e)}`);
      }
    }
  }
}

function parseEvent(message: string): LoomEvent | undefined {
  try {
    const value: unknown = JSON.parse(message);
    if (typeof value !== 'object' || value === null) return undefined;
    const e = value as Partial<LoomEvent>;
    if (typeof e.id !== 'number' || typeof e.project_id !== 'string' || typeof e.type !== 'string') return undefined;
    return value as LoomEvent;
  } catch {
    return undefined;
  }
}
