/**
 * Server mode during a rolling upgrade: a process keeps running while a newer
 * Loom, elsewhere, migrates the shared database. Where the new schema breaks
 * a statement of the old code, the call answers MIGRATION_AHEAD with what to
 * do (restart with the newer Loom), not INTERNAL; calls the old code can still
 * make keep working; and a damaged database at this code's own version still
 * says INTERNAL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../src/adapters/postgres/migrator.js';
import { AppConnector } from '../../src/app/connector.js';
import { LoomError } from '../../src/domain/errors.js';
import type { LoomApi } from '../../src/ports/loom-api.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { ROOT } from '../support/loom-cli.js';
import { until } from '../support/until.js';

const BUILT_MAIN = join(ROOT, 'dist', 'src', 'app', 'entry', 'main.js');

const ORIGIN = { kind: 'test', id: 'schema-guard' };
const latest = loadMigrations().reduce((m, x) => Math.max(m, x.version), 0);

async function errorOf(p: Promise<unknown>): Promise<LoomError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  if (!LoomError.is(e)) throw new Error(`expected a LoomError, got ${String(e)}`);
  return e;
}

describe('a server-mode process whose database a newer Loom migrated', () => {
  let db: TestDatabase;
  let admin: pg.Pool;
  let dir: string;
  let api: LoomApi;
  let connector: AppConnector;
  let projectId: string;

  beforeAll(async () => {
    db = await createTestDatabase('schema_guard');
    admin = new pg.Pool({ connectionString: db.url, max: 1 });
    dir = mkdtempSync(join(tmpdir(), 'loom-schema-guard-'));
    const env = { ...process.env, LOOM_DATABASE_URL: db.url, LOOM_REDIS_URL: '', HOME: dir, LOOM_HOME: join(dir, 'home') };
    delete (env as Record<string, string | undefined>).LOOM_PROJECT_DIR;
    connector = new AppConnector({ env, cwd: dir, daemonEntry: BUILT_MAIN });
    projectId = (await connector.init({ projectDir: dir, name: 'guarded' })).project.id;
    ({ api } = await connector.open({ projectDir: dir }));
  });
  afterAll(async () => {
    await api?.close();
    await admin?.end();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('works as usual before the upgrade', async () => {
    const t = await api.createTask({ project_id: projectId, title: 'before the upgrade', origin: ORIGIN });
    expect((await api.status({ project_id: projectId, task_id: t.id })).task.title).toBe('before the upgrade');
  });

  it('a damaged database at its own version is still INTERNAL (a bug or damage, not an upgrade)', async () => {
    await admin.query('ALTER TABLE escalations RENAME COLUMN message TO message_gone');
    try {
      const t = await api.createTask({ project_id: projectId, title: 'to escalate', origin: ORIGIN });
      const e = await errorOf(api.escalate({ project_id: projectId, task_id: t.id, message: 'help' }));
      expect(e.code).toBe('INTERNAL');
    } finally {
      await admin.query('ALTER TABLE escalations RENAME COLUMN message_gone TO message');
    }
  });

  it('after a newer Loom changed what a call reads: MIGRATION_AHEAD with the restart to do; other calls keep working', async () => {
    // What a newer Loom's migration might do: a new version, and a column the old code names renamed.
    await admin.query(`INSERT INTO loom_migrations (version, name) VALUES ($1, $2)`, [latest + 1, `${latest + 1}_from_a_newer_loom`]);
    await admin.query('ALTER TABLE escalations RENAME COLUMN message TO message_text');
    const t = await api.createTask({ project_id: projectId, title: 'still works', origin: ORIGIN }); // untouched by the change
    const e = await errorOf(api.escalate({ project_id: projectId, task_id: t.id, message: 'help' }));
    expect(e.code).toBe('MIGRATION_AHEAD');
    expect(e.message).toContain(`schema version ${latest + 1}`);
    expect(e.hint).toMatch(/restart this process with the newer Loom/);
    expect(e.details).toEqual({ database_version: latest + 1, code_version: latest });
    // Nothing was written by the refused call.
    expect((await api.status({ project_id: projectId, task_id: t.id })).task.status).toBe('pending');
  });

  it('loom orchestrate stops, as on SIGTERM, and fails with MIGRATION_AHEAD once its tick meets the newer schema', async () => {
    // Started before the upgrade (a process refuses a database already ahead at start-up).
    await admin.query('DELETE FROM loom_migrations WHERE version > $1', [latest]);
    const lines: string[] = [];
    const run = connector.orchestrate({ projectDir: dir, intervalSeconds: 1, out: (l) => lines.push(l) });
    run.catch(() => undefined); // awaited below
    await until(() => lines.some((l) => l.includes('reconciling every')), 'the reconcile loop to start', 60_000);
    // Then the newer Loom migrates, changing what the tick reads.
    const started = Date.now();
    await admin.query(`INSERT INTO loom_migrations (version, name) VALUES ($1, $2)`, [latest + 1, `${latest + 1}_from_a_newer_loom`]);
    await admin.query('ALTER TABLE tasks RENAME COLUMN lease_expires_at TO lease_ends_at');
    await expect(run).rejects.toMatchObject({ code: 'MIGRATION_AHEAD', hint: expect.stringMatching(/restart this process/) });
    expect(Date.now() - started).toBeLessThan(60_000); // it stopped by itself (a reconcile loop runs until told)
    expect(lines.join('\n')).toMatch(/a newer Loom migrated the database .*: stopping/);
  });
});
