/**
 * #14 defect 1, as written: `LOOM_DATABASE_URL=... loom init --name app`, then
 * a process started without the variable (the `loom mcp` Claude Code starts,
 * a second shell, cron). Before, it quietly opened a new embedded database in
 * the same directory, said PROJECT_NOT_FOUND, and `loom init` made a second
 * project there. Now the config records where the project lives (store and
 * the database's store id), and every process that would open another store
 * refuses with STORE_MISMATCH naming the variable: no embedded database is
 * made, no second project. A URL to a different database is refused too.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { loom, loomJson } from '../support/loom-cli.js';
import { McpProcess } from '../support/mcp-process.js';

let db: TestDatabase;
let other: TestDatabase;
let dir: string;
let home: string;
let projectId: string;
const TIMEOUT_MS = 180_000;

beforeAll(async () => {
  [db, other] = await Promise.all([createTestDatabase('store-mismatch'), createTestDatabase('store-other')]);
  dir = mkdtempSync(join(tmpdir(), 'loom-store-mismatch-'));
  home = mkdtempSync(join(tmpdir(), 'loom-store-mismatch-home-'));
  const init = await loomJson(dir, ['init', '--name', 'app'], { LOOM_HOME: home, LOOM_DATABASE_URL: db.url });
  projectId = init.project.id;
  await loomJson(dir, ['create', 'team work'], { LOOM_HOME: home, LOOM_DATABASE_URL: db.url });
}, TIMEOUT_MS);

afterAll(async () => {
  await Promise.all([db?.drop(), other?.drop()]);
  for (const d of [dir, home]) if (d !== undefined) rmSync(d, { recursive: true, force: true });
});

describe('a server-mode project opened with another store', () => {
  it('records the store in the project config', () => {
    const config = readFileSync(join(dir, '.loom', 'config.yaml'), 'utf8');
    expect(config).toMatch(/store: server/);
    expect(config).toMatch(/store_id: [0-9a-f-]{36}/);
    expect(config).not.toContain(db.url); // no URL (nor a password) in a file the team commits
  });

  it('without the URL: status and init refuse with STORE_MISMATCH, and no embedded database or second project appears', async () => {
    const env = { LOOM_HOME: home, LOOM_DATABASE_URL: '' };
    const status = await loom(dir, ['status'], env);
    expect(status.code).toBe(1);
    expect(status.stderr).toContain('STORE_MISMATCH');
    expect(status.stderr).toContain('LOOM_DATABASE_URL');
    const init = await loom(dir, ['init'], env);
    expect(init.code).toBe(1);
    expect(init.stderr).toContain('STORE_MISMATCH');
    const json = await loom(dir, ['status', '--json'], env);
    expect(JSON.parse(json.stderr || json.stdout)).toEqual(expect.objectContaining({ error: expect.objectContaining({ code: 'STORE_MISMATCH' }) }));
    expect(existsSync(join(dir, '.loom', 'data'))).toBe(false);
    expect(readFileSync(join(dir, '.loom', 'config.yaml'), 'utf8')).toContain(projectId);

    // The team's database still has exactly the one project, with its task.
    const projects = await loomJson(dir, ['project', 'list'], { LOOM_HOME: home, LOOM_DATABASE_URL: db.url });
    expect(projects.projects.map((p: { id: string }) => p.id)).toEqual([projectId]);
  }, TIMEOUT_MS);

  it('the loom mcp that Claude Code starts without the URL answers every tool with STORE_MISMATCH, saying why', async () => {
    const mcp = await McpProcess.start(dir, [], { LOOM_HOME: home });
    try {
      const r = await mcp.call('loom_ready', {});
      expect(r.isError).toBe(true);
      expect(r.text).toContain('STORE_MISMATCH');
      expect(r.text).toContain('LOOM_DATABASE_URL');
    } finally {
      await mcp.close();
    }
    expect(existsSync(join(dir, '.loom', 'data'))).toBe(false);
  }, TIMEOUT_MS);

  it('a URL to a different database is refused, and that database gets no project', async () => {
    const r = await loom(dir, ['status'], { LOOM_HOME: home, LOOM_DATABASE_URL: other.url });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('STORE_MISMATCH');
    expect(r.stderr).toMatch(/store id/);
    // project list reads whichever store it is given (it is how you find the right one): nothing was made there.
    const there = await loomJson(dir, ['project', 'list'], { LOOM_HOME: home, LOOM_DATABASE_URL: other.url });
    expect(there.projects).toEqual([]);
  }, TIMEOUT_MS);

  it('with the right URL everything works as before', async () => {
    const status = await loomJson(dir, ['status'], { LOOM_HOME: home, LOOM_DATABASE_URL: db.url });
    expect(JSON.stringify(status)).toContain(projectId);
  }, TIMEOUT_MS);
});

describe('an embedded project given a database URL', () => {
  it('refuses everyday commands with STORE_MISMATCH, and `loom init` with the URL moves the project, tasks and all, to the server', async () => {
    const local = mkdtempSync(join(tmpdir(), 'loom-store-embedded-'));
    const env = { LOOM_HOME: home };
    try {
      const init = await loomJson(local, ['init', '--name', 'solo'], env);
      expect(readFileSync(join(local, '.loom', 'config.yaml'), 'utf8')).toMatch(/store: embedded/);
      const task = await loomJson(local, ['create', 'made before the move'], env);
      const status = await loom(local, ['status'], { ...env, LOOM_DATABASE_URL: other.url });
      expect(status.code).toBe(1);
      expect(status.stderr).toContain('STORE_MISMATCH');
      expect(status.stderr).toContain('loom init');
      const moved = await loomJson(local, ['init'], { ...env, LOOM_DATABASE_URL: other.url });
      expect(moved).toEqual(expect.objectContaining({ mode: 'server', project: expect.objectContaining({ id: init.project.id }) }));
      // The task (and its history) went with the project.
      expect(moved.moved).toEqual(expect.objectContaining({ project_id: init.project.id, counts: expect.objectContaining({ task: 1 }) }));
      const shown = await loomJson(local, ['show', task.id], { ...env, LOOM_DATABASE_URL: other.url });
      expect(JSON.stringify(shown)).toContain('made before the move');
      expect(readFileSync(join(local, '.loom', 'config.yaml'), 'utf8')).toMatch(/store: server\n\s+store_id: [0-9a-f-]{36}/);
      const after = await loomJson(local, ['status'], { ...env, LOOM_DATABASE_URL: other.url });
      expect(JSON.stringify(after)).toContain(init.project.id);
    } finally {
      await loom(local, ['daemon', 'stop'], env);
      rmSync(local, { recursive: true, force: true });
    }
  }, TIMEOUT_MS);
});
