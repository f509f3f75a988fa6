/**
 * What a model (or a broken client) can send that Loom cannot store or must
 * not take: every answer is a coded error a model can act on, the session
 * keeps working, and nothing is written.
 */
import { CallToolResultSchema, ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../src/domain/text.js';
import { allEvents, connect, newProject, openBackend, type Backend } from './harness.js';

let b: Backend;
beforeAll(async () => {
  b = await openBackend();
});
afterAll(async () => {
  await b.close();
});

function deep(levels: number): unknown {
  let v: unknown = 'leaf';
  for (let i = 0; i < levels; i++) v = { d: v };
  return v;
}

describe('hostile tool arguments', () => {
  it('a refused agent_id is not adopted: the next loom_claim {} of the session works', async () => {
    const project = await newProject(b.api, 'agent id');
    const s = await connect(b, project);
    const before = s.mcp.session.agentId;
    await s.ok('loom_create', { title: 'work' });
    const bad = await s.call('loom_claim', { agent_id: 'a\u0000b' });
    expect(bad.isError).toBe(true);
    expect(bad.data.error).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(bad.data.error.message).toContain('agent_id');
    expect(bad.data.error.message).toContain('NUL');
    expect(s.mcp.session.agentId).toBe(before);
    const good = await s.ok('loom_claim', {});
    expect(good).toMatchObject({ claimed: true, agent_id: before });
    await s.close();
  });

  it('an agent_id the API accepts becomes the session id, even when nothing was ready', async () => {
    const project = await newProject(b.api, 'agent id 2');
    const s = await connect(b, project);
    expect(await s.ok('loom_claim', { agent_id: 'reviewer-1' })).toMatchObject({ claimed: false, agent_id: 'reviewer-1' });
    expect(s.mcp.session.agentId).toBe('reviewer-1');
    await s.close();
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a NUL in a title', { title: 'fix\u0000it' }, 'title: contains a NUL'],
    ['a lone surrogate in a title', { title: 'fix \ud83d it' }, 'title: contains a lone surrogate (U+D83D'],
    ['a lone surrogate deep in the context', { title: 't', context: { files: [{ path: 'a\udc00' }] } }, 'context.files[0].path'],
    ['a NUL in a context key', { title: 't', context: { 'k\u0000': 1 } }, 'context: the key "k\\u0000"'],
    ['a context nested too deep', { title: 't', context: deep(MAX_JSON_DEPTH + 10) }, `nested deeper than ${MAX_JSON_DEPTH}`],
    ['a context over the size limit', { title: 't', context: { log: 'x'.repeat(70 * 1024) } }, 'at most 65536'],
    ['a huge title', { title: 't'.repeat(5_000_000) }, 'title: must NOT have more than 500 characters'],
  ])('loom_create with %s: VALIDATION_FAILED naming it, nothing written', async (_label, args, says) => {
    const project = await newProject(b.api, 'create');
    const s = await connect(b, project);
    const events = (await allEvents(b.api, project.project_id)).length;
    const r = await s.call('loom_create', args);
    expect(r.isError).toBe(true);
    expect(r.data.error.code).toBe('VALIDATION_FAILED');
    expect(r.data.error.message).toContain(says);
    expect(r.data.error.hint).toBeTruthy();
    expect((await allEvents(b.api, project.project_id)).length).toBe(events);
    await s.close();
  });

  it('an output over the size limit is refused with the limit and a hint, and the lease stays', async () => {
    const project = await newProject(b.api, 'output');
    const s = await connect(b, project);
    const task = (await s.ok('loom_create', { title: 't' })).task;
    await s.ok('loom_claim', { task_id: task.id });
    const r = await s.call('loom_done', { task_id: task.id, output: { log: 'é'.repeat(40 * 1024) } });
    expect(r.data.error).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(r.data.error.message).toMatch(/output is \d+ bytes of JSON; at most 65536/);
    expect(r.data.error.hint).toContain('files');
    expect(await s.ok('loom_done', { task_id: task.id, output: { log: 'short' } })).toMatchObject({ task: { status: 'done' } });
    await s.close();
  });

  it.each<[string, unknown]>([
    ['an array', [1]],
    ['a string', 'x'],
    ['a number', 42],
  ])('arguments that are %s get VALIDATION_FAILED in words, not a schema dump', async (_label, args) => {
    const project = await newProject(b.api, 'args');
    const s = await connect(b, project);
    const r = await s.client.request({ method: 'tools/call', params: { name: 'loom_ready', arguments: args as never } }, CallToolResultSchema);
    expect(r.isError).toBe(true);
    const error = (r.structuredContent as { error: { code: string; message: string; hint: string } }).error;
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toMatch(/loom_ready arguments must be a JSON object of named arguments, got (an array|a string|a number)/);
    expect(error.hint).toContain('tools/list');
    // The session carries on.
    expect((await s.ok('loom_ready', {})).tasks).toEqual([]);
    await s.close();
  });

  it('arguments: null count as no arguments (clients send it for tools without any)', async () => {
    const project = await newProject(b.api, 'null args');
    const s = await connect(b, project);
    const r = await s.client.request({ method: 'tools/call', params: { name: 'loom_ready', arguments: null as never } }, CallToolResultSchema);
    expect(r.isError).not.toBe(true);
    expect(r.structuredContent).toEqual({ tasks: [] });
    await s.close();
  });

  it('a tools/call without a tool name is invalid params (-32602) naming the tools', async () => {
    const project = await newProject(b.api, 'no name');
    const s = await connect(b, project);
    const error = await s.client.request({ method: 'tools/call', params: { arguments: {} } as never }, CallToolResultSchema).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(ErrorCode.InvalidParams);
    expect((error as McpError).message).toContain('loom_ready');
    expect((error as McpError).message).not.toMatch(/invalid_type|expected/);
    await s.close();
  });
});

describe('list reads stay small however large the stored JSON is', () => {
  it('loom_ready lists a short preview of each context and its real size; loom_status and loom_claim give it whole', async () => {
    const project = await newProject(b.api, 'lists');
    const s = await connect(b, project);
    const big = { spec: 'x'.repeat(60 * 1024) };
    const large = (await s.ok('loom_create', { title: 'large', context: big, priority: 'p0' })).task;
    const small = (await s.ok('loom_create', { title: 'small', context: { file: 'a.ts' } })).task;
    const ready = (await s.ok('loom_ready', {})).tasks as Array<{ id: string; context_preview: string; context_chars: number }>;
    expect(ready.map((t) => t.id)).toEqual([large.id, small.id]);
    expect(ready[0]).not.toHaveProperty('context');
    expect(ready[0]!.context_preview.length).toBeLessThanOrEqual(160);
    expect(ready[0]!.context_chars).toBeGreaterThan(60 * 1024);
    expect(ready[1]).toMatchObject({ context_preview: '{"file":"a.ts"}', context_chars: 15 });
    expect((await s.ok('loom_status', { task_id: large.id })).task.context).toEqual(big);
    expect((await s.ok('loom_claim', { task_id: large.id })).task.context).toEqual(big);
    await s.close();
  });
});
