import { Container, type ServiceIdentifier } from '#inversify';
import type pg from 'pg';
import { memoryModule } from '../adapters/memory/module.js';
import { postgresModule } from '../adapters/postgres/module.js';
import type { RedisModuleOptions } from '../adapters/redis/module.js';
import { Clock } from '../ports/clock.js';
import { EventBus } from '../ports/event-bus.js';
import { IdGenerator } from '../ports/id-generator.js';
import { LoomApi } from '../ports/loom-api.js';
import { EventSink, OutboxStore } from '../ports/outbox.js';
import { TaskCache } from '../ports/task-cache.js';
import { TaskStore } from '../ports/task-store.js';
import { SkillSource } from '../ports/skill-source.js';
import { SkillRegistry } from './skills/skill-registry.js';
import { standardSkillSources } from './skills/skill-sources.js';
import { standardWorkflowSources, WorkflowRegistry } from './workflows/workflow-registry.js';
import { WorkflowSource } from '../ports/workflow-source.js';
import { LoomService } from './loom-service.js';
import type { PluginSettings } from './plugins.js';
import { OutboxRelay, RelayedEventBus } from './relay.js';
import { DEFAULT_TASK_SETTINGS } from './settings.js';
import { RecentTasks } from './use-cases/recent-tasks.js';
import type { TaskSettings } from './use-cases/deps.js';

export const TaskSettingsToken: ServiceIdentifier<TaskSettings> = Symbol.for('loom.TaskSettings');
/** Server mode: who fills the read cache when a read missed it (the relay). */
const CacheMissedToken: ServiceIdentifier<(projectId: string) => void> = Symbol.for('loom.CacheMissed');

export interface ServiceOptions {
  settings?: Partial<TaskSettings>;
  clock?: Clock;
  ids?: IdGenerator;
  bus?: EventBus;
  /** Ends the pool when the service closes (default true). */
  ownsPool?: boolean;
  /**
   * Vacuum the tasks table after bursts of claims (default false). Server
   * mode turns it on (SERVER_MODE); the embedded daemon keeps PGlite clean
   * itself, between requests.
   */
  vacuumAfterBursts?: boolean;
  /**
   * Where skills come from: the project's directory and the environment
   * (LOOM_HOME, HOME) for the standard sources, or the sources themselves
   * (tests). Builtin skills only when neither is given. `plugins` (config
   * `plugins`): more plugin folders, and the trusted ids; the plugins of the
   * project's package.json and the user folder are discovered either way.
   */
  skills?: { projectDir?: string | null; env?: NodeJS.ProcessEnv; plugins?: PluginSettings } | { sources: SkillSource[] };
  /** Where workflows come from (default: the standard sources of the skills' projectDir and env; builtin only for `{sources}` skills). */
  workflows?: { sources: WorkflowSource[] };
  /** The project's directory, where spec files are read (default: the skills' projectDir). */
  projectDir?: string | null;
  /** The id of the project in that directory (its .loom/config.yaml); other projects served by this process get no file access. */
  projectDirOf?: string | null;
}

/** What every server-mode process (a real Postgres pool) composes with. */
export const SERVER_MODE = { vacuumAfterBursts: true } as const satisfies ServiceOptions;

/**
 * The composition root for one database: loads the adapter modules into an
 * inversify container and resolves the LoomApi. Works for a real Postgres
 * pool and for the embedded PGlite pool alike.
 */
