/**
 * Usage and costs from the built CLI on the embedded default: `loom orchestrate --run` with a
 * command that prints a Claude Code JSON result (`total_cost_usd`, `usage`), `loom done --usage`
 * by hand, then `loom costs` and `loom status EPIC` show the sums, to the micro-dollar.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loom, loomJson } from '../support/loom-cli.js';

describe('usage and loom costs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-costs-e2e-'));
  const env = { LOOM_DAEMON_IDLE_SECONDS: '60', LOOM_LEASE_SECONDS: '30' };
  afterAll(async () => {
    await loom(dir, ['daemon', 'stop'], env);
    rmSync(dir, { recursive: true, force: true });
  });

  it('orchestrate records the usage of a Claude-Code-style result; loom costs and loom status show the sums', { timeout: 300_000 }, async () => {
    await loomJson(dir, ['init', '--name', 'costs'], env);
    const epic: string = (await loomJson(dir, ['create', 'the epic', '--epic'], env)).id;
    // "part N" costs N x $0.0012345 (rounded to the micro-dollar: N x 1,235 micros with N = 1..3 -> 1,235 + 2,469 + 3,704).
    const parts: string[] = [];
    for (const n of [1, 2, 3]) parts.push((await loomJson(dir, ['create', `part ${n}`, '--parent', epic], env)).id);
    const agent = join(dir, 'agent.mjs');
    writeFileSync(
      agent,
      `const n = Number(process.env.LOOM_TASK_TITLE.split(' ')[1]);
console.log('working on ' + process.env.LOOM_TASK_ID);
console.log(JSON.stringify({ type: 'result', subtype: 'success', is_error: false, duration_ms: 10, num_turns: 1, result: 'ok', session_id: 's',
  total_cost_usd: n * 0.0012345, usage: { input_tokens: 100 * n, cache_creation_input_tokens: 0, cache_read_input_tokens: 1000 * n, output_tokens: 10 * n },
  modelUsage: { 'claude-test': {} } }));
`,
    );
    const r = await loom(dir, ['orchestrate', '--run', `node ${agent}`, '--concurrency', '2', '--exit-when-idle'], env);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/runner finished: done 3/);

    // One more task, reported by hand with --usage.
    const manual: string = (await loomJson(dir, ['create', 'by hand'], env)).id;
    const claim = await loomJson(dir, ['claim', manual, '--agent', 'person'], env);
    const bad = await loom(dir, ['done', manual, '--agent', 'person', '--token', claim.lease.token, '--usage', '{"input_tokens":-5,"output_tokens":1}'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/VALIDATION_FAILED: .*usage\.input_tokens/);
    await loomJson(dir, ['done', manual, '--agent', 'person', '--token', claim.lease.token, '--usage', '{"input_tokens":7,"output_tokens":3,"cost_usd":1.5}'], env);

    const [byTask, byEpic, byAgent, status] = await Promise.all([
      loomJson(dir, ['costs', '--json'], env),
      loomJson(dir, ['costs', '--by', 'epic', '--json'], env),
      loomJson(dir, ['costs', '--by', 'agent', '--since', '1d', '--json'], env),
      loomJson(dir, ['status', epic], env),
    ]);
    const epicMicros = 1_235 + 2_469 + 3_704;
    expect(byTask.total).toMatchObject({ cost_micros: epicMicros + 1_500_000, input_tokens: 600 + 7, output_tokens: 60 + 3, cache_read_tokens: 6000, reports: 4 });
    expect(byTask.groups.map((g: { key: string }) => g.key)).toEqual([manual, parts[2], parts[1], parts[0]]);
    expect(byEpic.groups).toEqual([expect.objectContaining({ key: epic, label: 'the epic', cost_micros: epicMicros, reports: 3 })]);
    expect(byAgent.groups.find((g: { key: string }) => g.key === 'person')).toMatchObject({ cost_micros: 1_500_000 });
    expect(byAgent.total.cost_micros).toBe(epicMicros + 1_500_000);
    expect(status.usage).toMatchObject({ cost_micros: epicMicros, input_tokens: 600, output_tokens: 60, cache_read_tokens: 6000, reports: 3 });

    const table = await loom(dir, ['costs', '--by', 'epic'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('total: $1.507408');
    expect(table.stdout).toMatch(new RegExp(`${epic}\\s+the epic\\s+\\$0\\.007408`));
    const text = await loom(dir, ['status', epic], env);
    expect(text.stdout).toMatch(/usage\s+\$0\.007408, 600 in, 60 out, 6,000 cache read \(3 reports, everything below it\)/);
    const wrong = await loom(dir, ['costs', '--by', 'week'], env);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('VALIDATION_FAILED');
  });
});
