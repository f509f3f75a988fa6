/**
 * Postgres set-up mistakes get codes of their own with a hint that says what
 * to fix, never "a bug in Loom": a database that does not exist, a role that
 * does not exist, and a server that is not there (naming where it tried).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { loom } from '../support/loom-cli.js';

describe('Postgres set-up mistakes (built binary)', () => {
  let dir: string;
  let db: TestDatabase;
  // URLs of the tests' real server, each with one thing wrong.
  const withDatabase = (name: string): string => Object.assign(new URL(db.url), { pathname: `/${name}` }).href;
  const withUser = (user: string): string => Object.assign(new URL(db.url), { username: user }).href;
  beforeAll(async () => {
    db = await createTestDatabase('pg_mistakes');
    dir = mkdtempSync(join(tmpdir(), 'loom-pg-mistakes-'));
    // A server-mode project (its store recorded), so that every call below is about the database only:
    // the team's URL with one thing wrong.
    const init = await loom(dir, ['init', '--name', 'mistakes'], { LOOM_DATABASE_URL: db.url });
    expect(init.code, init.stderr).toBe(0);
  });
  afterAll(async () => {
    await loom(dir, ['daemon', 'stop']);
    rmSync(dir, { recursive: true, force: true });
    await db?.drop();
  });

  const cases: Array<[string, () => string, string, RegExp, RegExp]> = [
    ['a database that does not exist', () => withDatabase('loom_no_such_database_e2e'), 'DATABASE_NOT_FOUND', /database "loom_no_such_database_e2e" does not exist/, /create it/],
    // trust auth says the role does not exist; password auth that the password failed: both are the login
    ['a role that does not exist', () => withUser('loom_no_such_role_e2e'), 'DATABASE_AUTH_FAILED', /"loom_no_such_role_e2e"/, /check the (user|password)/],
    ['a server that is not there', () => 'postgres://postgres@127.0.0.1:1/postgres', 'DATABASE_UNAVAILABLE', /cannot be reached at 127\.0\.0\.1:1/, /host and port/],
  ];
  it.each(cases)('%s', async (_name, url, code, message, hint) => {
    const r = await loom(dir, ['status', '--json'], { LOOM_DATABASE_URL: url() });
    expect(r.code).toBe(1);
    const error = JSON.parse(r.stdout || r.stderr).error ?? JSON.parse(r.stdout || r.stderr);
    expect(error).toMatchObject({ code, message: expect.stringMatching(message), hint: expect.stringMatching(hint) });
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/bug in Loom|INTERNAL/);
  });
});
