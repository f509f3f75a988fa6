import { openTestPglite } from './pglite.js';
import pg from 'pg';

import { migrate } from '../../src/adapters/postgres/migrator.js';
import { serviceForPool, type ServiceOptions } from '../../src/app/service-factory.js';
import type { LoomApi } from '../../src/ports/loom-api.js';
import { createTestDatabase } from './databases.js';
import { poolDrained } from './pools.js';

type StoreOptions = Omit<ServiceOptions, 'ownsPool'> & { connections?: number };

/**
 * `count` services over one fresh migrated database of either store (in-memory PGlite, or a
 * Postgres database of its own with a pool of `connections`, default 6), sharing one pool: for
 * suites run on both stores.
 */
export async function openStoreServices(
  mode: 'embedded' | 'postgres',
  label: string,
  options: StoreOptions = {},
  count = 1,
): Promise<{ services: LoomApi[]; close(): Promise<void> }> {
  const { connections = 6, ...service } = options;
  const make = (pool: pg.Pool) => Array.from({ length: count }, () => serviceForPool(pool, { ...service, ownsPool: false }).service);
  if (mode === 'embedded') {
    const lite = await openTestPglite();
    await migrate(lite.pool);
    return { services: make(lite.pool), close: () => lite.close() };
  }
  const db = await createTestDatabase(label);
  const pool = new pg.Pool({ connectionString: db.url, max: connections });
  pool.on('error', () => {});
  await migrate(pool);
  return {
    services: make(pool),
    async close() {
      const drained = poolDrained(pool);
      await pool.end();
      await drained;
      await db.drop();
    },
  };
}

/** One service on a fresh store of either kind (see openStoreServices). */
export async function openStoreService(mode: 'embedded' | 'postgres', label: string, options: StoreOptions = {}): Promise<{ api: LoomApi; close: () => Promise<void> }> {
  const opened = await openStoreServices(mode, label, options, 1);
  return { api: opened.services[0]!, close: () => opened.close() };
}