export function createContainer(pool: pg.Pool, options: ServiceOptions = {}): Container {
  const container = new Container();
  container.load(memoryModule(), postgresModule(pool, { ownsPool: options.ownsPool ?? true, vacuumAfterBursts: options.vacuumAfterBursts ?? false }));
  if (options.clock !== undefined) container.rebind(Clock).toConstantValue(options.clock);
  if (options.ids !== undefined) container.rebind(IdGenerator).toConstantValue(options.ids);
  if (options.bus !== undefined) container.rebind(EventBus).toConstantValue(options.bus);
  container.bind(TaskSettingsToken).toConstantValue({ ...DEFAULT_TASK_SETTINGS, ...options.settings });
  const skillOptions = options.skills ?? {};
  // A multi-binding: the plugin loader binds more sources to the same token later.
  for (const source of 'sources' in skillOptions ? skillOptions.sources : standardSkillSources(skillOptions)) {
    container.bind(SkillSource).toConstantValue(source);
  }
  const skills = new SkillRegistry(() => (container.isBound(SkillSource) ? container.getAll(SkillSource) : []));
  const workflowSources = options.workflows?.sources ?? standardWorkflowSources('sources' in skillOptions ? {} : skillOptions);
  for (const source of workflowSources) container.bind(WorkflowSource).toConstantValue(source);
  const workflows = new WorkflowRegistry(() => (container.isBound(WorkflowSource) ? container.getAll(WorkflowSource) : []));
  const projectDir = options.projectDir ?? ('projectDir' in skillOptions ? (skillOptions.projectDir ?? null) : null);
  container
    .bind(LoomApi)
    .toResolvedValue(
      (store: TaskStore, clock: Clock, ids: IdGenerator, bus: EventBus, settings: TaskSettings) => {
        const cache = container.isBound(TaskCache) ? container.get(TaskCache) : undefined;
        const cacheMissed = container.isBound(CacheMissedToken) ? container.get(CacheMissedToken) : undefined;
        const reads = cache === undefined ? {} : { cache, ...(cacheMissed === undefined ? {} : { cacheMissed }) };
        return new LoomService({ store, clock, ids, bus, settings, recent: new RecentTasks(), skills, workflows, projectDir, projectDirOf: options.projectDirOf ?? null, ...reads }, async () => {
          await bus.close();
          await cache?.close();
          await store.close();
        });
      },
      [TaskStore, Clock, IdGenerator, EventBus, TaskSettingsToken],
    )
    .inSingletonScope();
  return container;
}

export interface RedisOptions extends RedisModuleOptions {
  relayPollMs?: number;
}

/**
 * Server mode with Redis: the container of `createContainer`, plus the
 * outbox relay feeding Redis (events reach every process), the read cache
 * (`ready` asks it first) and a relay started at once. Async so that
 * processes without Redis (the embedded daemon, above all) never load
 * ioredis: it costs a cold start ~70 ms.
 */
export async function createServerContainer(pool: pg.Pool, options: ServiceOptions & { redis: RedisOptions }): Promise<Container> {
  const container = createContainer(pool, options);
  const { redisModule } = await import('../adapters/redis/module.js');
  const { relayPollMs, ...given } = options.redis;
  const redis = { ...given, log: oneLinePerOutage(given.log ?? ((line: string) => process.stderr.write(`${line}\n`))) };
  container.load(redisModule(redis));
  const cache = redis.cache === false ? undefined : container.get(TaskCache);
  const relay = new OutboxRelay({
    outbox: container.get(OutboxStore),
    sink: container.get(EventSink),
    ...(cache === undefined ? {} : { cache }),
    ...(relayPollMs === undefined ? {} : { pollMs: relayPollMs }),
    log: redis.log,
  });
  container.rebind(EventBus).toConstantValue(new RelayedEventBus(relay, container.get(EventSink)));
  container.bind(CacheMissedToken).toConstantValue((projectId: string) => relay.warm(projectId));
  relay.start();
  return container;
}

/** A LoomService over any node-postgres pool, with its bus and store. */
export function serviceForPool(pool: pg.Pool, options: ServiceOptions = {}): { service: LoomService; bus: EventBus; store: TaskStore } {
  const container = createContainer(pool, options);
  return {
    service: container.get(LoomApi) as LoomService,
    bus: container.get(EventBus),
    store: container.get(TaskStore),
  };
}

/**
 * The bus (its publishing and its listening connection), the cache and the
 * relay each notice a Redis outage and its end, once each, and at their own
 * pace. A process says so once: the first failure line while every part was
 * well, and the recovery line of the last part to recover; the echoes in
 * between do not get through. A part is named by what precedes the line's
 * first colon, plus whether it is about listening.
 */
export function oneLinePerOutage(log: (line: string) => void): (line: string) => void {
  const failing = new Set<string>();
  return (line) => {
    const part = `${line.split(':', 1)[0]}${/\blisten/.test(line) ? ' (listening)' : ''}`;
    if (/\bcannot\b/.test(line)) {
      const first = failing.size === 0;
      failing.add(part);
      if (first) log(line);
    } else if (/\bagain\b/.test(line)) {
      if (!failing.delete(part)) return;
      if (failing.size === 0) log(line);
    } else {
      log(line);
    }
  };
}
