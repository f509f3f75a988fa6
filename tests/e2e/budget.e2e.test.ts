/**
 * Costs, a budget and a rate limit in one `loom orchestrate --run` from the built CLI on the
 * embedded default. The agent command prints Claude Code's JSON result (`total_cost_usd`), and its
 * first job hits Claude's usage limit once: that job uses no attempt and the runner waits for the
 * reset. The epic's budget stops new claims at its line (the runner says why and exits when
 * idle), `loom costs` shows the sums, and raising the budget lets the rest run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loom, loomJson } from '../support/loom-cli.js';

describe('loom orchestrate --run under a budget, rate-limited once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-budget-e2e-'));
  const env = { LOOM_DAEMON_IDLE_SECONDS: '60', LOOM_LEASE_SECONDS: '30' };
  afterAll(async () => {
    await loom(dir, ['daemon', 'stop'], env);
    rmSync(dir, { recursive: true, force: true });
  });

  it('sums the costs, uses no attempt for the rate limit, stops at the line, resumes when raised', { timeout: 300_000 }, async () => {
    await loomJson(dir, ['init', '--name', 'budget'], env);
    const epic: string = (await loomJson(dir, ['create', 'the epic', '--epic'], env)).id;
    const parts: string[] = [];
    for (const n of [1, 2, 3, 4, 5, 6]) parts.push((await loomJson(dir, ['create', `part ${n}`, '--parent', epic, '--max-attempts', '1'], env)).id);
    const set = await loom(dir, ['budget', 'set', '0.25', '--epic', epic], env);
    expect(set.stdout).toContain(`budget of epic ${epic}: $0.250000 ($0.000000 spent, 0.0%)`);
    const marker = join(dir, 'limited-once');
    const agent = join(dir, 'agent.mjs');
    // Each job costs $0.10; the very first one is refused once by Claude's usage limit (resets in 2 s).
    writeFileSync(
      agent,
      `import { existsSync, writeFileSync } from 'node:fs';
if (!existsSync(${JSON.stringify(marker)})) {
  writeFileSync(${JSON.stringify(marker)}, '');
  console.log(JSON.stringify({ type: 'result', subtype: 'success', is_error: true, result: 'Claude AI usage limit reached|' + (Math.floor(Date.now() / 1000) + 2), total_cost_usd: 0 }));
  process.exit(1);
}
console.log(JSON.stringify({ type: 'result', subtype: 'success', is_error: false, result: 'ok', total_cost_usd: 0.1,
  usage: { input_tokens: 1000, cache_read_input_tokens: 500, output_tokens: 100 }, modelUsage: { 'claude-test': {} } }));
`,
    );
    const r = await loom(dir, ['orchestrate', '--run', `node ${agent}`, '--exit-when-idle'], env);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/rate-limited \(Claude Code reported its usage limit\): no attempt used/);
    expect(r.stdout).toContain('rate limit reset: resuming dispatch');
    // $0.30 after the third job: past the $0.25 line, so the fourth claim is refused.
    expect(r.stdout).toContain(`budget spent: no claim made: the budget of epic ${epic} ($0.300000 of $0.250000) is spent`);
    expect(r.stdout).toMatch(/runner finished: done 3, failed 0, timed out 0, released 0, lease lost 0, rate-limited 1, dead-lettered 0/);

    const costs = await loomJson(dir, ['costs', '--by', 'epic', '--json'], env);
    expect(costs.total).toMatchObject({ cost_micros: 300_000, input_tokens: 3000, output_tokens: 300, cache_read_tokens: 1500 });
    expect(costs.groups).toEqual([expect.objectContaining({ key: epic, cost_micros: 300_000 })]);
    const tasks = await Promise.all(parts.map(async (id) => (await loomJson(dir, ['status', id], env)).task));
    const done = tasks.filter((t) => t.status === 'done');
    expect(done).toHaveLength(3);
    // max_attempts 1, and the rate-limited one is done: the limit used no attempt.
    for (const t of done) expect(t).toMatchObject({ attempts: 1, max_attempts: 1 });
    for (const t of tasks.filter((x) => x.status !== 'done')) expect(t).toMatchObject({ status: 'pending', held_by_budget: epic, attempts: 0 });

    const budgets = await loomJson(dir, ['budget', '--json'], env);
    expect(budgets.budgets).toEqual([expect.objectContaining({ epic_id: epic, budget_usd: 0.25, spent_usd: 0.3, state: 'exceeded' })]);
    const status = await loom(dir, ['status', epic], env);
    expect(status.stdout).toMatch(/budget\s+\$0\.250000 \(120\.0% spent: EXCEEDED, no new claims under it\)/);
    const refused = await loom(dir, ['claim', '--agent', 'me'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('BUDGET_EXCEEDED');
    expect(refused.stderr).toContain(`loom budget set USD --epic ${epic}`);
    const escalations = await loomJson(dir, ['escalations'], env);
    expect(escalations).toEqual([expect.objectContaining({ task_id: epic, status: 'open' })]);
    const events = ((await loomJson(dir, ['events', '--limit', '1000'], env)) as Array<{ type: string }>).map((e) => e.type);
    expect(events.filter((t) => t === 'budget.warning')).toHaveLength(1);
    expect(events.filter((t) => t === 'budget.exceeded')).toHaveLength(1);

    const raised = await loom(dir, ['budget', 'set', '$1', '--epic', epic], env);
    expect(raised.stdout, raised.stdout).toMatch(/resumed 4 task\(s\) it held/); // the epic and its three open tasks
    expect(await loomJson(dir, ['escalations'], env)).toEqual([]);
    const again = await loom(dir, ['orchestrate', '--run', `node ${agent}`, '--exit-when-idle'], env);
    expect(again.stdout).toMatch(/runner finished: done 3, /);
    expect((await loomJson(dir, ['costs', '--json'], env)).total.cost_micros).toBe(600_000);

    const bad = await loom(dir, ['budget', 'set', 'ten', '--epic', epic], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/VALIDATION_FAILED: the budget must be a number of dollars above 0/);
    const both = await loom(dir, ['budget', 'set', '5', '--clear'], env);
    expect(both.stderr).toMatch(/VALIDATION_FAILED: give an amount or --clear, not both/);
  });
});
