import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { serviceForPool, type ServiceOptions } from '../../src/app/service-factory.js';
import type { LoomApi } from '../../src/ports/loom-api.js';
import { createTestDatabase, type TestDatabase } from './databases.js';
import { poolDrained } from './pools.js';

/**
 * For a describe block: a fresh migrated Postgres database, and services over
 * it, each with a pool of its own (as separate processes would have). Pools
 * and the database go away after the block.
 */
export function usePgServices(label: string, defaults: ServiceOptions['settings'] = {}) {
  let db: TestDatabase;
  const pools: pg.Pool[] = [];
  beforeAll(async () => {
    db = await createTestDatabase(label);
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    await migrate(pool);
    await pool.end();
  });
  afterAll(async () => {
    const drained = Promise.all(pools.map(poolDrained));
    await Promise.all(pools.map((p) => p.end()));
    await drained;
    await db.drop();
  });
  return {
    url: (): string => db.url,
    service: (settings: ServiceOptions['settings'] = {}): LoomApi => {
      const pool = new pg.Pool({ connectionString: db.url, max: 4 });
      pool.on('error', () => {});
      pools.push(pool);
      return serviceForPool(pool, { ownsPool: false, settings: { ...defaults, ...settings } }).service;
    },
  };
}
