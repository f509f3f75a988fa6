import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Priority, Task } from '../../domain/task.js';
import type { ReadyHead, RelayPosition, TaskCache } from '../../ports/task-cache.js';
import { quit, redactedUrl, whenReady, withTimeout, DISCONNECT_TIMEOUT_MS } from './connection.js';
import { OutageLog } from './outage-log.js';

export interface RedisTaskCacheOptions {
  /** `redis://[user:password@]host:port[/db]` */
  url: string;
  /** Prepended to every key, so several Looms (or tests) can share one Redis. */
  keyPrefix?: string;
  /** Most tasks kept per ready head; a longer head is cut there (and then counts as cut). */
  headSize?: number;
  /** How long a task entry lives after its last write: entries of finished work expire. */
  taskTtlSeconds?: number;
  /** Where the cache reports outages and recoveries; stderr by default. */
  log?: (line: string) => void;
}

/**
 * A read waits this long for Redis; past it the caller reads Postgres, which
 * is always the better deal than waiting on a cache.
 */
const READ_TIMEOUT_MS = 100;
/** A write (or waiting for the connection before one) fails after this long; the relay retries. */
const WRITE_TIMEOUT_MS = 2_000;

/**
 * The ready answer in one round trip. A head counts only when it carries the
 * current generation and its ready set is whole (a key evicted on its own
 * makes a miss, never a short answer). Walks the set in ready order, keeps
 * members of the wanted priority whose run_after has come, stops at `limit`,
 * and answers nil (a miss) when a cut head ran out first.
 * KEYS: generation, head, ready set. ARGV: now (epoch ms), limit, priority ('' for any).
 */
const READY_LUA = `
local generation = redis.call('GET', KEYS[1])
if not generation then return false end
local head = redis.call('HMGET', KEYS[2], 'generation', 'complete', 'size')
if head[1] ~= generation then return false end
local members = redis.call('ZRANGE', KEYS[3], 0, -1)
if #members ~= tonumber(head[3]) then return false end
local now, limit, priority = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local found = {}
for _, member in ipairs(members) do
  if #found >= limit then break end
  local p, after = string.match(member, '^([^:]*):(-?%d+):')
  if (priority == '' or p == priority) and tonumber(after) <= now then
    local json = redis.call('HGET', KEYS[2], member)
    if not json then return false end
    found[#found + 1] = json
  end
end
if #found < limit and head[2] ~= '1' then return false end
return found
`;

/**
 * One task entry of the current generation, or nil.
 * KEYS: generation, task.
 */
const TASK_LUA = `
local generation = redis.call('GET', KEYS[1])
if not generation then return false end
local entry = redis.call('HMGET', KEYS[2], 'generation', 'task')
if entry[1] ~= generation then return false end
return entry[2]
`;

/**
 * Replaces a head unless the stored one is of this generation and from a
 * later position (positions are fixed-width digit strings, so string order
 * is numeric order). Starts a generation when there is none (first use, or
 * the generation key was lost): entries of an unknown generation never count.
 * KEYS: generation, head, ready set.
 * ARGV: position, complete ('1'/'0'), a fresh generation, then (member, task JSON) per task in ready order.
 */
const STORE_HEAD_LUA = `
redis.call('SET', KEYS[1], ARGV[3], 'NX')
local generation = redis.call('GET', KEYS[1])
local stored = redis.call('HMGET', KEYS[2], 'generation', 'position')
if stored[1] == generation and stored[2] and stored[2] > ARGV[1] then return 0 end
redis.call('DEL', KEYS[2], KEYS[3])
local rank = 0
for i = 4, #ARGV, 2 do
  redis.call('ZADD', KEYS[3], rank, ARGV[i])
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  rank = rank + 1
end
redis.call('HSET', KEYS[2], 'generation', generation, 'position', ARGV[1], 'complete', ARGV[2], 'size', redis.call('ZCARD', KEYS[3]))
return 1
`;

/**
 * Writes each task entry unless the stored one is of this generation and
 * later by (position, revision); every write restarts the entry's TTL.
 * KEYS: generation, then one task key per task.
 * ARGV: position, TTL seconds, a fresh generation, then (revision, task JSON) per task.
 */
