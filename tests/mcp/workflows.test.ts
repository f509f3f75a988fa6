/**
 * loom_run_workflow over MCP: one tool to discover the workflows (no name),
 * dry-run one, start it (its first step then shows in loom_ready), start it
 * again under the same run_key (the same run), follow a run (run_id), and the
 * coded refusals a model acts on, none of which writes anything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allEvents, connect, newProject, openBackend, type Backend, type Session } from './harness.js';

let b: Backend;
beforeAll(async () => {
  b = await openBackend();
});
afterAll(async () => {
  await b?.close();
});

async function taskCount(s: Session): Promise<number> {
  const g = await s.ok('loom_graph', { format: 'json' });
  return (g.graph.nodes as unknown[]).length;
}

const SHIP = { name: 'ship_feature', inputs: { feature: 'CSV export' } };

describe('loom_run_workflow', () => {
  it('is listed in the planning group (not core), with a description that says how to use it', async () => {
    const s = await connect(b, await newProject(b.api, 'wf-list'));
    const tool = (await s.client.listTools()).tools.find((t) => t.name === 'loom_run_workflow')!;
    expect(tool.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false });
    expect(tool.description).toContain('No name: lists the workflows');
    expect(tool.description).toContain('dry_run: true first');
    expect(tool.description).toContain('loom_ready');
    expect(tool.description).toContain('The same run_key twice is one run');
    expect(Object.keys(tool.inputSchema.properties ?? {}).sort()).toEqual(['dry_run', 'inputs', 'name', 'parent_id', 'run_id', 'run_key']);
    console.log(`loom_run_workflow in tools/list: ${JSON.stringify(tool).length} characters of JSON`);
    const core = await connect(b, await newProject(b.api, 'wf-core'), { toolGroups: ['core'] });
    expect((await core.client.listTools()).tools.map((t) => t.name)).not.toContain('loom_run_workflow');
    await core.close();
    await s.close();
  });

  it('without a name lists the workflows with their inputs and steps, and no runs yet', async () => {
    const s = await connect(b, await newProject(b.api, 'wf-discover'));
    const r = await s.ok('loom_run_workflow');
    expect(r.workflows.map((w: { name: string }) => w.name)).toEqual(expect.arrayContaining(['change_each_module', 'debug_and_fix', 'ship_feature']));
    expect(r.problems).toEqual([]);
    expect(r.runs).toEqual([]);
    expect(r.next).toContain('dry_run: true');
    const ship = r.workflows.find((w: { name: string }) => w.name === 'ship_feature');
    expect(ship).toMatchObject({ source: 'builtin', description: expect.stringContaining('Ship a feature'), steps: ['spec', 'criteria', 'implement', 'test_plan', 'tests', 'review', 'docs'] });
    expect(ship.inputs.map((i: { name: string; type: string; required: boolean }) => [i.name, i.type, i.required])).toEqual([
      ['feature', 'string', true],
      ['acceptance', 'string', false],
      ['with_docs', 'boolean', false],
    ]);
    expect(await taskCount(s)).toBe(0);
    await s.close();
  });

  it('a dry run shows the tasks and waves and writes nothing', async () => {
    const project = await newProject(b.api, 'wf-dry');
    const s = await connect(b, project);
    const before = await allEvents(b.api, project.project_id);
    const dry = await s.ok('loom_run_workflow', { ...SHIP, dry_run: true });
    expect(dry).toMatchObject({ stage: 'dry_run', workflow: 'ship_feature', title: 'Ship: CSV export', skipped: [] });
    expect(dry.waves).toEqual([['spec'], ['criteria'], ['implement', 'test_plan'], ['tests'], ['review'], ['docs']]);
    expect(dry.tasks.map((t: { key: string }) => t.key)).toEqual(['spec', 'criteria', 'implement', 'test_plan', 'tests', 'review', 'docs']);
    expect(dry.next).toContain('Nothing was written');
    expect(await taskCount(s)).toBe(0);
    expect(await allEvents(b.api, project.project_id)).toEqual(before);
    await s.close();
  });

  it('a run returns its run_id, epic and tasks; loom_ready then shows its first step; the status follows it', async () => {
    const s = await connect(b, await newProject(b.api, 'wf-run'));
    const r = await s.ok('loom_run_workflow', SHIP);
    expect(r).toMatchObject({ stage: 'started', created: true, run_id: expect.any(Number), epic_id: expect.stringMatching(/^loom-/), skipped: [] });
    expect(Object.keys(r.tasks)).toEqual(['spec', 'criteria', 'implement', 'test_plan', 'tests', 'review', 'docs']);
    expect(r.next).toContain(`run_id: ${r.run_id}`);
    expect(await taskCount(s)).toBe(8);
    const ready = (await s.ok('loom_ready')).tasks;
    expect(ready.map((t: { id: string; title: string }) => [t.id, t.title])).toEqual([[r.tasks.spec, 'Write the spec: CSV export']]);
    // The epic records this session's agent as its origin, as loom_decompose does.
    const epic = (await s.ok('loom_status', { task_id: r.epic_id })).task;
    expect(epic).toMatchObject({ status: 'epic', title: 'Ship: CSV export', origin: { kind: 'agent', id: s.mcp.session.agentId } });

    const status = await s.ok('loom_run_workflow', { run_id: r.run_id });
    expect(status).toMatchObject({ run_id: r.run_id, workflow: 'ship_feature', epic_id: r.epic_id, status: 'running', counts: { pending: 1, blocked: 6 } });
    expect(status.steps[0]).toEqual({ step: 'spec', skipped: null, tasks: [{ id: r.tasks.spec, title: 'Write the spec: CSV export', status: 'pending' }] });
    const claimed = await s.ok('loom_claim', { task_id: r.tasks.spec });
    expect(claimed.claimed).toBe(true);
    await s.ok('loom_done', { task_id: r.tasks.spec, output: { spec_path: 'docs/specs/csv.md' } });
    const after = await s.ok('loom_run_workflow', { run_id: r.run_id });
    expect(after.steps[0].tasks[0].status).toBe('done');
    expect((await s.ok('loom_ready')).tasks.map((t: { id: string }) => t.id)).toEqual([r.tasks.criteria]);

    const listed = await s.ok('loom_run_workflow');
    expect(listed.runs).toEqual([expect.objectContaining({ run_id: r.run_id, workflow: 'ship_feature', status: 'running', counts: { done: 1, pending: 1, blocked: 5 } })]);
    await s.close();
  });

  it('the same run_key twice is one run: created false, the same ids, nothing new written', async () => {
    const project = await newProject(b.api, 'wf-key');
    const s = await connect(b, project);
    const args = { name: 'debug_and_fix', inputs: { symptom: 'export crashes on empty rows' }, run_key: 'bug-42' };
    const first = await s.ok('loom_run_workflow', args);
    expect(first).toMatchObject({ stage: 'started', created: true });
    const count = await taskCount(s);
    const events = await allEvents(b.api, project.project_id);
    const again = await s.ok('loom_run_workflow', args);
    expect(again).toMatchObject({ stage: 'started', created: false, run_id: first.run_id, epic_id: first.epic_id, tasks: first.tasks });
    expect(again.next).toContain('nothing new was written');
    expect(await taskCount(s)).toBe(count);
    expect(await allEvents(b.api, project.project_id)).toEqual(events);
    await s.close();
  });

  it('a run goes under a given epic', async () => {
    const s = await connect(b, await newProject(b.api, 'wf-parent'));
    const parent = (await s.ok('loom_create', { title: 'Q3 features', epic: true })).task;
    const r = await s.ok('loom_run_workflow', { ...SHIP, parent_id: parent.id });
    expect((await s.ok('loom_status', { task_id: r.epic_id })).task.parent_id).toBe(parent.id);
    await s.close();
  });

  describe('refusals: a coded error with a hint, nothing written', () => {
    type Case = [args: Record<string, unknown>, code: string, message: RegExp, hint?: RegExp];
    const cases: Case[] = [
      [{ name: 'no_such_workflow' }, 'WORKFLOW_NOT_FOUND', /no workflow named no_such_workflow/, /loom_run_workflow without name/],
      [{ name: 'ship_feature' }, 'VALIDATION_FAILED', /input "feature" is required/, /inputs\.feature/],
      [{ name: 'ship_feature', inputs: { feature: 42 } }, 'VALIDATION_FAILED', /"feature" must be a string/],
      [{ name: 'ship_feature', inputs: { feature: 'x', with_docs: 'maybe' } }, 'VALIDATION_FAILED', /"with_docs" must be a boolean/],
      [{ name: 'ship_feature', inputs: { feature: 'x', colour: 'red' } }, 'VALIDATION_FAILED', /no input "colour"/, /feature, acceptance, with_docs/],
      [{ name: '../../etc/passwd', inputs: { feature: 'x' } }, 'VALIDATION_FAILED', /name: not a workflow name/],
      [{ name: 'ship_feature', inputs: 'feature=x' }, 'VALIDATION_FAILED', /inputs: must be object/],
      [{ name: 'ship_feature', inputs: { feature: 'x' }, parent_id: 'loom-00000000' }, 'TASK_NOT_FOUND', /loom-00000000/],
      [{ name: 'ship_feature', inputs: { feature: 'x' }, dry_run: 'yes' }, 'VALIDATION_FAILED', /dry_run/],
      [{ inputs: { feature: 'x' } }, 'VALIDATION_FAILED', /needs name/, /without arguments to list/],
      [{ name: 'ship_feature', run_id: 1 }, 'VALIDATION_FAILED', /run_id shows a run/],
      [{ run_id: 999_999 }, 'VALIDATION_FAILED', /no workflow run 999999/, /loom_run_workflow without name/],
      [{ run_id: 0 }, 'VALIDATION_FAILED', /run_id/],
    ];
    let s: Session;
    let project_id: string;
    beforeAll(async () => {
      const project = await newProject(b.api, 'wf-bad');
      project_id = project.project_id;
      s = await connect(b, project);
    });
    afterAll(async () => {
      await s.close();
    });

    it.each(cases)('%j -> %s', async (args, code, message, hint) => {
      const before = await allEvents(b.api, project_id);
      const r = await s.call('loom_run_workflow', args);
      expect(r.isError).toBe(true);
      expect(Object.keys(r.data.error).sort()).toEqual(['code', 'hint', 'message']);
      expect(r.data.error.code).toBe(code);
      expect(r.data.error.message).toMatch(message);
      expect(r.data.error.hint.length).toBeGreaterThan(0);
      if (hint !== undefined) expect(r.data.error.hint).toMatch(hint);
      // The hints speak in terms of this tool, not the CLI's list and run commands (creating a file stays a CLI step).
      expect(r.data.error.hint).not.toMatch(/loom workflow (list|runs|run)\b|--input /);
      expect(await allEvents(b.api, project_id)).toEqual(before);
      expect(await taskCount(s)).toBe(0);
    });
  });
});
