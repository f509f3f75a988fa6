/** List tools return task summaries, not every full context: a content-size bound measured with bench/mcp-tokens. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realisticContext } from '../../bench/mcp-tokens/fixture.js';
import { PREVIEW_CHARS } from '../../src/adapters/mcp/tools/summary.js';
import { connect, newProject, openBackend, type Backend } from './harness.js';

let b: Backend;
beforeAll(async () => {
  b = await openBackend();
});
afterAll(async () => {
  await b.close();
});

describe('lean list results', () => {
  it('loom_ready of 20 tasks with ~1 KB contexts stays under 12,000 characters of text (it was ~32,700 with full tasks)', async () => {
    const s = await connect(b, await newProject(b.api, 'lean'));
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      ids.push((await s.ok('loom_create', { title: `Export invoices as CSV, part ${i}`, context: realisticContext(i), done_when: 'the export tests pass' })).task.id);
    }
    const r = await s.client.callTool({ name: 'loom_ready', arguments: { limit: 20 } });
    const text = (r.content as Array<{ text: string }>)[0]!.text;
    const tasks = (r.structuredContent as { tasks: Array<Record<string, unknown>> }).tasks;
    expect(tasks.map((t) => t.id).sort()).toEqual([...ids].sort());
    expect(text.length).toBeLessThan(12_000);
    expect(JSON.stringify(r.structuredContent).length).toBeLessThan(12_000);
    expect(JSON.parse(text)).toEqual(r.structuredContent);

    const first = tasks.find((t) => t.id === ids[0])!;
    expect(first).toMatchObject({ title: 'Export invoices as CSV, part 0', status: 'pending', priority: 'p1', depends_on: 0, unmet_deps: 0, attempts: 0, done_when: 'the export tests pass' });
    expect(first).not.toHaveProperty('context');
    expect((first.context_preview as string).length).toBeLessThanOrEqual(PREVIEW_CHARS);
    expect(first.context_preview as string).toMatch(/^\{"spec":"Add CSV export/);
    expect(first.context_chars).toBe(JSON.stringify(realisticContext(0)).length);

    // The whole task is one loom_status away.
    expect((await s.ok('loom_status', { task_id: ids[0] })).task.context).toEqual(realisticContext(0));
    await s.close();
  });

  it('a short context is previewed whole; counts say what the task waits on and unblocks', async () => {
    const s = await connect(b, await newProject(b.api, 'lean-counts'));
    const a = (await s.ok('loom_create', { title: 'a', context: { file: 'a.ts' } })).task;
    await s.ok('loom_create', { title: 'c', depends_on: [a.id] });
    const [t] = (await s.ok('loom_ready')).tasks;
    expect(t).toMatchObject({ id: a.id, context_preview: '{"file":"a.ts"}', context_chars: 15, unblocks: 1, depends_on: 0 });
    await s.close();
  });
});