const STORE_TASKS_LUA = `
redis.call('SET', KEYS[1], ARGV[3], 'NX')
local generation = redis.call('GET', KEYS[1])
for i = 2, #KEYS do
  local revision, json = ARGV[2 * i], ARGV[2 * i + 1]
  local stored = redis.call('HMGET', KEYS[i], 'generation', 'position', 'revision')
  local later = stored[1] == generation and stored[2]
    and (stored[2] > ARGV[1] or (stored[2] == ARGV[1] and tonumber(stored[3]) > tonumber(revision)))
  if not later then
    redis.call('HSET', KEYS[i], 'generation', generation, 'position', ARGV[1], 'revision', revision, 'task', json)
    redis.call('EXPIRE', KEYS[i], ARGV[2])
  end
end
return 0
`;

type Script = (...args: string[]) => Promise<unknown>;

/** The scripts above, as `defineCommand` adds them to the connection. */
interface CacheScripts {
  loomCacheReady: Script;
  loomCacheTask: Script;
  loomCacheStoreHead: Script;
  loomCacheStoreTasks: Script;
}

/** Marks a read that got no reply in time. */
const LATE = Symbol('late');

/**
 * Server mode's task cache: ready lists and task rows the outbox relay copies
 * from Postgres, so `loom ready` and its MCP twin skip the database. Keys
 * (`{prefix}` is `keyPrefix`):
 *
 * - `{prefix}cache:generation`: a random token. `invalidateAll` replaces it;
 *   every entry records the token it was written under and counts only while
 *   it is current, so forgetting everything is one SET. Entries of an old
 *   generation stay until rewritten (heads) or expired (tasks), never served.
 * - `{prefix}cache:ready:{project}`: sorted set, the ready head in ready order
 *   (score = rank). Each member is `{priority}:{run_after epoch ms, 0 when
 *   null}:{task id}`, so a read filters without decoding tasks.
 * - `{prefix}cache:head:{project}`: hash holding the head's `generation`,
 *   `position` (`{tx}:{id}`, each zero-padded to 20 digits), `complete`
 *   (`1`/`0`), `size` (members in the ready set), and each task's JSON under
 *   its ready-set member. No TTL: the next head replaces it.
 * - `{prefix}cache:task:{project}:{task}`: hash with `generation`,
 *   `position`, `revision` and `task` (JSON); expires `taskTtlSeconds` after
 *   its last write.
 *
 * Every call is one command, a Lua script but for `invalidateAll`'s SET: one
 * round trip, and atomic, so a reader never sees half a head. Reads never
 * throw: a miss, an outage (logged once) or a slow reply is `undefined`, and
 * the caller reads Postgres. Writes reject, and the relay retries. The
 * scripts span the generation key and a project's keys, so this needs a
 * single Redis (or a primary), not Redis Cluster.
 */
