/** `loom orchestrate --run` from the built CLI, on the embedded default: done, failed, hung (killed), and at most N at once. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loom, loomJson } from '../support/loom-cli.js';

describe('loom orchestrate --run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-orch-e2e-'));
  const env = { LOOM_DAEMON_IDLE_SECONDS: '60', LOOM_LEASE_SECONDS: '30' };
  afterAll(async () => {
    await loom(dir, ['daemon', 'stop'], env);
    rmSync(dir, { recursive: true, force: true });
  });

  // A dozen `loom` processes (3-6 s each on a loaded machine); the independent ones run side by side.
  it('runs every ready task through the command and records what happened', { timeout: 300_000 }, async () => {
    await loomJson(dir, ['init', '--name', 'runner'], env);
    const [failing, ...ok] = (
      await Promise.all([
        loomJson(dir, ['create', 'fail always', '--max-attempts', '1'], env),
        ...Array.from({ length: 4 }, (_, i) => loomJson(dir, ['create', `build part ${i}`], env)),
      ])
    ).map((t: { id: string }) => t.id);
    // The oldest ready task runs first: the hung one, whose end the log cannot show, runs last.
    const hung: string = (await loomJson(dir, ['create', 'hang forever', '--max-attempts', '1'], env)).id;
    const log = join(dir, 'runs.log');
    // Each job logs its start and end; "fail" titles exit 3, "hang" titles sleep past the timeout.
    const template =
      `echo "start $LOOM_TASK_ID $(date +%s%N)" >> ${log}; ` +
      `case "$LOOM_TASK_TITLE" in *fail*) echo "end $LOOM_TASK_ID $(date +%s%N)" >> ${log}; exit 3;; *hang*) sleep 100;; esac; ` +
      `echo "end $LOOM_TASK_ID $(date +%s%N)" >> ${log}; printf '{"built":"%s"}' "$LOOM_TASK_ID"`;
    const r = await loom(dir, ['orchestrate', '--run', template, '--concurrency', '2', '--timeout', '3', '--exit-when-idle'], env);
    // Both the failing and the hung task had one attempt: dead letters, so the run exits 3.
    expect(r.code, r.stderr + r.stdout).toBe(3);
    expect(r.stdout).toMatch(/runner finished: done 4, failed 1, timed out 1, released 0, lease lost 0, rate-limited 0, dead-lettered 2/);

    const [h, f, ...done] = await Promise.all([hung, failing!, ...ok].map(async (id) => (await loomJson(dir, ['status', id], env)).task));
    ok.forEach((id, i) => expect(done[i]).toMatchObject({ status: 'done', output: { built: id } }));
    expect(f).toMatchObject({ status: 'failed' });
    expect(h.status).toBe('failed');
    expect(h.failure_reason).toContain('timed out');
    // Never more than 2 jobs at once.
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' '));
    let running = 0;
    let most = 0;
    const points = lines.map(([kind, , t]) => [BigInt(t!), kind === 'start' ? 1 : -1] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
    for (const [, d] of points) most = Math.max(most, (running += d));
    expect(most).toBeLessThanOrEqual(2);
    expect(lines.filter(([k]) => k === 'start')).toHaveLength(6);
  });

  it('refuses a template that puts a placeholder inside single quotes (it could not be quoted safely)', async () => {
    const r = await loom(dir, ['orchestrate', '--run', "echo '{title}'", '--exit-when-idle'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/VALIDATION_FAILED: .*single quotes/);
  });

  it('refuses bad flags as input errors', async () => {
    const r = await loom(dir, ['orchestrate', '--once', '--concurrency', '2'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('VALIDATION_FAILED');
    const once = await loom(dir, ['orchestrate', '--once'], env);
    expect(once.code).toBe(0);
    expect(once.stdout).toContain('tick:');
  });
});
