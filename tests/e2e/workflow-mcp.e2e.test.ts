/**
 * loom_run_workflow end to end: the built `loom mcp` over stdio on a fresh
 * `loom init` project, with real SDK clients. tools/list offers the tool; a
 * lead lists the workflows (the builtins and the project's own), dry-runs
 * ship_feature (nothing written), starts it; a second client, a worker that
 * waits for the run's workflow.started event, then finds the spec task in
 * loom_ready; the same run_key again is the same run; run_id gives its status.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loom, loomJson } from '../support/loom-cli.js';
import { McpProcess } from '../support/mcp-process.js';

describe('loom_run_workflow over stdio (built binary, embedded project)', () => {
  let dir: string;
  let home: string;
  let env: Record<string, string>;
  let lead: McpProcess;
  let worker: McpProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loom-workflow-e2e-'));
    home = mkdtempSync(join(tmpdir(), 'loom-workflow-home-'));
    env = { LOOM_HOME: home };
    await loomJson(dir, ['init', '--name', 'workflow-e2e'], env);
    mkdirSync(join(dir, '.loom', 'workflows'), { recursive: true });
    writeFileSync(
      join(dir, '.loom', 'workflows', 'hotfix.yaml'),
      'name: hotfix\ndescription: Patch, then release\nversion: 1.0.0\ninputs:\n  bug: { type: string, required: true }\nsteps:\n  - id: patch\n    title: "Patch {{ inputs.bug }}"\n  - id: release\n    title: "Release the fix for {{ inputs.bug }}"\n    depends_on: [patch]\n',
    );
    lead = await McpProcess.start(dir, [], env);
    worker = await McpProcess.start(dir, [], env);
    // initialize is answered before the store opens: a session hears events once it has answered a call.
    await worker.ok('loom_ready');
  });
  afterAll(async () => {
    await lead?.close();
    await worker?.close();
    await loom(dir, ['daemon', 'stop'], env);
    rmSync(dir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  const nodeCount = async (): Promise<number> => ((await lead.ok('loom_graph', { format: 'json' })).graph.nodes as unknown[]).length;

  it('tools/list offers loom_run_workflow', async () => {
    const { tools } = await lead.client.listTools();
    const tool = tools.find((t) => t.name === 'loom_run_workflow');
    expect(tool?.description).toContain('The same run_key twice is one run');
  });

  it('without a name lists the builtin workflows and the project\'s own', async () => {
    const list = await lead.ok('loom_run_workflow');
    const by = new Map((list.workflows as Array<{ name: string; source: string }>).map((w) => [w.name, w.source]));
    expect(Object.fromEntries(by)).toMatchObject({ ship_feature: 'builtin', debug_and_fix: 'builtin', change_each_module: 'builtin', hotfix: 'project' });
    expect(list.problems).toEqual([]);
  });

  it('a client starts ship_feature: the dry run writes nothing; the run\'s spec task is then ready for another client', async () => {
    const args = { name: 'ship_feature', inputs: { feature: 'CSV export of invoices' }, run_key: 'csv-export' };
    const dry = await lead.ok('loom_run_workflow', { ...args, dry_run: true });
    expect(dry).toMatchObject({ stage: 'dry_run', title: 'Ship: CSV export of invoices' });
    expect(dry.waves[0]).toEqual(['spec']);
    expect(await nodeCount()).toBe(0);

    const run = await lead.ok('loom_run_workflow', args);
    expect(run).toMatchObject({ stage: 'started', created: true, run_id: expect.any(Number) });
    expect(await nodeCount()).toBe(8);

    // The worker learns of the run from the event stream, then finds its first step.
    const started = await worker.waitForEvent((e) => e.type === 'workflow.started');
    expect(started.payload).toMatchObject({ run_id: run.run_id, workflow: 'ship_feature', epic_id: run.epic_id, tasks: 7, run_key: 'csv-export' });
    const ready = (await worker.ok('loom_ready')).tasks as Array<{ id: string; title: string }>;
    expect(ready.map((t) => [t.id, t.title])).toEqual([[run.tasks.spec, 'Write the spec: CSV export of invoices']]);

    const again = await lead.ok('loom_run_workflow', args);
    expect(again).toMatchObject({ stage: 'started', created: false, run_id: run.run_id, tasks: run.tasks });
    expect(await nodeCount()).toBe(8);

    const claim = await worker.ok('loom_claim', { task_id: run.tasks.spec });
    expect(claim.claimed).toBe(true);
    await worker.ok('loom_done', { task_id: run.tasks.spec, output: { spec_path: 'docs/specs/csv-export.md' } });
    const status = await lead.ok('loom_run_workflow', { run_id: run.run_id });
    expect(status).toMatchObject({ run_id: run.run_id, status: 'running', counts: { done: 1, pending: 1, blocked: 5 } });
    expect(status.steps.slice(0, 2).map((s: { step: string; tasks: Array<{ status: string }> }) => [s.step, s.tasks[0]!.status])).toEqual([
      ['spec', 'done'],
      ['criteria', 'pending'],
    ]);
  });

  it('an unknown workflow is WORKFLOW_NOT_FOUND with a hint in terms of the tool; nothing written', async () => {
    const before = await nodeCount();
    const r = await lead.call('loom_run_workflow', { name: 'ship_it', inputs: { feature: 'x' } });
    expect(r.isError).toBe(true);
    expect(r.json).toMatchObject({ code: 'WORKFLOW_NOT_FOUND', hint: expect.stringContaining('loom_run_workflow without name') });
    expect(await nodeCount()).toBe(before);
  });
});
