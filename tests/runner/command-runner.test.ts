/** The command runner: what reaches the process, and that stopping a job leaves nothing of it running. */
import { taskFixture } from '../support/task-fixture.js';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CommandRunner } from '../../src/adapters/runner/command-runner.js';
import { shellQuote } from '../../src/adapters/runner/template.js';
import type { Task } from '../../src/domain/task.js';
import type { RunJob } from '../../src/ports/agent-runner.js';
import { liveInGroup, until } from './proc.js';

const ECHO = resolve(import.meta.dirname, '../fixtures/runner/echo-env.mjs');
const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'loom-runner-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

// The runner reads only the id and title; the rest is a plausible claimed task.
const task = (title: string): Task =>
  taskFixture({ id: 'loom-0a1b2c3d', title, status: 'claimed', assignee: 'runner-0', attempts: 1, lease_token: 'tok-123' });

const job = (dir: string, over: Partial<RunJob> = {}): RunJob => ({
  task: task('a task'),
  lease_token: 'tok-123',
  agent_id: 'runner-0',
  project_id: 'proj-1',
  project_dir: dir,
  timeout_ms: null,
  ...over,
});

describe('CommandRunner', () => {
  it('passes the task through quoted placeholders and LOOM_* variables, and never executes what a title holds', async () => {
    const dir = tempDir();
    const title = `it's "quoted" $(touch ${dir}/pwned1) \`touch ${dir}/pwned2\` ; touch ${dir}/pwned3 | \${HOME} {title}`;
    const runner = new CommandRunner({
      template: `node ${shellQuote(ECHO)} {task_id} {title} {lease_token} {project_id} {project_dir} {agent_id} {unknown}`,
    });
    const outcome = await runner.start(job(dir, { task: task(title) })).result;
    expect(outcome).toMatchObject({ kind: 'exited', code: 0, stderr_tail: '' });
    if (outcome.kind !== 'exited') throw new Error('not exited');
    const seen = JSON.parse(outcome.stdout) as { argv: string[]; env: Record<string, string>; cwd: string };
    expect(seen.argv).toEqual(['loom-0a1b2c3d', title, 'tok-123', 'proj-1', dir, 'runner-0', '{unknown}']);
    expect(seen.env).toMatchObject({
      LOOM_TASK_ID: 'loom-0a1b2c3d',
      LOOM_TASK_TITLE: title,
      LOOM_LEASE_TOKEN: 'tok-123',
      LOOM_AGENT_ID: 'runner-0',
      LOOM_PROJECT_ID: 'proj-1',
      LOOM_PROJECT_DIR: dir,
    });
    expect(seen.cwd).toBe(dir);
    expect(readdirSync(dir)).toEqual([]); // no pwned* file: nothing in the title ran
  });

  it('reports the exit code, stdout and the tail of stderr', async () => {
    const dir = tempDir();
    const runner = new CommandRunner({ template: `echo out; printf 'x%.0s' $(seq 1 6000) >&2; echo ' the end' >&2; exit 7` });
    const outcome = await runner.start(job(dir)).result;
    expect(outcome).toMatchObject({ kind: 'exited', code: 7, stdout: 'out\n' });
    if (outcome.kind !== 'exited') throw new Error('not exited');
    expect(Buffer.byteLength(outcome.stderr_tail)).toBe(4096);
    expect(outcome.stderr_tail.endsWith('xxx the end\n')).toBe(true);
  });

  it('on timeout kills the whole tree (child and grandchildren) and verifies it is gone before reporting', async () => {
    const dir = tempDir();
    const runner = new CommandRunner({ template: `sh -c 'sleep 100 & sleep 100 & wait'` });
    // A timeout well past the few forks it takes the tree to form, even on a loaded machine: it must be seen whole first.
    const running = runner.start(job(dir, { timeout_ms: 3000 }));
    const pgid = running.pid!;
    // sh -c (the template's shell), the inner sh and its two sleeps: all in the job's group
    const members = await until(() => (liveInGroup(pgid).length >= 3 ? liveInGroup(pgid) : null), 30_000, 'the process tree');
    expect(members.length).toBeGreaterThanOrEqual(3);
    const outcome = await running.result;
    expect(outcome).toEqual({ kind: 'killed', reason: 'timeout' });
    expect(liveInGroup(pgid)).toEqual([]);
  });

  it('escalates to SIGKILL when the tree ignores SIGTERM, and kill() resolves only once it is gone', async () => {
    const dir = tempDir();
    const runner = new CommandRunner({ template: `trap '' TERM; sleep 100 & sleep 100 & wait`, killGraceMs: 400 });
    const running = runner.start(job(dir));
    const pgid = running.pid!;
    await until(() => liveInGroup(pgid).length >= 3, 30_000, 'the process tree');
    const t0 = Date.now();
    await running.kill('shutdown');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(390); // SIGTERM was ignored for the whole grace period
    expect(liveInGroup(pgid)).toEqual([]);
    expect(await running.result).toEqual({ kind: 'killed', reason: 'shutdown' });
    await running.kill('timeout'); // idempotent
    expect(await running.result).toEqual({ kind: 'killed', reason: 'shutdown' });
  });

  it('stops what the command left running in its group when it exits, keeping its exit as the outcome', async () => {
    const dir = tempDir();
    const runner = new CommandRunner({ template: `sleep 100 & echo started` });
    const running = runner.start(job(dir));
    const outcome = await running.result;
    expect(outcome).toMatchObject({ kind: 'exited', code: 0, stdout: 'started\n' });
    expect(liveInGroup(running.pid!)).toEqual([]);
  });

  it('reports a command that cannot start as spawn_failed', async () => {
    const dir = tempDir();
    const badShell = new CommandRunner({ template: 'true', shell: join(dir, 'no-such-shell') });
    expect((await badShell.start(job(dir)).result).kind).toBe('spawn_failed');
    const noDir = new CommandRunner({ template: 'true' });
    const r = await noDir.start(job(join(dir, 'missing'))).result;
    expect(r).toMatchObject({ kind: 'spawn_failed' });
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });
});
