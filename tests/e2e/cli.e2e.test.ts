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
import { until } from '../support/until.js';
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

// Every step below is a real `loom` process: ~0.5 s on a quiet machine, 5-12 s on a loaded one
// (load average 12 on 2 cores), and the first call of the embedded mode also starts the daemon.
// The longest test makes 15 rounds of calls: 200 s was seen for it at load 12, so 600 s.
const CLI_TEST_TIMEOUT_MS = 600_000;

describe.each(modes)('loom CLI end to end ($name)', { timeout: CLI_TEST_TIMEOUT_MS }, (mode) => {
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
    // Calls that do not depend on each other run side by side: each is a process start.
    const [b, c] = await Promise.all([json(['create', 'Build', '--depends-on', a.id]), json(['create', 'Docs', '--depends-on', a.id, '--priority', 'p2'])]);
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
    // bob takes the best ready task (b) whether or not carol has taken c, by id, already.
    const [claimB, claimC] = await Promise.all([json(['claim', '--agent', 'bob']), json(['claim', c.id, '--agent', 'carol'])]);
    expect(claimB.task.id).toBe(b.id);
    expect(claimC.task.id).toBe(c.id);
    expect((await json(['claim', '--agent', 'dave'])).claimed).toBe(false);

    const hb = await json(['heartbeat', b.id, '--agent', 'bob', '--token', claimB.lease.token, '--lease-seconds', '600']);
    expect(Date.parse(hb.lease.expires_at)).toBeGreaterThan(Date.parse(claimB.lease.expires_at));
    expect((await json(['done', b.id, '--agent', 'bob', '--token', claimB.lease.token])).unblocked).toEqual([]);
    expect((await json(['done', c.id, '--agent', 'carol', '--token', claimC.lease.token])).unblocked).toEqual([d.id]);

    const claimD = await json(['claim', '--agent', 'alice']);
    await json(['done', d.id, '--agent', 'alice', '--token', claimD.lease.token]);

    // The reads, all at once.
    const [overview, text, detail, mermaid, summary, events] = await Promise.all([
      json(['status']),
      run(['status']),
      run(['status', a.id]),
      run(['graph', '--format', 'mermaid']),
      run(['graph']),
      json<any[]>(['events']),
    ]);
    expect(overview.counts.done).toBe(4);
    expect(overview.total).toBe(4);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/done\s+4/);
    expect(detail.stdout).toContain('Design');

    expect(mermaid.code).toBe(0);
    expect(mermaid.stdout).toContain('flowchart TD');
    expect(mermaid.stdout).toContain(`${a.id.replace('-', '_')} --> ${b.id.replace('-', '_')}`);
    expect(summary.stdout).toContain('4 tasks, 4 dependencies');
    expect(events.filter((e) => e.type === 'task.done').map((e) => e.task_id).sort()).toEqual([a.id, b.id, c.id, d.id].sort());
  });

  it('gives bad input its coded error and writes nothing', async () => {
    const before = await json(['status']);
    // The refused calls, side by side (each is a process start); none of them writes.
    const [badJson, unknownDep, unknownTask, usage] = await Promise.all([
      run(['create', 'x', '--context', '{nope']),
      run(['create', 'x', '--depends-on', 'loom-00000000']),
      run(['status', 'loom-0000beef']),
      run(['claim']),
    ]);
    expect(badJson.code).toBe(1);
    expect(badJson.stderr).toMatch(/^VALIDATION_FAILED: /m);
    expect(unknownDep.code).toBe(1);
    expect(unknownDep.stderr).toContain('DEPENDENCY_NOT_FOUND');
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

    expect(usage.code).toBe(2);
    const after = await json(['status']);
    expect(after.total).toBe(before.total + 2);
  });

  it('watch replays the log, then follows new events live until Ctrl-C', async () => {
    const before = await json(['create', 'logged before watching']);
    const child = spawn(process.execPath, [LOOM_BIN, 'watch'], {
      cwd: dir,
      env: { ...process.env, LOOM_DATABASE_URL: '', LOOM_PROJECT_DIR: '', ...mode.env() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    // Text lines: `YYYY-MM-DD HH:MM:SS  #ID  TYPE  TASK ...`
    const seen = () => [...stdout.matchAll(/^\S+ \S+\s+#(\d+)\s+(\S+)\s+(\S+)/gm)].map(([, id, type, task]) => ({ id: Number(id), type, task_id: task }));
    const created = () => seen().filter((e) => e.type === 'task.created').map((e) => e.task_id);
    try {
      // It says so once the log is replayed and it follows (the process takes seconds to start on a busy machine).
      await until(() => stderr.includes('following '), 'watch to follow', 60_000, 50);
      expect(created()).toContain(before.id);
      const during = await json(['create', 'made while watching']);
      await until(() => created().includes(during.id), 'watch to print the task made while it watched', 60_000, 50);
      child.kill('SIGINT');
      expect(await exited, stderr).toBe(0);
      expect(new Set(seen().map((e) => e.id)).size).toBe(seen().length); // each event once
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('watch --for S --json replays as JSON lines and stops by itself', async () => {
    const latest = await json(['create', 'logged before a timed watch']);
    const r = await run(['watch', '--for', '1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const seen = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: number; type: string; task_id: string });
    expect(seen.filter((e) => e.type === 'task.created').map((e) => e.task_id)).toContain(latest.id);
    expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length); // each event once
  });

  it('doctor checks the setup and names what fails', async () => {
    const [healthy, badRedis] = await Promise.all([
      run(['doctor', '--json']),
      loom(dir, ['doctor'], { ...mode.env(), LOOM_REDIS_URL: 'redis://127.0.0.1:1' }),
    ]);
    expect(healthy.code, healthy.stdout + healthy.stderr).toBe(0);
    const checks = Object.fromEntries((JSON.parse(healthy.stdout) as Array<{ name: string; status: string }>).map((c) => [c.name, c.status]));
    expect(checks).toMatchObject({ config: 'ok', project: 'ok', database: 'ok', migrations: 'ok' });
    // server mode: Loom's role owns the tables it migrated, so it can vacuum them after bursts
    expect(checks.vacuum).toBe(mode.storage === 'server' ? 'ok' : undefined);
    expect(badRedis.code).toBe(1);
    expect(badRedis.stdout).toMatch(/redis\s+fail\s+redis:\/\/127\.0\.0\.1:1 is unreachable/);
  });

  it('stops quietly, exit 0, when the reader closes the pipe first (`loom status --json | head -0`)', async () => {
    const stopped = async (args: string[]) => {
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
      return { args, code, stderr };
    };
    // The three side by side: each is a process start.
    const results = await Promise.all([['status', '--json'], ['graph', '--format', 'json'], ['watch', '--json']].map(stopped));
    for (const { args, code, stderr } of results) expect({ args, code, stderr }).toEqual({ args, code: 0, stderr: '' });
  });

  it('says how to make a project where there is none', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'loom-e2e-empty-'));
    try {
      const [r, doctor] = await Promise.all([loom(empty, ['ready'], mode.env()), loom(empty, ['doctor'], mode.env())]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('NO_PROJECT: no project here: run `loom init`');
      expect(doctor.code).toBe(1);
      expect(doctor.stdout).toContain('project: run `loom init` in the project directory');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
