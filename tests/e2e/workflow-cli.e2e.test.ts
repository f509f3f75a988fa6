/**
 * `loom workflow` end to end with the built binary on a fresh embedded
 * project: the builtins list; `workflow new` writes a skeleton that lists
 * with no problems; a dry run writes nothing; a real run writes the epic and
 * its tasks (only the first step is ready); one run per --run-key; `runs`
 * and `status` show it; bad inputs, an unknown workflow and a broken file
 * exit 1 with their code and write nothing.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loom, loomJson } from '../support/loom-cli.js';

// Every step is a real `loom` process (seconds each on a loaded machine; the first also starts the daemon).
const TEST_TIMEOUT_MS = 600_000;

describe('loom workflow (built binary, embedded project)', () => {
  let dir: string;
  let home: string;
  let env: Record<string, string>;
  const run = (args: string[]) => loom(dir, args, env);
  const json = <T = any>(args: string[]) => loomJson<T>(dir, args, env);
  const taskCount = async () => (await json<{ graph: { nodes: unknown[] } }>(['graph', '--format', 'json'])).graph.nodes.length;
  let runId = 0;
  let ids: Record<string, string> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loom-workflow-e2e-'));
    home = mkdtempSync(join(tmpdir(), 'loom-workflow-home-'));
    env = { LOOM_HOME: home, LOOM_DAEMON_IDLE_SECONDS: '60' };
    await json(['init', '--name', 'workflow-e2e']);
  });
  afterAll(async () => {
    await run(['daemon', 'stop']);
    for (const d of [dir, home]) if (d !== undefined) rmSync(d, { recursive: true, force: true });
  });

  it('lists the three builtin workflows with their inputs, none broken', async () => {
    const r = await run(['workflow', 'list']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^NAME +VERSION +SOURCE +INPUTS +DESCRIPTION\n/);
    expect(r.stdout).toMatch(/\nship_feature +1\.0\.0 +builtin +feature:string\* acceptance:string with_docs:boolean +Ship a feature/);
    expect(r.stdout).toMatch(/\nchange_each_module +1\.0\.0 +builtin +change:string\* modules:list\* check:string /);
    expect(r.stdout).not.toContain('broken');
    const list = await json(['workflow', 'list']);
    expect(list.workflows.map((w: { name: string }) => w.name)).toEqual(['change_each_module', 'debug_and_fix', 'ship_feature']);
    expect(list.problems).toEqual([]);
    const show = await run(['workflow', 'show', 'ship_feature']);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('with_docs (boolean, optional, default true): Add a step that documents the feature');
    expect(show.stdout).toMatch(/\n {2}docs +Document: \{\{ inputs\.feature \}\}\n +after review; when inputs\.with_docs\n/);
  }, TEST_TIMEOUT_MS);

  it('workflow new writes a skeleton once, that lists with no problems', async () => {
    const r = await run(['workflow', 'new', 'my_flow']);
    expect(r.code, r.stderr).toBe(0);
    const path = join(dir, '.loom', 'workflows', 'my_flow.yaml');
    expect(r.stdout).toContain(`wrote ${path}`);
    const text = readFileSync(path, 'utf8');
    const again = await run(['workflow', 'new', 'my_flow']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('CONFLICT');
    expect(readFileSync(path, 'utf8')).toBe(text);
    const bad = await run(['workflow', 'new', '../escape']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^VALIDATION_FAILED: "\.\.\/escape" is not a workflow name/);
    expect(existsSync(join(dir, '.loom', 'escape.yaml'))).toBe(false);
    const list = await json(['workflow', 'list']);
    expect(list.problems).toEqual([]);
    expect(list.workflows.find((w: { name: string }) => w.name === 'my_flow')).toMatchObject({ source: 'project', version: '1.0.0' });
    const dry = await json(['workflow', 'run', 'my_flow', '--input', 'goal=try the skeleton', '--dry-run']);
    expect(dry.tasks.map((t: { key: string }) => t.key)).toEqual(['plan', 'build', 'review']);
  }, TEST_TIMEOUT_MS);

  it('a dry run prints the waves and the skipped steps, and writes nothing', async () => {
    const r = await run(['workflow', 'run', 'ship_feature', '--input', 'feature=CSV export', '--input', 'with_docs=false', '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Workflow ship_feature 1\.0\.0: new epic "Ship: CSV export" with 6 tasks\n/);
    expect(r.stdout).toMatch(/Wave 1 \(can start now\)\n {2}spec +Write the spec: CSV export +\[p0\]\n/);
    expect(r.stdout).toMatch(/Wave 3\n {2}implement +Implement: CSV export +\[p0\] +<- criteria\n {2}test_plan +Test plan: CSV export +\[p1\] +<- criteria\n/);
    expect(r.stdout).toContain('Skipped steps (1):\n  docs: when inputs.with_docs is false');
    expect(r.stdout).toContain('Nothing was written.');
    const dry = await json(['workflow', 'run', 'ship_feature', '--input', 'feature=CSV export', '--dry-run']);
    expect(dry).toMatchObject({ stage: 'dry_run', workflow: 'ship_feature', inputs: { feature: 'CSV export', with_docs: true }, skipped: [] });
    expect(dry.waves).toEqual([['spec'], ['criteria'], ['implement', 'test_plan'], ['tests'], ['review'], ['docs']]);
    expect(await json(['ready'])).toEqual([]);
    expect(await taskCount()).toBe(0);
  }, TEST_TIMEOUT_MS);

  it('a real run writes the epic and its tasks, only the first step ready; the same --run-key again is the same run', async () => {
    const r = await run(['workflow', 'run', 'ship_feature', '--input', 'feature=CSV export', '--run-key', 'csv-1']);
    expect(r.code, r.stderr).toBe(0);
    const started = /^Started run (\d+): epic (loom-[0-9a-f]{8}) with 7 tasks\n/.exec(r.stdout);
    expect(started, r.stdout).not.toBeNull();
    runId = Number(started![1]);
    ids = Object.fromEntries([...r.stdout.matchAll(/^ {2}([a-z_]+) +(loom-[0-9a-f]{8})$/gm)].map((m) => [m[1], m[2]]));
    expect(Object.keys(ids)).toEqual(['spec', 'criteria', 'implement', 'test_plan', 'tests', 'review', 'docs']);
    expect(r.stdout).toContain(`loom workflow status ${runId}`);
    expect((await json<Array<{ id: string }>>(['ready'])).map((t) => t.id)).toEqual([ids.spec]);
    expect(await taskCount()).toBe(8);

    const again = await run(['workflow', 'run', 'ship_feature', '--input', 'feature=CSV export', '--run-key', 'csv-1']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`^Run key csv-1 already started run ${runId}: nothing new written`));
    const againJson = await json(['workflow', 'run', 'ship_feature', '--input', 'feature=CSV export', '--run-key', 'csv-1']);
    expect(againJson).toMatchObject({ stage: 'started', run_id: runId, created: false, epic_id: started![2], tasks: ids });
    expect(await taskCount()).toBe(8);
  }, TEST_TIMEOUT_MS);

  it('workflow runs and workflow status show the run', async () => {
    const runs = await run(['workflow', 'runs']);
    expect(runs.code, runs.stderr).toBe(0);
    expect(runs.stdout).toMatch(/^RUN +WORKFLOW +STATUS +DONE +STARTED +EPIC +RUN KEY\n/);
    expect(runs.stdout).toMatch(new RegExp(`\\n +${runId} +ship_feature +running +0/7 +\\S+ \\S+ +loom-[0-9a-f]{8} +csv-1\\n`));
    expect(await json(['workflow', 'runs'])).toEqual([expect.objectContaining({ run_id: runId, workflow: 'ship_feature', status: 'running', run_key: 'csv-1', counts: { pending: 1, blocked: 6 } })]);

    const status = await run(['workflow', 'status', String(runId)]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^Run ${runId}: ship_feature 1\\.0\\.0 \\(builtin\\) +running\\n`));
    expect(status.stdout).toContain('inputs   feature="CSV export", with_docs=true');
    expect(status.stdout).toContain('tasks    0/7 done (1 pending, 6 blocked)');
    expect(status.stdout).toContain(`  spec\n    ${ids.spec}  pending  Write the spec: CSV export\n`);
    expect(status.stdout).toContain(`  docs\n    ${ids.docs}  blocked  Document: CSV export`);
    const detail = await json(['workflow', 'status', String(runId)]);
    expect(detail.steps.map((s: { step: string }) => s.step)).toEqual(['spec', 'criteria', 'implement', 'test_plan', 'tests', 'review', 'docs']);

    const notANumber = await run(['workflow', 'status', 'latest']);
    expect(notANumber.code).toBe(1);
    expect(notANumber.stderr).toMatch(/^VALIDATION_FAILED: RUN must be a run number like 3, got "latest"\nhint: .*loom workflow runs/);
    const unknown = await run(['workflow', 'status', '999']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('VALIDATION_FAILED: no workflow run 999 in this project');
  }, TEST_TIMEOUT_MS);

  it('refuses bad inputs, an unknown workflow and a broken file with their codes, writing nothing', async () => {
    const broken = join(dir, '.loom', 'workflows', 'broken.yaml');
    writeFileSync(broken, 'name: broken\ndescription: d\nversion: 1.0.0\nsteps:\n  - id: a\n    title: A\n    depends_on: [nope]\n');
    const list = await run(['workflow', 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(`broken workflow files (1, skipped):\n  ${broken}:7: step a: depends_on names nope, which is no step of this workflow`);
    const before = await taskCount();
    const cases: Array<[string[], string, RegExp]> = [
      [['workflow', 'run', 'ship_feature', '--input', 'feature=x', '--input', 'colour=red'], 'VALIDATION_FAILED', /no input "colour"\nhint: its inputs are: feature, acceptance, with_docs/],
      [['workflow', 'run', 'ship_feature'], 'VALIDATION_FAILED', /the input "feature" is required/],
      [['workflow', 'run', 'ship_feature', '--input', 'feature=x', '--input', 'with_docs=maybe'], 'VALIDATION_FAILED', /"with_docs" must be a boolean/],
      [['workflow', 'run', 'ship_feature', '--input', 'feature'], 'VALIDATION_FAILED', /--input "feature" is not name=value/],
      [['workflow', 'run', 'no_such_flow'], 'WORKFLOW_NOT_FOUND', /no workflow named no_such_flow/],
      [['workflow', 'run', 'broken'], 'WORKFLOW_NOT_FOUND', /no workflow named broken\nhint: .*broken\.yaml:7: step a: depends_on names nope/],
      [['workflow', 'show', 'broken'], 'WORKFLOW_NOT_FOUND', /broken\.yaml:7/],
    ];
    for (const [args, code, message] of cases) {
      const r = await run(args);
      expect(r.code, `${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^${code}: `));
      expect(r.stderr).toMatch(message);
      const j = await run([...args, '--json']);
      expect(j.code).toBe(1);
      expect(JSON.parse(j.stdout).error.code).toBe(code);
    }
    expect(await taskCount()).toBe(before);
  }, TEST_TIMEOUT_MS);
});
