/**
 * `loom fsck` and `loom doctor --deep` through the built binary. Embedded:
 * a fresh project checks ok through the daemon (whose data no one else may
 * touch). Server mode: the database is damaged by SQL from outside, and the
 * CLI names the damaged tasks, exits 1, repairs what it can and still
 * reports the rest.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { loom, loomJson } from '../support/loom-cli.js';

describe('loom fsck end to end (embedded)', () => {
  let dir: string;
  const env = { LOOM_DAEMON_IDLE_SECONDS: '60' };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loom-fsck-embedded-'));
    await loomJson(dir, ['init', '--name', 'fsck-embedded'], env);
  });
  afterAll(async () => {
    await loom(dir, ['daemon', 'stop'], env);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a fresh project, then a small worked graph: exit 0, ok', async () => {
    const empty = await loom(dir, ['fsck'], env);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toBe('checked 0 tasks, 0 dependencies, 1 event\n\nok: no violations\n');

    const a = await loomJson(dir, ['create', 'design'], env);
    await loomJson(dir, ['create', 'build', '--depends-on', a.id], env);
    const claim = await loomJson(dir, ['claim', '--agent', 'alice'], env);
    await loomJson(dir, ['done', a.id, '--agent', 'alice', '--token', claim.lease.token], env);

    const report = await loomJson(dir, ['fsck'], env);
    expect(report).toEqual({
      ok: true,
      project_id: expect.stringMatching(/^prj-/),
      checked: { tasks: 2, edges: 1, events: expect.any(Number) },
      violations: [],
      due: [],
      totals: { violations: 0, due: 0 },
    });
    const repaired = await loomJson(dir, ['fsck', '--repair'], env);
    expect(repaired).toMatchObject({ ok: true, repaired: { counts: { unmet_deps: 0, weights: 0, unblocked: 0, blocked: 0 } } });
  });

  it('loom doctor --deep adds an ok invariants line', async () => {
    const checks = await loomJson<Array<{ name: string; status: string; detail: string }>>(dir, ['doctor', '--deep'], env);
    expect(checks.find((c) => c.name === 'invariants')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^2 tasks, 1 dependency, \d+ events in \d+ ms: no violations$/) });
    const plain = await loomJson<Array<{ name: string }>>(dir, ['doctor'], env);
    expect(plain.map((c) => c.name)).not.toContain('invariants');
  });
});

describe('loom fsck end to end (server mode, damaged by SQL)', () => {
  let db: TestDatabase;
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    db = await createTestDatabase('fsck_e2e');
    dir = mkdtempSync(join(tmpdir(), 'loom-fsck-server-'));
    env = { LOOM_DATABASE_URL: db.url };
    await loomJson(dir, ['init', '--name', 'fsck-server'], env);
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await db?.drop();
  });

  const sql = async (text: string, params: unknown[]): Promise<void> => {
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      await pool.query(text, params);
    } finally {
      await pool.end();
    }
  };

  it('names the damaged tasks and exits 1; --repair recomputes the counters and leaves the rest reported', async () => {
    const a = await loomJson(dir, ['create', 'a'], env);
    const b = await loomJson(dir, ['create', 'b', '--depends-on', a.id], env);
    const c = await loomJson(dir, ['create', 'c', '--depends-on', a.id], env);
    expect((await loom(dir, ['fsck'], env)).code).toBe(0);

    await sql('UPDATE tasks SET unmet_deps = 5 WHERE id = $1', [b.id]);
    await sql(`UPDATE tasks SET status = 'done', blocked_reason = NULL WHERE id = $1`, [c.id]);

    const damaged = await loom(dir, ['fsck'], env);
    expect(damaged.code).toBe(1);
    expect(damaged.stdout).toMatch(new RegExp(`^ {2}unmet_deps\\s+${b.id}\\s+${b.id} has unmet_deps 5, but 1 of its 1 dependency is not done$`, 'm'));
    expect(damaged.stdout).toMatch(new RegExp(`^ {2}done_dependencies\\s+${c.id},${a.id}\\s+${c.id} is done but 1 dependency is not: ${a.id}$`, 'm'));
    expect(damaged.stdout).toMatch(new RegExp(`^ {2}events\\s+${c.id}\\s+`, 'm'));
    expect(damaged.stdout).toMatch(new RegExp(`^ {2}weight\\s+${a.id}\\s+`, 'm'));
    expect(damaged.stdout.trimEnd().split('\n').at(-1)).toMatch(/^4 violations found: `loom fsck --repair` recomputes/);

    const json = await loom(dir, ['fsck', '--json'], env);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, totals: { violations: 4, due: 0 } });

    const doctor = await loom(dir, ['doctor', '--deep'], env);
    expect(doctor.code).toBe(1);
    const line = /^invariants\s+fail\s+3 tasks, 2 dependencies, \d+ events in \d+ ms: 4 violation\(s\) \(([a-z_, ]+)\)$/m.exec(doctor.stdout);
    expect(line?.[1]?.split(', ').sort()).toEqual(['done_dependencies', 'events', 'unmet_deps', 'weight']);
    expect(doctor.stdout).toMatch(/^invariants: `loom fsck` lists them/m);

    const repair = await loom(dir, ['fsck', '--repair'], env);
    expect(repair.code).toBe(1);
    expect(repair.stdout).toContain(`  1 unmet_deps counter(s) recounted: ${b.id}\n  1 weight(s) recomputed: ${a.id}\n`);
    expect(repair.stdout.trimEnd().split('\n').at(-1)).toBe('2 violations remain: these need a person');
    const after = await loomJson(dir, ['status', b.id], env);
    expect(after.task).toMatchObject({ unmet_deps: 1, weight: 0 });
  });
});
