import pg from 'pg';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { serviceForPool } from '../../src/app/service-factory.js';
import { createTestDatabase } from '../support/databases.js';
import { poolDrained } from '../support/pools.js';
import { bulkCreateContract } from './bulk-create.contract.js';
import { CONTRACT_SERVICE_OPTIONS } from './task-store.contract.js';

// Bulk create on real Postgres: one fresh database for this file.
bulkCreateContract('postgres', async () => {
  const db = await createTestDatabase('bulk');
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  try {
    await migrate(pool);
  } catch (e) {
    await pool.end();
    await db.drop();
    throw e;
  }
  const { service } = serviceForPool(pool, { ...CONTRACT_SERVICE_OPTIONS, ownsPool: true });
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
});
