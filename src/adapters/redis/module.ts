import { ContainerModule } from 'inversify';
import { EventBus } from '../../ports/event-bus.js';
import { RedisEventBus, type RedisEventBusOptions } from './redis-event-bus.js';

/**
 * Server mode's event bus over Redis: one bus per container, connecting when
 * first resolved. Whoever resolves it closes it (`bus.close()` quits both
 * connections), as with the other adapters: no async deactivation hook, which
 * would make inversify's synchronous unbind/unbindAll throw.
 */
export const redisModule = (options: RedisEventBusOptions): ContainerModule =>
  new ContainerModule(({ bind }) => {
    bind(EventBus)
      .toDynamicValue(() => new RedisEventBus(options))
      .inSingletonScope();
  });
