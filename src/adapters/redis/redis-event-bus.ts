import { Redis, type RedisOptions } from 'ioredis';
import type { LoomEvent } from '../../domain/events.js';
import type { EventBus, EventHandler } from '../../ports/event-bus.js';
import type { EventSink, RelayedEvent } from '../../ports/outbox.js';
import type { RelayPosition } from '../../ports/task-cache.js';
import { quit, redactedUrl, untilSettledOrError, whenReady, withTimeout, DISCONNECT_TIMEOUT_MS } from './connection.js';
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
  /** Stream id of the newest entry delivered (or present when subscribing): where a replay resumes. */
  lastStreamId: string | undefined;
  /** Live messages held while a replay after a reconnect runs, so delivery stays in stream order. */
  held: string[] | undefined;
}

interface Outgoing {
  key: string;
  id: string;
  json: string;
  /** Relay order, zero-padded so that Lua compares it as a string; '' when unguarded. */
  position: string;
}

/**
 * Appends each event to its project's stream and publishes `<stream id> <json>`
 * on the channel of the same name, in one atomic step per batch. With a
 * position key (KEYS[1] non-empty), events at or before the last position
 * stored there are skipped: a relay that republishes a batch after a crash
 * reaches nobody twice.
 * ARGV: maxlen, then (key, event id, position, json) per event.
 */
const APPEND_LUA = `
local guard = KEYS[1] ~= ''
local last = ''
if guard then last = redis.call('GET', KEYS[1]) or '' end
local n = 0
for i = 2, #ARGV, 4 do
  local key, id, pos, json = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  if (not guard) or pos > last then
    local sid = redis.call('XADD', key, 'MAXLEN', '~', ARGV[1], '*', 'id', id, 'event', json)
    redis.call('PUBLISH', key, sid .. ' ' .. json)
    if guard then last = pos end
    n = n + 1
  end
end
if guard and n > 0 then redis.call('SET', KEYS[1], last) end
return n
`;

/** How long `append` waits for Redis before rejecting (the relay then retries the batch). */
const APPEND_TIMEOUT_MS = 2_000;
/**
 * A new subscription replays the stream from this long before it was made:
 * events appended while its SUBSCRIBE was on the way are not lost, at the
 * price of maybe hearing a few from just before (a subscriber of a live
 * feed takes them as news anyway). Clocks of machines further apart than
 * this can still lose that moment's events.
 */
const SUBSCRIBE_REPLAY_MARGIN_MS = 1_000;
/** Stream entries read per XRANGE while replaying after a reconnect. */
const REPLAY_PAGE = 500;

const pad = (digits: string): string => digits.padStart(20, '0');

type AppendCommand = (key: string, ...args: string[]) => Promise<number>;

/** Publishes wait at most this long for a SUBSCRIBE of this bus to be acknowledged. */
const SUBSCRIBE_GATE_MS = 2_000;

/**
 * Server mode's events over Redis: every Loom process on every machine
 * shares one Redis. Each event is appended to its project's stream
 * (`{prefix}events:{project}`, for replay by cursor) and published on the
 * channel of the same name as `<stream id> <event json>` (instant fan-out),
 * both in one Lua step per batch.
 *
 * The outbox relay feeds it through `append` (the EventSink port), which is
 * idempotent by relay position and rejects when Redis is unreachable, so
 * the relay keeps its cursor and nothing is lost. `publish` (the EventBus
 * port) is the direct, fire-and-forget path: dropped, logged once per
 * outage, when Redis is down.
 *
 * Subscribers share one dedicated subscriber connection, hear events from
 * every process (this one included) in the order Redis delivers them, never
 * see the same event id twice within the recent-ids window, and after a
 * reconnect are given what the streams got meanwhile before live messages.
 */
