import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { buildCli, runCli } from '../../src/adapters/cli/cli.js';
import type { LoomCliContext } from '../../src/adapters/cli/context.js';
import { renderDryRun } from '../../src/adapters/cli/decompose-view.js';
import { LoomError } from '../../src/domain/errors.js';
import type { DecomposeApplied, DecomposeDryRun, DecomposeInput, DecomposePrompt, DecomposeResult, LoomApi } from '../../src/ports/loom-api.js';
import { VizGraphPictures } from '../../src/adapters/graphviz/viz-graph-pictures.js';
import type { LoomConnector } from '../../src/ports/loom-connector.js';

/*
 * `loom decompose` against a stub API that records its calls: which input
 * each flag becomes, the dry run then the apply, and what is printed.
 */

const DIR = mkdtempSync(join(tmpdir(), 'loom-cli-decompose-'));
const PLAN = { title: 'Search', tasks: [{ key: 'spec', title: 'Spec' }, { key: 'api', title: 'API', depends_on: ['spec'] }] };
writeFileSync(join(DIR, 'plan.json'), JSON.stringify(PLAN));
const PLAN_FILE = join(DIR, 'plan.json');

const dryRun = (over: Partial<DecomposeDryRun> = {}): DecomposeDryRun => ({
  stage: 'dry_run',
  title: 'Search',
  parent: { new_epic: 'Search' },
  tasks: [
    { key: 'spec', title: 'Spec', priority: 'p0', depends_on: [], done_when: 'written', skill: null, wave: 0 },
    { key: 'api', title: 'API', priority: 'p1', depends_on: ['spec', 'loom-0000000a'], done_when: null, skill: null, wave: 1 },
  ],
  edges: [['api', 'spec'], ['api', 'loom-0000000a']],
  waves: [['spec'], ['api']],
  critical_path: ['spec', 'api'],
  critical_path_length: 2,
  warnings: [{ code: 'no_done_when', message: '1 task has no done_when (api): a reviewer cannot check them', keys: ['api'] }],
  counts: { tasks: 2, edges: 2, existing_dependencies: 1 },
  plan_hash: 'h'.repeat(64),
  next: 'call again',
  ...over,
});

const applied = (created = true): DecomposeApplied => ({
  stage: 'applied',
  epic_id: 'loom-000000e1',
  created,
  tasks: { api: 'loom-000000a2', spec: 'loom-000000a1' },
  counts: { tasks: 2, edges: 2 },
  waves: [['spec'], ['api']],
  plan_hash: 'h'.repeat(64),
});

async function run(argv: string[], decompose: (input: DecomposeInput) => Promise<DecomposeResult>) {
  const inputs: DecomposeInput[] = [];
  const api = {
    decompose: async (input: DecomposeInput) => {
      inputs.push(input);
      return decompose(input);
    },
    close: async () => {},
  } as unknown as LoomApi;
  const connector = {
    open: async () => ({ api, project: { project_dir: DIR, project_id: 'proj-1', mode: 'embedded' }, events: { subscribe: () => () => {} } }),
  } as unknown as LoomConnector;
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += String(d)));
  stderr.on('data', (d) => (err += String(d)));
  const context: LoomCliContext = { stdin: process.stdin, stdout, stderr, env: {}, colorDepth: 1, connector, pictures: new VizGraphPictures() };
  const code = await runCli(argv, context, buildCli('0.0.0', { enableColors: false }));
  return { code, stdout: out, stderr: err, inputs };
}

