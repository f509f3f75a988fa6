import pg from 'pg';
import { openPglitePool } from '../../src/adapters/embedded/pglite-pool.js';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { serviceForPool, type ServiceOptions } from '../../src/app/service-factory.js';
import type { LoomApi } from '../../src/ports/loom-api.js';
import { createTestDatabase } from './databases.js';
import { poolDrained } from './pools.js';

/**
 * The real LoomService on a fresh store of either kind: an in-memory PGlite (embedded), or a
 * database of its own on the local Postgres with a pool of `connections` (default 10).
 */
export async function openStoreService(
  mode: 'embedded' | 'postgres',
  label: string,
  options: ServiceOptions & { connections?: number } = {},
): Promise<{ api: LoomApi; close: () => Promise<void> }> {
  const { connections = 10, ...service } = options;
  if (mode === 'embedded') {
    const p = await openPglitePool(undefined);
    await migrate(p.pool);
    return { api: serviceForPool(p.pool, { ...service, ownsPool: false }).service, close: () => p.close() };
  }
  const db = await createTestDatabase(label);
  const pool = new pg.Pool({ connectionString: db.url, max: connections });
  pool.on('error', () => {});
  await migrate(pool);
  return {
    api: serviceForPool(pool, { ...service, ownsPool: false }).service,
    close: async () => {
      const drained = poolDrained(pool);
      await pool.end();
      await drained;
      await db.drop();
    },
  };
}
