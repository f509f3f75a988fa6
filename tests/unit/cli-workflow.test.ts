import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { buildCli, runCli } from '../../src/adapters/cli/cli.js';
import type { LoomCliContext } from '../../src/adapters/cli/context.js';
import type { LoomApi, WorkflowRunDetail, WorkflowRunResult } from '../../src/ports/loom-api.js';
import { VizGraphPictures } from '../../src/adapters/graphviz/viz-graph-pictures.js';
import type { LoomConnector } from '../../src/ports/loom-connector.js';

/*
 * `loom workflow ...` against a stub API that records its calls: which input
 * the flags become, what is refused before the API is called, what is printed.
 */

async function run(argv: string[], api: Partial<Record<keyof LoomApi, (input: any) => Promise<unknown>>>, env: Record<string, string> = {}) {
  const calls: Array<{ method: string; input: unknown }> = [];
  const recorded = Object.fromEntries(
    Object.entries(api).map(([method, fn]) => [
      method,
      async (input: unknown) => {
        calls.push({ method, input });
        return fn!(input);
      },
    ]),
  );
  const connector = {
    open: async () => ({ api: { ...recorded, close: async () => {} }, project: { project_dir: '/p', project_id: 'proj-1', mode: 'embedded' }, events: { subscribe: () => () => {} } }),
    newWorkflow: async (o: { name: string }) => {
      calls.push({ method: 'newWorkflow', input: o });
      return { path: `/p/.loom/workflows/${o.name}.yaml`, name: o.name };
    },
  } as unknown as LoomConnector;
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += String(d)));
  stderr.on('data', (d) => (err += String(d)));
  const context: LoomCliContext = { stdin: process.stdin, stdout, stderr, env, colorDepth: 1, connector, pictures: new VizGraphPictures() };
  const code = await runCli(argv, context, buildCli('0.0.0', { enableColors: false }));
  return { code, stdout: out, stderr: err, calls };
}

const started: WorkflowRunResult = { stage: 'started', run_id: 4, epic_id: 'loom-000000e1', created: true, tasks: { build: 'loom-000000a1', 'checks-lint': 'loom-000000a2' }, steps: {}, skipped: [] };

describe('loom workflow', () => {
  it('run: every --input (the first = splits), --parent, --run-key and the agent become the API input', async () => {
    const r = await run(
      ['workflow', 'run', 'release', '--input', 'version=1.2.0', '--input', 'notes=a=b', '--input', 'modules=a,b', '--parent', 'loom-0000000e', '--run-key', 'rel-1'],
      { runWorkflow: async () => started },
      { LOOM_AGENT_ID: 'claude-1' },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.calls).toEqual([
      {
        method: 'runWorkflow',
        input: { project_id: 'proj-1', name: 'release', inputs: { version: '1.2.0', notes: 'a=b', modules: 'a,b' }, parent_id: 'loom-0000000e', run_key: 'rel-1', agent_id: 'claude-1' },
      },
    ]);
    expect(r.stdout).toBe(
      ['Started run 4: epic loom-000000e1 with 2 tasks', '  build        loom-000000a1', '  checks-lint  loom-000000a2', '', 'Follow it: loom workflow status 4  (loom ready shows what can start now)', ''].join('\n'),
    );
  });

  it('run refuses an --input without a name or given twice before calling the API', async () => {
    for (const args of [['--input', 'feature'], ['--input', '=x'], ['--input', 'a=1', '--input', 'a=2']]) {
      const r = await run(['workflow', 'run', 'ship_feature', ...args], { runWorkflow: async () => started });
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(/^VALIDATION_FAILED: --input /);
      expect(r.calls).toEqual([]);
    }
  });

  it('status refuses a RUN that is not a number before calling the API', async () => {
    for (const bad of ['latest', '0', '1.5', '1e3', ' ']) {
      const r = await run(['workflow', 'status', bad], { workflowRun: async () => ({}) });
      expect(r.code, bad).toBe(1);
      expect(r.stderr).toMatch(/^VALIDATION_FAILED: RUN must be a run number like 3/);
      expect(r.calls).toEqual([]);
    }
  });

  it('status shows a uses step by the steps it includes, skipped steps with their reason, and escapes what it prints', async () => {
    const detail: WorkflowRunDetail = {
      run_id: 4,
      workflow: 'release',
      version: '1.0.0',
      source: 'project',
      epic_id: 'loom-000000e1',
      title: 'Release 1.2.0',
      run_key: null,
      status: 'running',
      inputs: { version: '1.2.0' },
      started_at: '2026-01-01T00:00:00.000Z',
      counts: { done: 1, pending: 1 },
      steps: [
        { step: 'build', skipped: null, tasks: [{ id: 'loom-000000a1', title: 'Build \u001b[2J', status: 'done' }] },
        { step: 'checks', skipped: null, tasks: [{ id: 'loom-000000a2', title: 'Lint', status: 'pending' }] },
        { step: 'checks/lint', skipped: null, tasks: [{ id: 'loom-000000a2', title: 'Lint', status: 'pending' }] },
        { step: 'docs', skipped: 'when inputs.docs is false', tasks: [] },
      ],
    };
    const r = await run(['workflow', 'status', '4'], { workflowRun: async () => detail });
    expect(r.code, r.stderr).toBe(0);
    expect(r.calls).toEqual([{ method: 'workflowRun', input: { project_id: 'proj-1', run_id: 4 } }]);
    expect(r.stdout).toMatch(/^Run 4: release 1\.0\.0 \(project\) {2}running\n/);
    expect(r.stdout).toContain('tasks    1/2 done (1 pending)');
    expect(r.stdout).not.toContain('run key');
    expect(r.stdout).toContain('    loom-000000a1  done     Build \\u001b[2J\n');
    expect(r.stdout).toContain('  checks  (uses another workflow: checks/lint)\n  checks/lint\n    loom-000000a2  pending  Lint\n');
    expect(r.stdout).toContain('  docs  skipped: when inputs.docs is false\n');
  });

  it('new asks the connector to write the skeleton and prints the path', async () => {
    const r = await run(['workflow', 'new', 'release_train'], {});
    expect(r.code, r.stderr).toBe(0);
    expect(r.calls).toEqual([{ method: 'newWorkflow', input: { name: 'release_train' } }]);
    expect(r.stdout).toContain('wrote /p/.loom/workflows/release_train.yaml\n');
  });
});
