/**
 * Server mode under a role that was given rights on Loom's tables but owns
 * none of them (migrations run by an admin role, agents by an app role): it
 * finds the schema up to date, works, and `loom doctor` says what it cannot
 * do (vacuum the tasks table after bursts). A right it lacks is a coded
 * DATABASE_PERMISSION error, not an INTERNAL one.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { loom, loomJson } from '../support/loom-cli.js';

const role = `loom_app_${randomBytes(4).toString('hex')}`;
let db: TestDatabase;
let admin: pg.Client;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  db = await createTestDatabase('role');
  dir = mkdtempSync(join(tmpdir(), 'loom-role-'));
  await loomJson(dir, ['init', '--name', 'role'], { LOOM_DATABASE_URL: db.url }); // migrated by the owner
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  await admin.query(`CREATE ROLE ${role} LOGIN`);
  await admin.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
  await admin.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`);
  await admin.query(`GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
  const url = new URL(db.url);
  url.username = role;
  url.password = '';
  env = { LOOM_DATABASE_URL: url.toString() };
});

afterAll(async () => {
  await admin?.query(`DROP OWNED BY ${role}`).catch(() => undefined);
  await admin?.end();
  await db?.drop();
  const server = new URL(db.url);
  server.pathname = '/postgres';
  const c = new pg.Client({ connectionString: server.toString() });
  await c.connect();
  await c.query(`DROP ROLE IF EXISTS ${role}`).finally(() => c.end());
  rmSync(dir, { recursive: true, force: true });
});

describe('server mode under a role that owns none of the tables', () => {
  it('finds the schema up to date and works', async () => {
    const m = await loom(dir, ['migrate'], env);
    expect(m.code, m.stdout + m.stderr).toBe(0);
    expect(m.stdout).toContain('up to date');
    const id = (await loomJson(dir, ['create', 'as the app role'], env)).id as string;
    const c = await loomJson(dir, ['claim', id, '--agent', 'app'], env);
    const d = await loomJson(dir, ['done', id, '--agent', 'app', '--token', c.lease.token], env);
    expect(d.task.status).toBe('done');
  });

  it('doctor warns that it cannot vacuum the tasks table, and says how to allow it', async () => {
    const r = await loom(dir, ['doctor', '--json'], env);
    expect(r.code, r.stdout + r.stderr).toBe(0); // a warning, not a failure
    const by = Object.fromEntries((JSON.parse(r.stdout) as Array<{ name: string; status: string; detail: string; fix?: string }>).map((c) => [c.name, c]));
    expect(by.database?.status).toBe('ok');
    expect(by.migrations?.status).toBe('ok');
    expect(by.vacuum?.status).toBe('warn');
    expect(by.vacuum?.detail).toContain(`role ${role} cannot vacuum the tasks table`);
    expect(by.vacuum?.fix).toContain(`ALTER TABLE tasks OWNER TO ${role}`);
  });

  it('a right it lacks is DATABASE_PERMISSION with a hint, and nothing is written', async () => {
    const before = (await admin.query('SELECT count(*)::int AS n FROM tasks')).rows[0].n;
    await admin.query(`REVOKE INSERT ON tasks FROM ${role}`);
    const r = await loom(dir, ['create', 'refused'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('DATABASE_PERMISSION: the database role may not do this: permission denied for table tasks');
    expect(r.stderr).toContain('hint: connect as the role that owns');
    expect((await admin.query('SELECT count(*)::int AS n FROM tasks')).rows[0].n).toBe(before);
  });
});
