import { ContainerModule } from '#inversify';
import { Clock } from '../../ports/clock.js';
import { EventBus } from '../../ports/event-bus.js';
import { IdGenerator } from '../../ports/id-generator.js';
import { CryptoIds } from './crypto-ids.js';
import { InProcessEventBus } from './in-process-event-bus.js';
import { SystemClock } from './system-clock.js';

/** The process-local adapters every mode uses: the system clock, crypto ids, the in-process bus. */
export const memoryModule = (): ContainerModule =>
  new ContainerModule(({ bind }) => {
    bind(Clock).toConstantValue(new SystemClock());
    bind(IdGenerator).toConstantValue(new CryptoIds());
    bind(EventBus).toConstantValue(new InProcessEventBus());
  });
