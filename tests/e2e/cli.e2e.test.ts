/**
 * The built `loom` binary, used as a newcomer would: a fresh directory,
 * `loom init`, a small DAG, claims and completions through the CLI, then
 * status and graph. Runs on the embedded default (through the daemon), in
 * server mode against a real Postgres database, and in server mode with
 * Redis (events across processes through the outbox relay, the read cache).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { LOOM_BIN, loom, loomJson } from '../support/loom-cli.js';
import { deleteKeys, testRedisUrl, uniquePrefix } from '../support/redis.js';

type Mode = { name: string; storage: 'embedded' | 'server'; env: () => Record<string, string> };
let db: TestDatabase;
let redisUrl: string;
const redisPrefix = uniquePrefix('cli-e2e');
beforeAll(async () => {
  db = await createTestDatabase('e2e');
  redisUrl = await testRedisUrl();
});
afterAll(async () => {
  await db?.drop();
  await deleteKeys(redisPrefix);
});

const modes: Mode[] = [
  { name: 'embedded', storage: 'embedded', env: () => ({ LOOM_DAEMON_IDLE_SECONDS: '60' }) },
  { name: 'server', storage: 'server', env: () => ({ LOOM_DATABASE_URL: db.url }) },
  { name: 'server with Redis', storage: 'server', env: () => ({ LOOM_DATABASE_URL: db.url, LOOM_REDIS_URL: redisUrl, LOOM_REDIS_PREFIX: redisPrefix }) },
];

describe.each(modes)('loom CLI end to end ($name)', (mode) => {
  let dir: string;
  const run = (args: string[]) => loom(dir, args, mode.env());
  const json = <T = any>(args: string[]) => loomJson<T>(dir, args, mode.env());

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), `loom-e2e-${mode.name.replace(/\W+/g, '-')}-`));
  });
  afterAll(async () => {
    if (mode.name === 'embedded') await run(['daemon', 'stop']);
    rmSync(dir, { recursive: true, force: true });
  });

  it('init writes the config and is idempotent', async () => {
    const first = await json(['init', '--name', 'e2e']);
    expect(first.created).toBe(true);
    expect(first.mode).toBe(mode.storage);
    const config = readFileSync(join(dir, '.loom/config.yaml'), 'utf8');
    expect(config).toContain(first.project.id);
    const again = await json(['init']);
    expect(again.created).toBe(false);
    expect(again.project.id).toBe(first.project.id);
    expect(readFileSync(join(dir, '.loom/config.yaml'), 'utf8')).toBe(config);
  });

  it('runs a small DAG to completion: claims, completions, unblocking, status and graph', async () => {
    const a = await json(['create', 'Design', '--priority', 'p0']);
    const b = await json(['create', 'Build', '--depends-on', a.id]);
    const c = await json(['create', 'Docs', '--depends-on', a.id, '--priority', 'p2']);
    const d = await json(['create', 'Release', '--depends-on', b.id, '--depends-on', c.id, '--context', '{"channel":"stable"}']);
    expect([a.status, b.status, c.status, d.status]).toEqual(['pending', 'blocked', 'blocked', 'blocked']);
    expect(d.context).toEqual({ channel: 'stable' });

    const ready = await json<any[]>(['ready']);
    expect(ready.map((t) => t.id)).toEqual([a.id]);

    const claimA = await json(['claim', '--agent', 'alice']);
    expect(claimA.claimed).toBe(true);
    expect(claimA.task.id).toBe(a.id);
    const doneA = await json(['done', a.id, '--agent', 'alice', '--token', claimA.lease.token, '--output', '{"ok":true}']);
    expect(doneA.unblocked.sort()).toEqual([b.id, c.id].sort());

    // Ready order: priority first (b is p1, c is p2).
    expect((await json<any[]>(['ready'])).map((t) => t.id)).toEqual([b.id, c.id]);
    const claimB = await json(['claim', '--agent', 'bob']);
    const claimC = await json(['claim', c.id, '--agent', 'carol']);
    expect(claimB.task.id).toBe(b.id);
    expect(claimC.task.id).toBe(c.id);
    expect((await json(['claim', '--agent', 'dave'])).claimed).toBe(false);

    const hb = await json(['heartbeat', b.id, '--agent', 'bob', '--token', claimB.lease.token, '--lease-seconds', '600']);
    expect(Date.parse(hb.lease.expires_at)).toBeGreaterThan(Date.parse(claimB.lease.expires_at));
    expect((await json(['done', b.id, '--agent', 'bob', '--token', claimB.lease.token])).unblocked).toEqual([]);
    expect((await json(['done', c.id, '--agent', 'carol', '--token', claimC.lease.token])).unblocked).toEqual([d.id]);

    const claimD = await json(['claim', '--agent', 'alice']);
    await json(['done', d.id, '--agent', 'alice', '--token', claimD.lease.token]);

    const overview = await json(['status']);
    expect(overview.counts.done).toBe(4);
    expect(overview.total).toBe(4);
    const text = await run(['status']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/done\s+4/);
    const detail = await run(['status', a.id]);
    expect(detail.stdout).toContain('Design');

    const mermaid = await run(['graph', '--format', 'mermaid']);
    expect(mermaid.code).toBe(0);
    expect(mermaid.stdout).toContain('flowchart TD');
    expect(mermaid.stdout).toContain(`${a.id.replace('-', '_')} --> ${b.id.replace('-', '_')}`);
    const summary = await run(['graph']);
    expect(summary.stdout).toContain('4 tasks, 4 dependencies');
    const events = await json<any[]>(['events']);
    expect(events.filter((e) => e.type === 'task.done').map((e) => e.task_id).sort()).toEqual([a.id, b.id, c.id, d.id].sort());
  });

  it('gives bad input its coded error and writes nothing', async () => {
    const before = await json(['status']);
    const badJson = await run(['create', 'x', '--context', '{nope']);
    expect(badJson.code).toBe(1);
    expect(badJson.stderr).toMatch(/^VALIDATION_FAILED: /m);
    const unknownDep = await run(['create', 'x', '--depends-on', 'loom-00000000']);
    expect(unknownDep.code).toBe(1);
    expect(unknownDep.stderr).toContain('DEPENDENCY_NOT_FOUND');
    const unknownTask = await run(['status', 'loom-0000beef']);
    expect(unknownTask.code).toBe(1);
    expect(unknownTask.stderr).toMatch(/TASK_NOT_FOUND: .*\nhint: /);

    const x = await json(['create', 'X']);
    const y = await json(['create', 'Y', '--depends-on', x.id]);
    const cycle = await run(['update', x.id, '--depends-on', y.id]);
    expect(cycle.code).toBe(1);
    expect(cycle.stderr).toContain(`DEPENDENCY_CYCLE: dependency cycle: ${x.id} -> ${y.id} -> ${x.id}`);
    expect((await json(['status', x.id])).task.depends_on).toEqual([]);

    const claim = await json(['claim', x.id, '--agent', 'alice']);
    const wrongToken = await run(['done', x.id, '--agent', 'mallory', '--token', 'lease-forged']);
    expect(wrongToken.code).toBe(1);
    expect(wrongToken.stderr).toContain('LEASE_LOST');
    expect((await json(['status', x.id])).task.status).toBe('claimed');
    await json(['done', x.id, '--agent', 'alice', '--token', claim.lease.token]);
    const illegal = await run(['cancel', x.id]);
    expect(illegal.code).toBe(1);
    expect(illegal.stderr).toContain('INVALID_TRANSITION');

    const usage = await run(['claim']);
    expect(usage.code).toBe(2);
    const after = await json(['status']);
    expect(after.total).toBe(before.total + 2);
  });

  it('watch replays the log, then follows new events live', async () => {
    const before = await json(['create', 'logged before watching']);
    const watching = loom(dir, ['watch', '--for', '5', '--json'], mode.env());
    await new Promise((r) => setTimeout(r, 2000));
    const during = await json(['create', 'made while watching']);
    const r = await watching;
    expect(r.code, r.stderr).toBe(0);
    const seen = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: number; type: string; task_id: string });
    const created = seen.filter((e) => e.type === 'task.created').map((e) => e.task_id);
    expect(created).toContain(before.id);
    expect(created).toContain(during.id);
    expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length); // each event once
  });

  it('doctor checks the setup and names what fails', async () => {
    const healthy = await run(['doctor', '--json']);
    expect(healthy.code, healthy.stdout + healthy.stderr).toBe(0);
    const checks = Object.fromEntries((JSON.parse(healthy.stdout) as Array<{ name: string; status: string }>).map((c) => [c.name, c.status]));
    expect(checks).toMatchObject({ config: 'ok', project: 'ok', database: 'ok', migrations: 'ok' });
    // server mode: Loom's role owns the tables it migrated, so it can vacuum them after bursts
    expect(checks.vacuum).toBe(mode.storage === 'server' ? 'ok' : undefined);
    const badRedis = await loom(dir, ['doctor'], { ...mode.env(), LOOM_REDIS_URL: 'redis://127.0.0.1:1' });
    expect(badRedis.code).toBe(1);
    expect(badRedis.stdout).toMatch(/redis\s+fail\s+redis:\/\/127\.0\.0\.1:1 is unreachable/);
  });

  it('stops quietly, exit 0, when the reader closes the pipe first (`loom status --json | head -0`)', async () => {
    for (const args of [['status', '--json'], ['graph', '--format', 'json'], ['watch', '--json']]) {
      const child = spawn(process.execPath, [LOOM_BIN, ...args], {
        cwd: dir,
        env: { ...process.env, LOOM_DATABASE_URL: '', LOOM_PROJECT_DIR: '', ...mode.env() },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.destroy(); // the reader is gone before the first line is written
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      // watch would follow forever: it ends because its output has nowhere to go
      expect({ args, code, stderr }).toEqual({ args, code: 0, stderr: '' });
    }
  });

  it('says how to make a project where there is none', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'loom-e2e-empty-'));
    try {
      const r = await loom(empty, ['ready'], mode.env());
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('NO_PROJECT: no project here: run `loom init`');
      const doctor = await loom(empty, ['doctor'], mode.env());
      expect(doctor.code).toBe(1);
      expect(doctor.stdout).toContain('project: run `loom init` in the project directory');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
