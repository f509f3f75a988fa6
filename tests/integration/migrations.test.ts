/** Forward-only migrations on real Postgres: once each, race-free, and never onto a newer schema. */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSchema, loadMigrations, migrate, schemaVersion } from '../../src/adapters/postgres/migrator.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { poolDrained } from '../support/pools.js';

describe('migrations', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  const latest = loadMigrations().at(-1)!.version;

  beforeAll(async () => {
    db = await createTestDatabase('migrations');
    pool = new pg.Pool({ connectionString: db.url, max: 6 });
    pool.on('error', () => {});
  });
  afterAll(async () => {
    const drained = poolDrained(pool);
    await pool.end();
    await drained;
    await db.drop();
  });

  it('applies each migration exactly once even when several processes start together', async () => {
    const runs = await Promise.all(Array.from({ length: 4 }, () => migrate(pool)));
    const applied = runs.flatMap((r) => r.applied);
    expect(applied).toEqual(loadMigrations().map((m) => m.name));
    expect(runs.every((r) => r.version === latest)).toBe(true);
    expect(await schemaVersion(pool)).toBe(latest);
    const rows = await pool.query('SELECT version FROM loom_migrations ORDER BY version');
    expect(rows.rows.map((r) => Number(r.version))).toEqual(loadMigrations().map((m) => m.version));
    expect((await migrate(pool)).applied).toEqual([]);
  });

  it('refuses a database migrated by a newer Loom, writing nothing', async () => {
    await pool.query(`INSERT INTO loom_migrations (version, name) VALUES (9999, '9999_from_the_future')`);
    try {
      await expect(ensureSchema(pool)).rejects.toMatchObject({ code: 'MIGRATION_AHEAD', details: { database_version: 9999, code_version: latest } });
      await expect(migrate(pool)).rejects.toMatchObject({ code: 'MIGRATION_AHEAD' });
    } finally {
      await pool.query('DELETE FROM loom_migrations WHERE version = 9999');
    }
    await expect(ensureSchema(pool)).resolves.toBe(latest); // this code's schema version
  });

  it('rolls back a failing migration and leaves no bookkeeping row for it', async () => {
    const broken = [...loadMigrations(), { version: latest + 1, name: `${latest + 1}_broken`, sql: 'CREATE TABLE half_done (x int); SELECT no_such_function();' }];
    await expect(migrate(pool, broken)).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(await schemaVersion(pool)).toBe(latest);
    const t = await pool.query(`SELECT to_regclass('half_done') IS NULL AS gone`);
    expect(t.rows[0].gone).toBe(true);
  });

  it('reports an unreachable database with a coded error', async () => {
    const nowhere = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMillis: 2000 });
    nowhere.on('error', () => {});
    await expect(migrate(nowhere)).rejects.toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    await nowhere.end();
  });
});
