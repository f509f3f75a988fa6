import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { LoomError } from '../../domain/errors.js';
import { checkout } from './checkout.js';
import { toLoomError } from './db-errors.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The package's migrations folder, found from this file whether it runs from src/ or dist/. */
export function migrationsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'migrations');
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new LoomError('INTERNAL', 'the migrations folder of Loom is missing', { hint: 'reinstall loom-agents' });
}

export function loadMigrations(dir = migrationsDir()): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 4)), name: f.replace(/\.sql$/, ''), sql: readFileSync(join(dir, f), 'utf8') }));
}

const LOCK = `hashtext('loom.migrate')`;

/**
 * Applies forward-only numbered migrations, each in its own transaction,
 * under a session advisory lock so processes starting together do not race.
 * A database migrated by a newer Loom is refused rather than written to.
 */
export async function migrate(pool: pg.Pool, migrations = loadMigrations()): Promise<{ applied: string[]; version: number }> {
  const out = await checkout(pool);
  const client = out.client;
  const applied: string[] = [];
  try {
    await client.query(`SELECT pg_advisory_lock(${LOCK})`);
    try {
      // Only when missing: CREATE ... IF NOT EXISTS still needs the right to create, and a role
      // given rights on Loom's tables alone must be able to find the schema up to date.
      const exists = await client.query(`SELECT to_regclass('loom_migrations') IS NOT NULL AS ok`);
      if (exists.rows[0].ok !== true) {
        await client.query(
          `CREATE TABLE IF NOT EXISTS loom_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
        );
      }
      const r = await client.query('SELECT version FROM loom_migrations ORDER BY version');
      const done = new Set<number>(r.rows.map((row) => Number(row.version)));
      const latest = migrations.reduce((m, x) => Math.max(m, x.version), 0);
      const dbVersion = Math.max(0, ...done);
      if (dbVersion > latest) throw migrationAhead(dbVersion, latest);
      for (const m of migrations) {
        if (done.has(m.version)) continue;
        await client.query('BEGIN');
        try {
          // The bookkeeping row goes first: a second migrator would conflict on it.
          await client.query('INSERT INTO loom_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
          await client.query(m.sql);
          await client.query('COMMIT');
          applied.push(m.name);
        } catch (e) {
          await client.query('ROLLBACK');
          throw e;
        }
      }
      return { applied, version: Math.max(dbVersion, latest) };
    } finally {
      await client.query(`SELECT pg_advisory_unlock(${LOCK})`);
    }
  } catch (e) {
    throw toLoomError(e);
  } finally {
    out.release();
  }
}

/** The schema version of a database, or 0 before any migration. */
export async function schemaVersion(pool: pg.Pool): Promise<number> {
  try {
    const r = await pool.query(`SELECT to_regclass('loom_migrations') IS NOT NULL AS ok`);
    if (r.rows[0].ok !== true) return 0;
    const v = await pool.query('SELECT coalesce(max(version), 0) AS v FROM loom_migrations');
    return Number(v.rows[0].v);
  } catch (e) {
    throw toLoomError(e);
  }
}

/** Brings the schema up to date at start-up, refusing a database ahead of this code; gives this code's schema version. */
export async function ensureSchema(pool: pg.Pool, migrations = loadMigrations()): Promise<number> {
  const latest = migrations.reduce((m, x) => Math.max(m, x.version), 0);
  const current = await schemaVersion(pool);
  if (current > latest) throw migrationAhead(current, latest);
  if (current < latest) await migrate(pool, migrations);
  return latest;
}

function migrationAhead(db: number, code: number): LoomError {
  return new LoomError('MIGRATION_AHEAD', `the database is at schema version ${db}, newer than this Loom (${code})`, {
    hint: 'a newer Loom migrated this database: upgrade Loom here (the loom-agents package, or your Loom checkout: git pull, npm run build) instead of running an older version against it',
    details: { database_version: db, code_version: code },
  });
}

/** This database's identity as a Loom store (migration 0009): the same for every process that opens it. */
export async function storeIdentity(pool: pg.Pool): Promise<string> {
  const r = await pool.query<{ id: string }>('SELECT id FROM store_identity');
  const id = r.rows[0]?.id;
  if (id === undefined) throw new LoomError('INTERNAL', 'store_identity has no row: the schema is damaged', { hint: 'run `loom migrate`; if it persists, restore the row from a backup' });
  return id;
}
