/**
 * `loom decompose` end to end with the built binary on a fresh embedded
 * project: without a plan it prints the skill; a plan file dry-runs (waves,
 * critical path, hash) and writes nothing; --apply writes it (only the first
 * wave is ready) and applying again writes nothing new; bad plans and paths
 * exit non-zero with their code and write nothing; --epic puts the tasks
 * under an existing epic.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loom, loomJson } from '../support/loom-cli.js';

const PLAN_YAML = `# a plan as an agent without MCP writes it
title: Full-text search
tasks:
  - key: spec
    title: Write the search spec
    priority: p0
    done_when: docs/specs/search.md exists
  - key: index
    title: Build the search index
    depends_on: [spec]
    done_when: "npm test -- index passes"
  - key: api
    title: Add GET /search
    depends_on: [index]
    done_when: curl works
  - key: docs
    title: Document search
    priority: p2
    depends_on: [spec]
`;

// Every step is a real `loom` process (seconds each on a loaded machine; the first also starts the daemon).
const TEST_TIMEOUT_MS = 600_000;

describe('loom decompose (built binary, embedded project)', () => {
  let dir: string;
  let home: string;
  let outside: string;
  let env: Record<string, string>;
  const run = (args: string[]) => loom(dir, args, env);
  const json = <T = any>(args: string[]) => loomJson<T>(dir, args, env);
  const write = (name: string, text: string) => writeFileSync(join(dir, name), text);
  const taskCount = async () => (await json<{ graph: { nodes: unknown[] } }>(['graph', '--format', 'json'])).graph.nodes.length;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loom-decompose-e2e-'));
    home = mkdtempSync(join(tmpdir(), 'loom-decompose-home-'));
    outside = mkdtempSync(join(tmpdir(), 'loom-decompose-outside-'));
    env = { LOOM_HOME: home, LOOM_DAEMON_IDLE_SECONDS: '60' };
    await json(['init', '--name', 'decompose-e2e']);
  });
  afterAll(async () => {
    await run(['daemon', 'stop']);
    for (const d of [dir, home, outside]) if (d !== undefined) rmSync(d, { recursive: true, force: true });
  });

  it('without a plan prints the decompose skill for the goal, then how to go on', async () => {
    const r = await run(['decompose', '--goal', 'Add full-text search']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('# Decompose into a Loom task graph');
    expect(r.stdout).toContain('Add full-text search');
    expect(r.stdout).toContain("loom decompose --goal 'Add full-text search' --plan plan.json");
    expect(r.stdout).toContain('Nothing is written until you run the same command with --apply.');
    const prompt = await json(['decompose', '--goal', 'Add full-text search']);
    expect(prompt).toMatchObject({ stage: 'plan_needed', skill: { name: 'decompose_project' }, plan_schema: { $id: 'urn:loom:schema:decomposition-plan' } });
  }, TEST_TIMEOUT_MS);

  it('dry-runs a plan file: waves, critical path and hash; nothing is written', async () => {
    write('plan.yaml', PLAN_YAML);
    const r = await run(['decompose', '--plan', 'plan.yaml']);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout;
    expect(out).toMatch(/^New epic "Full-text search": 4 tasks\n/);
    expect(out).toMatch(/Wave 1 \(can start now\)\n {2}spec +Write the search spec +\[p0\]\n/);
    expect(out).toMatch(/Wave 2\n {2}index +Build the search index +\[p1\] +<- spec\n {2}docs +Document search +\[p2\] +<- spec\n/);
    expect(out).toMatch(/Wave 3\n {2}api +Add GET \/search +\[p1\] +<- index\n/);
    expect(out).toContain('Critical path (3 tasks): spec -> index -> api');
    expect(out).toMatch(/no_done_when: 1 task has no done_when \(docs\)/);
    expect(out).toContain('Counts: 4 tasks, 3 edges, 3 waves');
    expect(out).toMatch(/Plan hash: [0-9a-f]{64}\n/);
    expect(out).toContain('Nothing was written. Run again with --apply to write it.');
    expect(await json(['ready'])).toEqual([]);
    expect(await taskCount()).toBe(0);
  }, TEST_TIMEOUT_MS);

  it('--apply writes the plan (only the first wave is ready); again, nothing new and the same ids', async () => {
    const r = await run(['decompose', '--plan', 'plan.yaml', '--apply']);
    expect(r.code, r.stderr).toBe(0);
    const created = /Created epic (loom-[0-9a-f]{8}) with 4 tasks\n/.exec(r.stdout);
    expect(created, r.stdout).not.toBeNull();
    const ids = Object.fromEntries([...r.stdout.matchAll(/^ {2}(spec|index|api|docs) +(loom-[0-9a-f]{8})$/gm)].map((m) => [m[1], m[2]]));
    expect(Object.keys(ids).sort()).toEqual(['api', 'docs', 'index', 'spec']);
    expect((await json<Array<{ id: string }>>(['ready'])).map((t) => t.id)).toEqual([ids.spec]);
    expect(await taskCount()).toBe(5);

    const again = await json(['decompose', '--plan', 'plan.yaml', '--apply']);
    expect(again).toMatchObject({ stage: 'applied', created: false, epic_id: created![1], tasks: ids, dry_run: { stage: 'dry_run' } });
    const text = await run(['decompose', '--plan', 'plan.yaml', '--apply']);
    expect(text.stdout).toContain(`Already applied: epic ${created![1]}, nothing new written`);
    expect(await taskCount()).toBe(5);
  }, TEST_TIMEOUT_MS);

  it('refuses a cycle, a flat plan, a YAML error, a missing file and a spec outside the project, writing nothing', async () => {
    write('cycle.yaml', 'title: Cycle\ntasks:\n  - {key: a, title: A, depends_on: [b]}\n  - {key: b, title: B, depends_on: [a]}\n');
    write('flat.json', JSON.stringify({ title: 'Flat', tasks: ['a', 'b', 'c', 'd'].map((k) => ({ key: k, title: k.toUpperCase() })) }));
    write('broken.yaml', 'title: Broken\ntasks:\n  - key: a\n   title: A\n');
    writeFileSync(join(outside, 'outside.md'), '# not yours\n');
    const before = await taskCount();
    const cases: Array<[string[], string, RegExp]> = [
      [['decompose', '--plan', 'cycle.yaml', '--apply'], 'DEPENDENCY_CYCLE', /a -> b -> a|b -> a -> b/],
      [['decompose', '--plan', 'flat.json', '--apply'], 'PLAN_FLAT', /no dependency edges\nhint: .*run again with --allow-flat/],
      [['decompose', '--plan', 'broken.yaml', '--apply'], 'VALIDATION_FAILED', /broken\.yaml is not valid YAML at line 4, column 4: bad indentation/],
      [['decompose', '--plan', 'missing.yaml'], 'VALIDATION_FAILED', /missing\.yaml does not exist/],
      [['decompose', '--spec', join('..', outside.split('/').at(-1)!, 'outside.md'), '--plan', 'plan.yaml', '--apply'], 'VALIDATION_FAILED', /is outside the project directory/],
    ];
    for (const [args, code, message] of cases) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^${code}: `));
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain('hint: ');
    }
    const asJson = await run(['decompose', '--plan', 'flat.json', '--json']);
    expect(asJson.code).toBe(1);
    expect(JSON.parse(asJson.stdout)).toMatchObject({ error: { code: 'PLAN_FLAT', hint: expect.stringContaining('--allow-flat') } });
    expect(await taskCount()).toBe(before);
    // Said so, a flat plan goes through.
    const flat = await run(['decompose', '--plan', 'flat.json', '--allow-flat']);
    expect(flat.code, flat.stderr).toBe(0);
    expect(flat.stdout).toContain('Wave 1 (can start now)');
  }, TEST_TIMEOUT_MS);

  it('--epic ID --plan puts the tasks under an existing epic', async () => {
    const epic = (await json<{ id: string }>(['create', 'Reporting', '--epic'])).id;
    write('epic-plan.json', JSON.stringify({ title: 'Reporting parts', tasks: [{ key: 'query', title: 'Write the query', done_when: 'x' }, { key: 'chart', title: 'Draw the chart', depends_on: ['query'], done_when: 'y' }] }));
    const r = await run(['decompose', '--epic', epic, '--plan', 'epic-plan.json', '--apply']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Under epic ${epic} \\(plan "Reporting parts"\\): 2 tasks\n`));
    expect(r.stdout).toContain(`Added 2 tasks to epic ${epic}`);
    const query = /^ {2}query +(loom-[0-9a-f]{8})$/m.exec(r.stdout)![1]!;
    const chart = /^ {2}chart +(loom-[0-9a-f]{8})$/m.exec(r.stdout)![1]!;
    const status = await json<{ task: { parent_id: string; status: string } }>(['status', chart]);
    expect(status.task).toMatchObject({ parent_id: epic, status: 'blocked' });
    expect((await json<{ task: { parent_id: string } }>(['status', query])).task.parent_id).toBe(epic);
  }, TEST_TIMEOUT_MS);
});