export class RedisTaskCache implements TaskCache {
  private readonly prefix: string;
  private readonly headSize: number;
  private readonly taskTtlSeconds: number;
  private readonly where: string;
  private readonly redis: Redis;
  private readonly outage: OutageLog;
  /** The pending wait for the connection, shared by every call that needs it. */
  private connecting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: RedisTaskCacheOptions) {
    this.prefix = options.keyPrefix ?? 'loom:';
    this.headSize = options.headSize ?? 100;
    this.taskTtlSeconds = options.taskTtlSeconds ?? 24 * 60 * 60;
    if (!Number.isInteger(this.headSize) || this.headSize < 1) throw new RangeError(`headSize must be a positive integer, got ${this.headSize}`);
    if (!Number.isInteger(this.taskTtlSeconds) || this.taskTtlSeconds < 1) {
      throw new RangeError(`taskTtlSeconds must be a positive integer, got ${this.taskTtlSeconds}`);
    }
    const log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.where = redactedUrl(options.url);
    this.outage = new OutageLog(
      {
        failing: `redis task cache: cannot use ${this.where}`,
        meanwhile: 'ready lists and tasks are read from Postgres',
        recovered: `redis task cache: ${this.where} answers again`,
      },
      log,
    );
    this.redis = new Redis(options.url, {
      connectionName: 'loom-task-cache',
      lazyConnect: true,
      // While disconnected a command fails at once instead of waiting for a
      // reconnect: a reader falls back to Postgres without delay.
      enableOfflineQueue: false,
      // A command in flight when the connection drops fails instead of being
      // resent later: readers have moved on, and the relay retries writes.
      maxRetriesPerRequest: 0,
      // A server that accepts but never answers fails writes too.
      commandTimeout: WRITE_TIMEOUT_MS,
      disconnectTimeout: DISCONNECT_TIMEOUT_MS,
    });
    this.redis.on('error', (e: unknown) => {
      if (this.closing === undefined) this.outage.fail(e);
    });
    this.redis.on('ready', () => this.outage.recover());
    this.redis.defineCommand('loomCacheReady', { numberOfKeys: 3, lua: READY_LUA });
    this.redis.defineCommand('loomCacheTask', { numberOfKeys: 2, lua: TASK_LUA });
    this.redis.defineCommand('loomCacheStoreHead', { numberOfKeys: 3, lua: STORE_HEAD_LUA });
    this.redis.defineCommand('loomCacheStoreTasks', { lua: STORE_TASKS_LUA });
  }

  async ready(projectId: string, now: Date, limit: number, priority?: Priority): Promise<Task[] | undefined> {
    const at = now.getTime();
    // Postgres judges odd arguments (and rejects a negative LIMIT itself).
    if (!Number.isInteger(limit) || limit < 0 || Number.isNaN(at)) return undefined;
    const reply = await this.read(() =>
      this.scripts.loomCacheReady(this.generationKey, this.headKey(projectId), this.readyKey(projectId), String(at), String(limit), priority ?? ''),
    );
    if (!Array.isArray(reply)) return undefined;
    const tasks = reply.map((json) => decode(json));
    return tasks.every((t) => t !== undefined) ? tasks : undefined;
  }

  async task(projectId: string, taskId: string): Promise<Task | undefined> {
    const reply = await this.read(() => this.scripts.loomCacheTask(this.generationKey, this.taskKey(projectId, taskId)));
    return decode(reply);
  }

  async storeHead(projectId: string, head: ReadyHead): Promise<void> {
    const tasks = head.tasks.slice(0, this.headSize);
    const complete = head.complete && tasks.length === head.tasks.length;
    const args = [this.generationKey, this.headKey(projectId), this.readyKey(projectId), padded(head.position), complete ? '1' : '0', freshGeneration()];
    for (const task of tasks) args.push(readyMember(task), JSON.stringify(task));
    await this.write(() => this.scripts.loomCacheStoreHead(...args));
  }

  async storeTasks(projectId: string, position: RelayPosition, tasks: readonly Task[]): Promise<void> {
    if (tasks.length === 0) return;
    const keys = [this.generationKey, ...tasks.map((t) => this.taskKey(projectId, t.id))];
    const args = [padded(position), String(this.taskTtlSeconds), freshGeneration()];
    for (const task of tasks) args.push(String(task.revision), JSON.stringify(task));
    await this.write(() => this.scripts.loomCacheStoreTasks(String(keys.length), ...keys, ...args));
  }

  async invalidateAll(): Promise<void> {
    await this.write(() => this.redis.set(this.generationKey, freshGeneration()));
  }

  close(): Promise<void> {
    this.closing ??= quit(this.redis);
    return this.closing;
  }

  private get scripts(): CacheScripts {
    return this.redis as unknown as CacheScripts;
  }

  private get generationKey(): string {
    return `${this.prefix}cache:generation`;
  }

  private headKey(projectId: string): string {
    return `${this.prefix}cache:head:${projectId}`;
  }

  private readyKey(projectId: string): string {
    return `${this.prefix}cache:ready:${projectId}`;
  }

  private taskKey(projectId: string, taskId: string): string {
    return `${this.prefix}cache:task:${projectId}:${taskId}`;
  }

  /** Resolves once connected (opening the connection on first use); one wait shared by all callers. */
  private connected(): Promise<void> {
    this.connecting ??= whenReady(this.redis).finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /**
   * The query's reply, or undefined when Redis cannot give it within
   * READ_TIMEOUT_MS. The first use waits for the connection within that
   * time; during a known outage reads miss at once.
   */
  private async read<T>(query: () => Promise<T>): Promise<T | undefined> {
    if (this.closing !== undefined) return undefined;
    if (this.outage.isDown && this.redis.status !== 'ready') return undefined;
    let reply: T | typeof LATE;
    try {
      reply = await beforeDeadline(
        (async () => {
          if (this.redis.status !== 'ready') await this.connected();
          return query();
        })(),
        READ_TIMEOUT_MS,
      );
    } catch (e) {
      if (this.closing === undefined) this.outage.fail(e);
      return undefined;
    }
    if (reply === LATE) {
      this.outage.fail(new Error(`no reply within ${READ_TIMEOUT_MS} ms`));
      return undefined;
    }
    this.outage.recover();
    return reply;
  }

  /** Runs the command once connected; rejects (and reports the outage) when Redis cannot take it. */
  private async write<T>(command: () => Promise<T>): Promise<T> {
    if (this.closing !== undefined) throw new Error('redis task cache: closed');
    try {
      if (this.redis.status !== 'ready') {
        const up = await withTimeout(this.connected().then(() => true), WRITE_TIMEOUT_MS);
        if (up === undefined) throw new Error(`no connection within ${WRITE_TIMEOUT_MS} ms`);
      }
      const result = await command();
      this.outage.recover();
      return result;
    } catch (e) {
      if (this.closing === undefined) this.outage.fail(e);
      throw new Error(`redis task cache: cannot write to ${this.where}: ${(e instanceof Error && e.message) || String(e)}`, { cause: e });
    }
  }
}

