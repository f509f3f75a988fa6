import { openTestPglite } from './pglite.js';
import type pg from 'pg';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import type { LoomService } from '../../src/app/loom-service.js';
import { serviceForPool, type ServiceOptions } from '../../src/app/service-factory.js';
import type { EventBus } from '../../src/ports/event-bus.js';

export interface EmbeddedService {
  api: LoomService;
  bus: EventBus;
  pool: pg.Pool;
  close(): Promise<void>;
}

/** The real LoomService over a fresh in-memory PGlite (the embedded store, in-process): one per test file, it takes a second or two. */
export async function openEmbeddedService(options: ServiceOptions = {}): Promise<EmbeddedService> {
  const lite = await openTestPglite();
  try {
    await migrate(lite.pool);
  } catch (e) {
    await lite.close();
    throw e;
  }
  const { service, bus } = serviceForPool(lite.pool, { ...options, ownsPool: false });
  return {
    api: service,
    bus,
    pool: lite.pool,
    async close() {
      await service.close();
      await lite.close();
    },
  };
}
