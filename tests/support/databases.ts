import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * Real databases for tests. A container runtime, where one exists, gives a
 * throwaway Postgres (testcontainers); otherwise the server named by
 * LOOM_TEST_DATABASE_URL, falling back to the local service. Either way each
 * caller gets a database of its own, so test files never see each other's rows.
 */
let serverUrl: Promise<string> | undefined;

async function containerUrl(): Promise<string | null> {
  if (process.env.LOOM_TEST_DATABASE_URL !== undefined) return null;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
  } catch {
    return null; // no container runtime here: use the service
  }
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const container = await new PostgreSqlContainer('postgres:16-alpine').start();
  return container.getConnectionUri();
}

function baseUrl(): Promise<string> {
  serverUrl ??= containerUrl().then((u) => u ?? process.env.LOOM_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  return serverUrl;
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(label = 'loom'): Promise<TestDatabase> {
  const base = await baseUrl();
  const name = `${label}_test_${randomBytes(5).toString('hex')}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/**
 * Waits until every event this database holds is older than every transaction
 * still open on its server. Transaction ids are numbered server-wide, so a
 * transaction another test file keeps open in its own database holds back what
 * the outbox relay and the metrics scrape may read here (both stop at
 * pg_snapshot_xmin, so that no event committing late is ever passed). A test
 * that expects one relay pass or one scrape to see all it wrote waits for this
 * first; without it, tests running beside it make it fail now and then.
 */
export async function eventsSettled(pool: pg.Pool, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await pool.query('SELECT COALESCE(max(tx_id) < pg_snapshot_xmin(pg_current_snapshot()), true) AS settled FROM events');
    if (r.rows[0].settled === true) return;
    if (Date.now() > deadline) throw new Error('timed out waiting for the transactions open on the server to end');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
