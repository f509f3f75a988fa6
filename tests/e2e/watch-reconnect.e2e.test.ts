/**
 * `loom watch` across a daemon kill (issue 14, item 6): it does not end
 * silently; it reads the log again once a daemon answers (the next command
 * starts one) and prints what was committed meanwhile, each event once.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive } from '../runner/proc.js';
import { LOOM_BIN, loom, loomJson } from '../support/loom-cli.js';
import { until } from '../support/until.js';

describe('watch across a daemon kill (built binary, embedded)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-watch-kill-'));
  afterAll(async () => {
    await loom(dir, ['daemon', 'stop']);
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps following after SIGKILL of the daemon, missing nothing', { timeout: 300_000 }, async () => {
    await loomJson(dir, ['init', '--name', 'watch-kill']);
    const child = spawn(process.execPath, [LOOM_BIN, 'watch', '--json'], {
      cwd: dir,
      env: { ...process.env, LOOM_DATABASE_URL: '', LOOM_PROJECT_DIR: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    let exitCode: number | null | undefined;
    child.on('close', (code) => (exitCode = code));
    const events = () =>
      stdout
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as { id: number; type: string; task_id: string | null });
    const created = () => events().filter((e) => e.type === 'task.created').map((e) => e.task_id);
    try {
      const first = await loomJson(dir, ['create', 'before the kill']);
      await until(() => created().includes(first.id), 'watch to print the first task', 60_000, 50);
      const daemon = await loomJson(dir, ['daemon', 'status']);
      process.kill(daemon.pid, 'SIGKILL');
      await until(() => !isAlive(daemon.pid), 'the daemon to die', 30_000);
      const second = await loomJson(dir, ['create', 'after the kill']); // starts a new daemon
      await until(() => created().includes(second.id), 'watch to print the task made after the kill', 120_000, 100);
      expect(exitCode, stderr).toBeUndefined(); // still following
      expect(new Set(events().map((e) => e.id)).size).toBe(events().length); // each event once
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      await until(() => exitCode !== undefined, 'watch to stop', 30_000, 50);
    }
    expect(exitCode).toBe(0);
  });
});
