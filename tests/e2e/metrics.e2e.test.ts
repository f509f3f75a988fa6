/** `loom metrics` through the built binary in embedded mode: the daemon answers, the counts follow the work. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loom, loomJson } from '../support/loom-cli.js';

describe('loom metrics end to end (embedded)', () => {
  let dir: string;
  const env = { LOOM_DAEMON_IDLE_SECONDS: '60' };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loom-metrics-embedded-'));
    await loomJson(dir, ['init', '--name', 'metrics-embedded'], env);
  });
  afterAll(async () => {
    await loom(dir, ['daemon', 'stop'], env);
    rmSync(dir, { recursive: true, force: true });
  });

  it('--json counts the work done through other commands; the table prints', async () => {
    const a = await loomJson(dir, ['create', 'design'], env);
    await loomJson(dir, ['create', 'build', '--depends-on', a.id], env);
    const claim = await loomJson(dir, ['claim', '--agent', 'alice'], env);
    await loomJson(dir, ['done', a.id, '--agent', 'alice', '--token', claim.lease.token], env);

    const m = await loomJson(dir, ['metrics', '--json'], env);
    expect(m.tasks).toMatchObject({ pending: 1, done: 1, claimed: 0 });
    expect(m.ready).toBe(1);
    expect(m.counters).toEqual({ claims: 1, completions: 1, failures: 0, lease_expiries: 0, retries: 0, dead_letters: 0 });
    expect(m.claim_to_done_seconds.count).toBe(1);
    expect(m.agents.active).toBe(1);

    const text = await loom(dir, ['metrics'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('claims         1   completions 1   failures 0');
  });
});
