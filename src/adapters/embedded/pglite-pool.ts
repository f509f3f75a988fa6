import { PGlite } from '@electric-sql/pglite';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import pg from 'pg';

export interface PglitePool {
  pool: pg.Pool;
  db: PGlite;
  close(): Promise<void>;
}

/**
 * PGlite behind a node-postgres pool of exactly one connection, so the one
 * SQL store serves the embedded database too. The caller must be the only
 * owner of `dataDir` (see the daemon's owner lock).
 */
export async function openPglitePool(dataDir: string | undefined): Promise<PglitePool> {
  const db = await PGlite.create(dataDir === undefined ? {} : { dataDir });
  const pool = new pg.Pool({ ...createPgConfig(db), max: 1, idleTimeoutMillis: 0 });
  return {
    pool,
    db,
    async close() {
      await pool.end();
      await db.close();
    },
  };
}
