import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server the benches make their scratch databases on. */
export const BENCH_ADMIN_URL = process.env.LOOM_BENCH_DATABASE_URL ?? process.env.LOOM_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  /** The new, empty database (not migrated: some benches let `loom` do it). */
  url: string;
  /** Drops it, ending whatever connections are left (WITH FORCE). */
  drop(): Promise<void>;
}

/** A fresh database of its own for one bench run. */
export async function benchDatabase(label = 'bench'): Promise<BenchDatabase> {
  const name = `loom_${label}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: BENCH_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(BENCH_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}
