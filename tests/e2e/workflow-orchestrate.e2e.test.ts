/**
 * A workflow run to the end by `loom orchestrate --run`, with the built binary
 * on a fresh embedded `loom init` project: ship_feature is started over MCP
 * (loom_run_workflow), then the runner works every task through a stand-in
 * agent (tests/fixtures/runner/review-loop-agent.mjs) whose first review
 * rejects and second approves. The review loop adds exactly one round
 * (implement, tests, review again) in the transaction that records the
 * rejection, so the runner never sees the graph idle in between; docs waits
 * for the approving review; the run ends done.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loom, loomJson, ROOT } from '../support/loom-cli.js';
import { McpProcess } from '../support/mcp-process.js';
import { until } from '../support/until.js';

const AGENT = join(ROOT, 'tests/fixtures/runner/review-loop-agent.mjs');

interface RunStatus {
  status: string;
  steps: Array<{ step: string; skipped: string | null; tasks: Array<{ id: string; title: string; status: string }> }>;
}

describe('ship_feature run by loom orchestrate --run (built binary, embedded project)', () => {
  let dir: string;
  let home: string;
  let env: Record<string, string>;
  let lead: McpProcess | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loom-wf-orch-e2e-'));
    home = mkdtempSync(join(tmpdir(), 'loom-wf-orch-home-'));
    env = { LOOM_HOME: home, LOOM_DAEMON_IDLE_SECONDS: '120', LOOM_LEASE_SECONDS: '60' };
    await loomJson(dir, ['init', '--name', 'workflow-orchestrate'], env);
  });
  afterAll(async () => {
    await lead?.close();
    await loom(dir, ['daemon', 'stop'], env);
    rmSync(dir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  it('a rejected review adds one round; the approved one releases docs; the run ends done', { timeout: 300_000 }, async () => {
    lead = await McpProcess.start(dir, ['--agent-id', 'lead'], env);
    const run = await lead.ok('loom_run_workflow', { name: 'ship_feature', inputs: { feature: 'CSV export' } });
    expect(run).toMatchObject({ stage: 'started', created: true, run_id: expect.any(Number) });
    const tasks = run.tasks as Record<string, string>;
    expect(Object.keys(tasks).sort()).toEqual(['criteria', 'docs', 'implement', 'review', 'spec', 'test_plan', 'tests']);

    const r = await loom(dir, ['orchestrate', '--run', `"${process.execPath}" "${AGENT}"`, '--concurrency', '2', '--timeout', '120', '--exit-when-idle'], env);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    // 7 tasks of the first round, then implement, tests and review again.
    expect(r.stdout).toMatch(/runner finished: done 10, failed 0, timed out 0/);

    const status = async () => (await lead!.ok('loom_run_workflow', { run_id: run.run_id })) as RunStatus;
    await until(async () => (await status()).status === 'done', `workflow run ${run.run_id} done`, 60_000, 100);
    const final = await status();
    const step = (id: string) => final.steps.find((s) => s.step === id)!.tasks;
    // Exactly one extra round: two reviews, a second implement and tests; everything done.
    expect(step('review').map((t) => t.title)).toEqual(['Review: CSV export', 'Review: CSV export (round 2)']);
    expect(step('implement').map((t) => t.title)).toEqual(['Implement: CSV export', 'Implement: CSV export (round 2)']);
    expect(step('tests')).toHaveLength(2);
    expect(step('docs')).toHaveLength(1);
    expect(final.steps.flatMap((s) => s.tasks).every((t) => t.status === 'done')).toBe(true);
    const [review1, review2] = step('review').map((t) => t.id);
    const implement2 = step('implement')[1]!.id;
    // The graph holds the epic, 7 tasks and one round of 3: no third round anywhere.
    const nodes = (await lead.ok('loom_graph', { format: 'json' })).graph.nodes as Array<{ id: string; title: string }>;
    expect(nodes).toHaveLength(11);
    const titles = nodes.map((n) => n.title);
    expect(titles.filter((t) => t.startsWith('Review:')).sort()).toEqual(['Review: CSV export', 'Review: CSV export (round 2)']);
    expect(titles.filter((t) => t.startsWith('Implement:')).sort()).toEqual(['Implement: CSV export', 'Implement: CSV export (round 2)']);
    expect(titles.some((t) => t.includes('(round 3)'))).toBe(false);

    // The stand-in agent saw two reviews; docs ran after the second.
    expect(readFileSync(join(dir, '.loom-e2e-reviews'), 'utf8')).toBe('2');
    const order = readFileSync(join(dir, '.loom-e2e-runs'), 'utf8').trim().split('\n');
    expect(order).toHaveLength(10);
    expect(order.indexOf('Document: CSV export')).toBeGreaterThan(order.indexOf('Review: CSV export (round 2)'));

    const events = await loomJson<Array<{ id: number; type: string; task_id: string | null; payload: Record<string, unknown> }>>(dir, ['events', '--limit', '10000'], env);
    const at = (type: string, task: string) => events.find((e) => e.type === type && e.task_id === task)?.id ?? -1;
    const rounds = events.filter((e) => e.type === 'workflow.round_added');
    expect(rounds).toHaveLength(1);
    expect(rounds[0]!.payload).toMatchObject({ run_id: run.run_id, step: 'review', round: 2, after: review1, tasks: { 'implement-r2': implement2, 'review-r2': review2 } });
    const completed = events.filter((e) => e.type === 'workflow.completed');
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({ task_id: run.epic_id, payload: { run_id: run.run_id, workflow: 'ship_feature', epic_id: run.epic_id } });
    // Docs was claimed only after the approving review was done, and the run completed last.
    expect(at('task.claimed', tasks.docs!)).toBeGreaterThan(at('task.done', review2!));
    expect(at('task.done', review2!)).toBeGreaterThan(at('workflow.round_added', run.epic_id));
    expect(completed[0]!.id).toBeGreaterThan(at('task.done', tasks.docs!));
  });
});