/**
 * The promise's value, or LATE once `ms` have passed. The deadline yields to
 * I/O once before giving up, so a process that was descheduled past it (a
 * busy machine) still takes a reply already waiting on the socket.
 */
function beforeDeadline<T>(promise: Promise<T>, ms: number): Promise<T | typeof LATE> {
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  const late = new Promise<typeof LATE>((resolve) => {
    timer = setTimeout(() => {
      immediate = setImmediate(() => resolve(LATE));
    }, ms);
  });
  return Promise.race([promise, late]).finally(() => {
    clearTimeout(timer);
    clearImmediate(immediate);
  });
}

/** `{tx}:{id}`, each zero-padded to 20 digits (2^64 has 20): string order is then numeric order. */
function padded(position: RelayPosition): string {
  return `${digits(position.tx, 'tx')}:${digits(position.id, 'id')}`;
}

function digits(value: string, part: string): string {
  const trimmed = /^\d+$/.test(value) ? value.replace(/^0+(?=\d)/, '') : '';
  if (trimmed === '' || trimmed.length > 20) throw new RangeError(`relay position ${part} must be a decimal string of at most 20 digits, got ${JSON.stringify(value)}`);
  return trimmed.padStart(20, '0');
}

/** The task's ready-set member: what a read filters on, ahead of its id. */
function readyMember(task: Task): string {
  const runAfter = task.run_after === null ? 0 : Date.parse(task.run_after);
  if (Number.isNaN(runAfter)) throw new RangeError(`task ${task.id} has an unreadable run_after: ${JSON.stringify(task.run_after)}`);
  return `${task.priority}:${runAfter}:${task.id}`;
}

/** A generation token no earlier `invalidateAll` (or lost generation key) used. */
function freshGeneration(): string {
  return randomBytes(12).toString('hex');
}

/** A task from its stored JSON; a value this cache did not write is a miss. */
function decode(json: unknown): Task | undefined {
  if (typeof json !== 'string') return undefined;
  try {
    const value: unknown = JSON.parse(json);
    if (typeof value !== 'object' || value === null) return undefined;
    // Written before tasks had labels: an entry without them has none (migration 0010's default).
    const task = value as Task;
    return Array.isArray(task.labels) ? task : { ...task, labels: [] };
  } catch {
    return undefined;
  }
}