export class RedisEventBus implements EventBus, EventSink {
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
        meanwhile: 'live events to other processes pause (committed events wait in the event log)',
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
    this.publisher.defineCommand('loomAppend', { numberOfKeys: 1, lua: APPEND_LUA });
  }

  private get appendCommand(): AppendCommand {
    return (this.publisher as unknown as { loomAppend: AppendCommand }).loomAppend.bind(this.publisher);
  }

  publish(events: readonly LoomEvent[]): void {
    if (this.closing !== undefined || events.length === 0) return;
    // Serialised now: the caller may reuse its objects once publish returns.
    const batch: Outgoing[] = events.map((e) => ({ key: this.keyOf(e.project_id), id: String(e.id), json: JSON.stringify(e), position: '' }));
    if (this.gate === undefined) this.send(batch);
    else this.after(() => this.send(batch));
  }

  subscribe(projectId: string, handler: EventHandler): () => void {
    if (this.closing !== undefined) return () => {};
    const channel = this.keyOf(projectId);
    let project = this.channels.get(channel);
    if (project === undefined) {
      // Another process's relay does not wait for this SUBSCRIBE to take
      // effect: once it has, the stream gives what was appended since a
      // moment before this call (stream ids are Redis's clock in ms; the
      // margin covers the gap to this one), live messages held meanwhile.
      const since = `${Math.max(0, Date.now() - SUBSCRIBE_REPLAY_MARGIN_MS)}-0`;
      project = { projectId, handlers: new Set(), recent: new RecentIds(this.dedupeWindow), lastStreamId: since, held: [] };
      this.channels.set(channel, project);
      const subscriber = this.subscriberConnection();
      const joining = project;
      const acknowledged = (async () => {
        try {
          await subscriber.subscribe(channel);
        } catch (e) {
          this.listening.fail(e);
        }
        await this.replay(channel, joining);
      })();
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

  /**
   * The relay's way in: appends the batch in order, skipping what an earlier
   * (crashed) pass already appended, and resolves once Redis has it; rejects
   * when Redis is unreachable or slow, so the relay keeps its cursor.
   */
  async append(batch: readonly RelayedEvent[], relayId: string): Promise<void> {
    if (this.closing !== undefined) throw new Error('redis event bus: closed');
    if (batch.length === 0) return;
    // Between reconnect attempts there is nothing to wait for: fail now, and let the relay back off
    // (rather than hold its database connection until the next attempt).
    if (this.publisher.status === 'reconnecting') throw new Error(`redis event bus: ${redactedUrl(this.url)} is unreachable (reconnecting)`);
    const connected = await withTimeout(whenReady(this.publisher).then(() => true as const), APPEND_TIMEOUT_MS);
    if (connected === undefined) throw new Error(`redis event bus: ${redactedUrl(this.url)} did not answer within ${APPEND_TIMEOUT_MS} ms`);
    const args: string[] = [String(this.streamMaxLen)];
    for (const { event, position } of batch) {
      args.push(this.keyOf(event.project_id), String(event.id), `${pad(position.tx)}:${pad(position.id)}`, JSON.stringify(event));
    }
    const sent = this.appendCommand(this.guardKey(relayId), ...args);
    const done = await withTimeout(sent.then(() => true as const), APPEND_TIMEOUT_MS);
    if (done === undefined) throw new Error(`redis event bus: ${redactedUrl(this.url)} did not answer within ${APPEND_TIMEOUT_MS} ms`);
  }

  /**
   * The last relay position Redis accepted (the guard `append` checks), or
   * null when it has none: for `loom doctor`, which compares it with the
   * database's relay cursor (a database restored from a backup is behind it,
   * and its events would be dropped until they pass it).
   */
  async lastAppended(relayId: string): Promise<RelayPosition | null> {
    const value = await this.publisher.get(this.guardKey(relayId));
    const m = value === null ? null : /^(\d+):(\d+)$/.exec(value);
    if (m === null) return null;
    return { tx: BigInt(m[1]!).toString(), id: BigInt(m[2]!).toString() };
  }

  /** Where the last position accepted from one relay cursor is kept. */
  private guardKey(relayId: string): string {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(relayId)) throw new RangeError(`relay id must be 1-64 letters, digits, _ or -, got ${JSON.stringify(relayId)}`);
    return `${this.prefix}relay:position:${relayId}`;
  }

  private keyOf(projectId: string): string {
    return `${this.prefix}events:${projectId}`;
  }

  /** Connections open on first use: a process that only listens (or only publishes) opens one. */
  private connect(name: string, options: RedisOptions): Redis {
    return new Redis(this.url, { connectionName: name, lazyConnect: true, disconnectTimeout: DISCONNECT_TIMEOUT_MS, ...options });
  }

  /** The subscriber connection, made on first need. */
  private subscriberConnection(): Redis {
    if (this.subscriber !== undefined) return this.subscriber;
    let connectedBefore = false;
    const subscriber = this.connect('loom-events-sub', {
      // SUBSCRIBE waits out an outage instead of failing (a failed SUBSCRIBE
      // would silently never be retried); ioredis resubscribes on reconnect.
      maxRetriesPerRequest: null,
      autoResubscribe: true,
    });
    subscriber.on('error', (e: unknown) => {
      if (this.closing === undefined) this.listening.fail(e);
    });
    // A dropped connection may reconnect before any attempt errors: still an outage for listeners.
    subscriber.on('close', () => {
      if (this.closing === undefined && connectedBefore) this.listening.fail(new Error('connection lost'));
    });
    subscriber.on('ready', () => {
      this.listening.recover();
      // Back after a dropped connection: what was published meanwhile is in
      // the streams, not in the channels.
      if (connectedBefore) void this.replayAll(subscriber);
      connectedBefore = true;
    });
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
    const args: string[] = [String(this.streamMaxLen)];
    for (const { key, id, json, position } of batch) args.push(key, id, position, json);
    this.appendCommand('', ...args).then(
      () => {
        if (this.publisher.status === 'ready') this.publishing.recover();
      },
      (e: unknown) => this.publishing.fail(e, batch.length),
    );
  }

  private deliver(channel: string, message: string): void {
    const project = this.channels.get(channel);
    if (project === undefined) return; // unsubscribed while the message was on its way
    if (project.held !== undefined) {
      project.held.push(message);
      return;
    }
    const space = message.indexOf(' ');
    this.deliverEntry(channel, project, message.slice(0, space), message.slice(space + 1));
  }

  private deliverEntry(channel: string, project: ProjectChannel, streamId: string, json: string): void {
    const event = parseEvent(json);
    if (event === undefined || event.project_id !== project.projectId || !/^\d+-\d+$/.test(streamId)) {
      this.log(`redis event bus: ignored a malformed message on ${channel}: ${json.slice(0, 200)}`);
      return;
    }
    if (project.lastStreamId === undefined || compareStreamIds(streamId, project.lastStreamId) > 0) project.lastStreamId = streamId;
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

  /**
   * Delivers the project's stream entries after the last one seen (live
   * messages held meanwhile), then the held ones; duplicates are dropped by
   * event id.
   */
  private async replay(channel: string, project: ProjectChannel): Promise<void> {
    project.held ??= [];
    try {
      if (project.lastStreamId === undefined) return;
      let from = project.lastStreamId;
      for (;;) {
        const entries = await this.publisher.xrange(channel, `(${from}`, '+', 'COUNT', REPLAY_PAGE);
        for (const [streamId, fields] of entries) {
          const at = fields.indexOf('event');
          if (at >= 0) this.deliverEntry(channel, project, streamId, fields[at + 1]!);
          from = streamId;
        }
        if (entries.length < REPLAY_PAGE) break;
      }
    } catch (e) {
      this.listening.fail(e);
    } finally {
      const held = project.held ?? [];
      project.held = undefined;
      for (const message of held) this.deliver(channel, message);
    }
  }

  /**
   * After a reconnect: once the channels are subscribed again (a PING on the
   * subscriber connection is answered after its SUBSCRIBEs), replays each
   * project's stream from the last entry seen.
   */
  private async replayAll(subscriber: Redis): Promise<void> {
    const projects = [...this.channels.entries()];
    for (const [, project] of projects) project.held ??= [];
    try {
      await subscriber.ping();
    } catch (e) {
      this.listening.fail(e);
    }
    for (const [channel, project] of projects) await this.replay(channel, project);
  }
}

/** Orders Redis stream ids (`<ms>-<seq>`). */
function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
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
