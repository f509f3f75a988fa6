import pg from 'pg';
import { openPglitePool } from '../../src/adapters/embedded/pglite-pool.js';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { serviceForPool, type ServiceOptions } from '../../src/app/service-factory.js';
import type { LoomApi } from '../../src/ports/loom-api.js';
import { createTestDatabase } from './databases.js';
import { poolDrained } from './pools.js';

/**
 * `count` services over one fresh migrated database of either store (in-memory PGlite, or a
 * Postgres database of its own), sharing one pool: for suites run on both stores.
 */
export async function openStoreServices(
  mode: 'embedded' | 'postgres',
  label: string,
  options: Omit<ServiceOptions, 'ownsPool'>,
  count = 1,
): Promise<{ services: LoomApi[]; close(): Promise<void> }> {
  const make = (pool: pg.Pool) => Array.from({ length: count }, () => serviceForPool(pool, { ...options, ownsPool: false }).service);
  if (mode === 'embedded') {
    const lite = await openPglitePool(undefined);
    await migrate(lite.pool);
    return { services: make(lite.pool), close: () => lite.close() };
  }
  const db = await createTestDatabase(label);
  const pool = new pg.Pool({ connectionString: db.url, max: 6 });
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
