/** The embedded daemon killed outright: the next command starts a new one, and nothing committed is lost. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive } from '../runner/proc.js';
import { loom, loomJson } from '../support/loom-cli.js';
import { until } from '../support/until.js';

describe('daemon crash', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-crash-'));
  const env = { LOOM_DAEMON_IDLE_SECONDS: '60' };
  afterAll(async () => {
    await loom(dir, ['daemon', 'stop'], env);
    rmSync(dir, { recursive: true, force: true });
  });

  // Nine `loom` processes in a row and two daemon starts: 3-6 s each on a loaded machine.
  it('recovers from SIGKILL with committed work intact and a claim still fenced', { timeout: 300_000 }, async () => {
    await loomJson(dir, ['init', '--name', 'crash'], env);
    const a = await loomJson(dir, ['create', 'survives', '--priority', 'p0'], env);
    const b = await loomJson(dir, ['create', 'also survives', '--depends-on', a.id], env);
    const claim = await loomJson(dir, ['claim', '--agent', 'alice'], env);
    const first = await loomJson(dir, ['daemon', 'status'], env);
    expect(first.running).toBe(true);

    process.kill(first.pid, 'SIGKILL');
    await until(() => !isAlive(first.pid), 'the daemon to die', 30_000);

    const overview = await loomJson(dir, ['status'], env); // starts a new daemon
    expect(overview.total).toBe(2);
    expect(overview.counts.claimed).toBe(1);
    const second = await loomJson(dir, ['daemon', 'status'], env);
    expect(second.pid).not.toBe(first.pid);
    // The lease taken before the crash still works for its holder, and only for it.
    const forged = await loom(dir, ['done', a.id, '--agent', 'mallory', '--token', 'lease-forged'], env);
    expect(forged.code).toBe(1);
    const done = await loomJson(dir, ['done', a.id, '--agent', 'alice', '--token', claim.lease.token], env);
    expect(done.unblocked).toEqual([b.id]);
  });
});
