import pg from 'pg';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { serviceForPool, type ServiceOptions } from '../../src/app/service-factory.js';
import { createTestDatabase } from './databases.js';
import { poolDrained } from './pools.js';

/** The real service over a fresh migrated Postgres database of its own, for a contract suite; closing drops the database. */
export async function openPostgresContractTarget(label: string, options: ServiceOptions, maxConnections: number) {
  const db = await createTestDatabase(label);
  const pool = new pg.Pool({ connectionString: db.url, max: maxConnections });
  try {
    await migrate(pool);
  } catch (e) {
    await pool.end();
    await db.drop();
    throw e;
  }
  const { service } = serviceForPool(pool, { ...options, ownsPool: true });
  return {
    api: service,
    pool,
    async close() {
      const drained = poolDrained(pool);
      await service.close();
      await drained;
      await db.drop();
    },
  };
}
