import { ContainerModule } from '#inversify';
import { EventSink } from '../../ports/outbox.js';
import { TaskCache } from '../../ports/task-cache.js';
import { RedisEventBus } from './redis-event-bus.js';
import { RedisTaskCache } from './redis-task-cache.js';

export interface RedisModuleOptions {
  /** `redis://[user:password@]host:port[/db]` */
  url: string;
  /** Prepended to every key and channel, so several Looms (or tests) can share one Redis. */
  keyPrefix?: string;
  /** Bind the read cache (default true). */
  cache?: boolean;
  /** Where the adapters report their own trouble; stderr by default. */
  log?: (line: string) => void;
}

/**
 * Server mode's Redis: the event sink (streams + pub/sub, fed by the outbox
 * relay) and the read cache. Connections open on first use. Whoever resolves
 * them closes them, as with the other adapters: no async deactivation hook,
 * which would make inversify's synchronous unbind/unbindAll throw.
 */
export const redisModule = (options: RedisModuleOptions): ContainerModule =>
  new ContainerModule(({ bind }) => {
    const common = { url: options.url, ...(options.keyPrefix === undefined ? {} : { keyPrefix: options.keyPrefix }), ...(options.log === undefined ? {} : { log: options.log }) };
    bind(EventSink)
      .toDynamicValue(() => new RedisEventBus(common))
      .inSingletonScope();
    if (options.cache !== false) {
      bind(TaskCache)
        .toDynamicValue(() => new RedisTaskCache(common))
        .inSingletonScope();
    }
  });
