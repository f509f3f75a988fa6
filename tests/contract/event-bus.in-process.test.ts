import { InProcessEventBus } from '../../src/adapters/memory/in-process-event-bus.js';
import { eventBusContract } from './event-bus.contract.js';

eventBusContract('in-process', async () => new InProcessEventBus());
