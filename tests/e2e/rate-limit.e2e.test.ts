/**
 * `loom orchestrate --run` with an agent command that hits Claude Code's usage
 * limit once: the task uses no attempt (it has only one), the runner pauses
 * its claims until the reset the message names, says when it resumes, and the
 * task is done on the next run.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loom, loomJson } from '../support/loom-cli.js';

describe('loom orchestrate --run, rate-limited once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-ratelimit-e2e-'));
  const env = { LOOM_DAEMON_IDLE_SECONDS: '60', LOOM_LEASE_SECONDS: '30' };
  afterAll(async () => {
    await loom(dir, ['daemon', 'stop'], env);
    rmSync(dir, { recursive: true, force: true });
  });

  it('uses no attempt, pauses until the reset, then finishes the task', { timeout: 180_000 }, async () => {
    await loomJson(dir, ['init', '--name', 'limits'], env);
    const task: string = (await loomJson(dir, ['create', 'write the parser', '--max-attempts', '1'], env)).id;
    const marker = join(dir, 'limited-once');
    // First run: Claude Code's JSON result for a usage limit that resets in 3 s, exit 1. Then: success.
    const template =
      `if [ ! -e ${marker} ]; then touch ${marker}; ` +
      `printf '{"type":"result","subtype":"success","is_error":true,"result":"Claude AI usage limit reached|%s","total_cost_usd":0}\\n' "$(( $(date +%s) + 3 ))"; exit 1; fi; ` +
      `printf '{"parsed":true}'`;
    const r = await loom(dir, ['orchestrate', '--run', template, '--exit-when-idle'], env);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(existsSync(marker)).toBe(true);
    expect(r.stdout).toMatch(new RegExp(`${task} rate-limited \\(Claude Code reported its usage limit\\): no attempt used; new claims paused until \\S+`));
    expect(r.stdout).toContain('rate limit reset: resuming dispatch');
    expect(r.stdout).toMatch(/runner finished: done 1, failed 0, timed out 0, released 0, lease lost 0, rate-limited 1, dead-lettered 0/);

    const status = (await loomJson(dir, ['status', task], env)).task;
    expect(status).toMatchObject({ status: 'done', attempts: 1, max_attempts: 1, output: { parsed: true } });
    const events = ((await loomJson(dir, ['events', '--limit', '1000'], env)) as Array<{ type: string; task_id: string | null }>).filter((e) => e.task_id === task);
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['task.rate_limited', 'task.done']));
    expect(events.map((e) => e.type)).not.toContain('task.failed');
  });

  it('refuses bad --rate-limit-* options, and --rate-limited-until on loom fail, as input errors', async () => {
    const bad = await loom(dir, ['orchestrate', '--run', 'true', '--rate-limit-pattern', '(unclosed', '--exit-when-idle'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/VALIDATION_FAILED: --rate-limit-pattern is not a valid regular expression/);
    const alone = await loom(dir, ['orchestrate', '--once', '--rate-limit-exit-code', '75'], env);
    expect(alone.code).toBe(1);
    expect(alone.stderr).toContain('go with --run');
    const t: string = (await loomJson(dir, ['create', 'limited by hand'], env)).id;
    const c = await loomJson(dir, ['claim', t, '--agent', 'me'], env);
    const when = await loom(dir, ['fail', t, '--agent', 'me', '--token', c.lease.token, '--reason', 'limit', '--rate-limited-until', 'soon'], env);
    expect(when.code).toBe(1);
    expect(when.stderr).toContain('VALIDATION_FAILED');
    const ok = await loom(dir, ['fail', t, '--agent', 'me', '--token', c.lease.token, '--reason', 'usage limit', '--rate-limited-until', '3600'], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`${t} is rate-limited: ready again at .*no attempt used \\(0 of 3\\)`));
  });
});