describe('loom decompose', () => {
  it('without --plan prints the skill text and how to go on; the flags become the input', async () => {
    const prompt: DecomposePrompt = {
      stage: 'plan_needed',
      skill: { name: 'decompose_project', source: 'builtin', version: '1.0.0', content_hash: 'x', text: '# Decompose\nGoal: search\n' },
      plan_schema: {},
      next: 'call loom_decompose',
    };
    const r = await run(['decompose', '--goal', 'Add search', '--file-tree', '--constraints', 'no new deps'], async () => prompt);
    expect(r.code).toBe(0);
    expect(r.inputs).toEqual([{ project_id: 'proj-1', goal: 'Add search', include_file_tree: true, constraints: 'no new deps' }]);
    expect(r.stdout).toContain('# Decompose\nGoal: search\n\n---\n');
    expect(r.stdout).toContain("  loom decompose --goal 'Add search' --plan plan.json\n");
    const json = await run(['decompose', '--epic', 'loom-0000000e', '--json'], async () => prompt);
    expect(json.inputs[0]).toEqual({ project_id: 'proj-1', epic_id: 'loom-0000000e' });
    expect(JSON.parse(json.stdout)).toEqual(prompt);
  });

  it('--plan dry-runs: the tree by wave, critical path, warnings, counts, hash; the title is the goal when none is given', async () => {
    const r = await run(['decompose', '--plan', PLAN_FILE], async () => dryRun());
    expect(r.code).toBe(0);
    expect(r.inputs).toEqual([{ project_id: 'proj-1', goal: 'Search', plan: PLAN }]);
    expect(r.stdout).toBe(
      [
        'New epic "Search": 2 tasks',
        '',
        'Wave 1 (can start now)',
        '  spec  Spec  [p0]',
        'Wave 2',
        '  api   API   [p1]  <- spec, loom-0000000a',
        '',
        'Critical path (2 tasks): spec -> api',
        'Warnings (1):',
        '  no_done_when: 1 task has no done_when (api): a reviewer cannot check them',
        'Counts: 2 tasks, 2 edges, 2 waves, 1 existing task depended on',
        `Plan hash: ${'h'.repeat(64)}`,
        '',
        'Nothing was written. Run again with --apply to write it.',
        '',
      ].join('\n'),
    );
    const json = await run(['decompose', '--goal', 'g', '--plan', PLAN_FILE, '--allow-flat', '--json'], async () => dryRun());
    expect(json.inputs).toEqual([{ project_id: 'proj-1', goal: 'g', plan: PLAN, allow_flat: true }]);
    expect(JSON.parse(json.stdout)).toEqual(dryRun());
  });

  it('--apply dry-runs, then applies with the hash of that dry run', async () => {
    const answer = async (i: DecomposeInput) => (i.apply === true ? applied() : dryRun());
    const r = await run(['decompose', '--plan', PLAN_FILE, '--apply'], answer);
    expect(r.code).toBe(0);
    expect(r.inputs).toEqual([
      { project_id: 'proj-1', goal: 'Search', plan: PLAN },
      { project_id: 'proj-1', goal: 'Search', plan: PLAN, apply: true, plan_hash: 'h'.repeat(64) },
    ]);
    expect(r.stdout).toContain('Wave 2\n');
    expect(r.stdout).toContain('Created epic loom-000000e1 with 2 tasks\n  spec  loom-000000a1\n  api   loom-000000a2\n');
    expect(r.stdout).not.toContain('Nothing was written');
    const again = await run(['decompose', '--plan', PLAN_FILE, '--apply'], async (i) => (i.apply === true ? applied(false) : dryRun()));
    expect(again.stdout).toContain('Already applied: epic loom-000000e1, nothing new written\n');
    const json = await run(['decompose', '--plan', PLAN_FILE, '--apply', '--json'], answer);
    expect(JSON.parse(json.stdout)).toEqual({ ...applied(), dry_run: dryRun() });
    const epic = await run(['decompose', '--epic', 'loom-0000000e', '--plan', PLAN_FILE, '--apply'], async (i) =>
      i.apply === true ? applied() : dryRun({ parent: { epic_id: 'loom-0000000e' } }),
    );
    expect(epic.stdout).toMatch(/^Under epic loom-0000000e \(plan "Search"\): 2 tasks\n\nWave 1 \(first; may wait for existing tasks\)\n/);
    expect(epic.stdout).toContain('Added 2 tasks to epic loom-000000e1');
  });

  it('a long title overflows its column instead of widening every line', () => {
    const long = 'L'.repeat(200);
    const lines = renderDryRun(dryRun({ tasks: [dryRun().tasks[0]!, { ...dryRun().tasks[1]!, title: long }] }));
    expect(lines).toContain(`  spec  Spec${' '.repeat(56)}  [p0]`);
    expect(lines).toContain(`  api   ${long}  [p1]  <- spec, loom-0000000a`);
  });

  it('prints titles through printable()', async () => {
    const r = await run(['decompose', '--plan', PLAN_FILE], async () =>
      dryRun({ title: 'Evil\u001b[2J', parent: { new_epic: 'Evil\u001b[2J' } }),
    );
    expect(r.stdout).toContain('New epic "Evil\\u001b[2J"');
    expect(r.stdout).not.toContain('\u001b');
  });

  it('refuses contradictory flags before calling the API, and tells the shell user about --allow-flat', async () => {
    const never = async (): Promise<DecomposeResult> => {
      throw new Error('must not be called');
    };
    const cases: Array<[string[], RegExp]> = [
      [['decompose'], /needs one of --goal, --spec or --epic/],
      [['decompose', '--goal', 'a', '--spec', 'b.md'], /not --goal and --spec/],
      [['decompose', '--goal', 'a', '--apply'], /--apply goes with --plan/],
      [['decompose', '--goal', 'a', '--plan', PLAN_FILE, '--file-tree'], /--file-tree shapes the skill text/],
      [['decompose', '--plan', join(DIR, 'missing.yaml')], /missing\.yaml does not exist/],
      [['decompose', '--plan', join(DIR, 'untitled.json')], /untitled\.json has no title to use as the goal/],
    ];
    writeFileSync(join(DIR, 'untitled.json'), '{"tasks": []}');
    for (const [argv, message] of cases) {
      const r = await run(argv, never);
      expect(r.code, argv.join(' ')).toBe(1);
      expect(r.stderr).toMatch(/^VALIDATION_FAILED: /);
      expect(r.stderr).toMatch(message);
      expect(r.inputs).toEqual([]);
    }
    const flat = await run(['decompose', '--plan', PLAN_FILE], async () => {
      throw new LoomError('PLAN_FLAT', 'the plan has 4 tasks and no dependency edges', { hint: 'Only if the tasks truly share no inputs, send allow_flat: true. Nothing was written' });
    });
    expect(flat.code).toBe(1);
    expect(flat.stderr).toBe('PLAN_FLAT: the plan has 4 tasks and no dependency edges\nhint: Only if the tasks truly share no inputs, run again with --allow-flat. Nothing was written\n');
  });
});
