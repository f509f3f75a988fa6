/**
 * Skills as prompts and loom_decompose end to end: the built `loom mcp` over
 * stdio on a fresh `loom init` project, with a real SDK Client. prompts/list
 * shows the eight builtin skills and a project one; prompts/get renders a
 * builtin for a task with its upstream output; loom_decompose reads a spec
 * file, dry-runs, applies once (only the first wave is ready) and not twice;
 * auto: true asks a client that offers sampling for the plan, over stdio.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateMessageRequestSchema, type CreateMessageRequest } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loom, loomJson } from '../support/loom-cli.js';
import { McpProcess } from '../support/mcp-process.js';

const BUILTINS = ['debug_failure', 'decompose_project', 'define_done', 'estimate_complexity', 'generate_test_plan', 'review_output', 'write_spec', 'write_task_context'];

const PLAN = {
  title: 'Search',
  tasks: [
    { key: 'spec', title: 'Write the search spec', priority: 'p0', done_when: 'docs/specs/search.md has acceptance criteria' },
    { key: 'index', title: 'Build the index', depends_on: ['spec'], done_when: 'npm test -- index passes', context: { files: ['src/index.ts'] } },
    { key: 'api', title: 'Add GET /search', depends_on: ['index'], done_when: 'npm test -- api passes' },
    { key: 'docs', title: 'Document search', depends_on: ['spec'], done_when: 'README has a Search section' },
    { key: 'review', title: 'Review search', depends_on: ['api', 'docs'], done_when: 'approved', skill: 'review_output' },
  ],
};

describe('skills and loom_decompose over stdio (built binary, embedded project)', () => {
  let dir: string;
  let home: string;
  let env: Record<string, string>;
  let mcp: McpProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loom-decompose-e2e-'));
    home = mkdtempSync(join(tmpdir(), 'loom-decompose-home-'));
    env = { LOOM_HOME: home };
    await loomJson(dir, ['init', '--name', 'decompose-e2e'], env);
    writeFileSync(
      join(dir, '.loom', 'skills', 'release_check.md'),
      '---\nname: release_check\ndescription: The team\'s release checklist\nversion: 1.0.0\n---\nGo through the release checklist.\n',
    );
    mkdirSync(join(dir, 'docs'));
    writeFileSync(join(dir, 'docs', 'search.md'), '# Search\nUsers search invoice titles and bodies; results ranked by score.\n');
    mcp = await McpProcess.start(dir, [], env);
  });
  afterAll(async () => {
    await mcp?.close();
    await loom(dir, ['daemon', 'stop'], env);
    rmSync(dir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  const nodeCount = async (): Promise<number> => ((await mcp.ok('loom_graph', { format: 'json' })).graph.nodes as unknown[]).length;

  it('prompts/list shows the eight builtin skills and the project\'s own', async () => {
    const { prompts } = await mcp.client.listPrompts();
    const names = prompts.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining([...BUILTINS, 'release_check']));
    expect(names).toHaveLength(BUILTINS.length + 1);
    expect(prompts.find((p) => p.name === 'release_check')?.description).toBe('The team\'s release checklist');
  });

  it('prompts/get of a builtin with task_id renders the task and the output of the task before it', async () => {
    const a = (await mcp.ok('loom_create', { title: 'Design the invoice schema' })).task;
    const b = (await mcp.ok('loom_create', { title: 'Write the invoice API', depends_on: [a.id] })).task;
    await mcp.ok('loom_claim', { task_id: a.id });
    await mcp.ok('loom_done', { task_id: a.id, output: { tables: ['invoices', 'invoice_lines'] } });

    const r = await mcp.client.getPrompt({ name: 'write_task_context', arguments: { task_id: b.id } });
    expect(r.messages).toHaveLength(1);
    const text = (r.messages[0]!.content as { type: string; text: string }).text;
    expect(text).toContain(`task ${b.id}, **Write the invoice API**`);
    expect(text).toContain(`- ${a.id} Design the invoice schema [done]: {"tables":["invoices","invoice_lines"]}`);

    // Finish B too, so that what is ready below is the decomposition's alone.
    await mcp.ok('loom_claim', { task_id: b.id });
    await mcp.ok('loom_done', { task_id: b.id, output: { ok: true } });
    expect((await mcp.ok('loom_ready')).tasks).toEqual([]);
  });

  it('loom_decompose: skill and schema for a spec file, a dry run, one apply (first wave ready), none on a second', async () => {
    const before = await nodeCount();
    const prompt = await mcp.ok('loom_decompose', { spec_path: 'docs/search.md' });
    expect(prompt).toMatchObject({ stage: 'plan_needed', skill: { name: 'decompose_project', source: 'builtin' } });
    expect(prompt.skill.text).toContain('Users search invoice titles and bodies');
    expect(prompt.plan_schema.$id).toBe('urn:loom:schema:decomposition-plan');

    const dry = await mcp.ok('loom_decompose', { spec_path: 'docs/search.md', plan: PLAN });
    expect(dry).toMatchObject({ stage: 'dry_run', waves: [['spec'], ['index', 'docs'], ['api'], ['review']], critical_path: ['spec', 'index', 'api', 'review'] });
    expect(await nodeCount()).toBe(before);

    const applied = await mcp.ok('loom_decompose', { spec_path: 'docs/search.md', plan: PLAN, apply: true, plan_hash: dry.plan_hash });
    expect(applied).toMatchObject({ stage: 'applied', created: true, counts: { tasks: 5, edges: 5 } });
    expect(await nodeCount()).toBe(before + 6);
    const ready = (await mcp.ok('loom_ready')).tasks as Array<{ id: string }>;
    expect(ready.map((t) => t.id)).toEqual([applied.tasks.spec]);
    const epic = await mcp.ok('loom_status', { task_id: applied.epic_id });
    expect(epic.task).toMatchObject({ status: 'epic', title: 'Search' });

    const again = await mcp.ok('loom_decompose', { spec_path: 'docs/search.md', plan: PLAN, apply: true, plan_hash: dry.plan_hash });
    expect(again).toMatchObject({ stage: 'applied', created: false, epic_id: applied.epic_id, tasks: applied.tasks });
    expect(await nodeCount()).toBe(before + 6);
  });

  it('loom_decompose refuses a flat plan with PLAN_FLAT and says how to wire it', async () => {
    const flat = { title: 'Flat', tasks: ['a', 'b', 'c', 'd'].map((k) => ({ key: k, title: `Task ${k}` })) };
    const r = await mcp.call('loom_decompose', { goal: 'do four things', plan: flat });
    expect(r.isError).toBe(true);
    expect(r.json).toMatchObject({ code: 'PLAN_FLAT', message: expect.stringContaining('4 tasks and no dependency edges'), hint: expect.stringMatching(/depends_on.*allow_flat: true/) });
  });

  it('auto: true without the sampling capability is SAMPLING_UNSUPPORTED with the way by hand', async () => {
    const r = await mcp.call('loom_decompose', { goal: 'Add search', auto: true });
    expect(r.json).toMatchObject({ code: 'SAMPLING_UNSUPPORTED', hint: expect.stringContaining('call loom_decompose without auto') });
  });

  it('auto: true with a client that offers sampling: the plan comes back over stdio and is dry-run, not applied', async () => {
    const seen: Array<CreateMessageRequest['params']> = [];
    const sampler = await McpProcess.start(dir, [], env, {
      capabilities: { sampling: {} },
      setup: (client) =>
        client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
          seen.push(request.params);
          return { role: 'assistant', model: 'e2e-model', content: { type: 'text', text: `Here is the plan.\n\`\`\`json\n${JSON.stringify(PLAN)}\n\`\`\`` } };
        }),
    });
    try {
      const before = await nodeCount();
      const r = await sampler.ok('loom_decompose', { goal: 'Add search to invoices', auto: true });
      expect(r).toMatchObject({ stage: 'dry_run', sampled: true, model: 'e2e-model', plan: PLAN, counts: { tasks: 5 } });
      expect(seen).toHaveLength(1);
      expect((seen[0]!.messages[0]!.content as { text: string }).text).toContain('Add search to invoices');
      expect(await nodeCount()).toBe(before);
    } finally {
      await sampler.close();
    }
  });
});
