/**
 * loom_decompose over MCP: the three calls (skill and schema, dry run, apply),
 * the coded refusals a model acts on, and auto: true, where the server asks
 * the client's own model for the plan with MCP sampling and only dry-runs it.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, McpError, ErrorCode, type CreateMessageRequest, type CreateMessageResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLoomHttpServer } from '../../src/adapters/mcp/http-server.js';
import { firstJsonObject, planFromReply } from '../../src/adapters/mcp/sampling.js';
import { connect, newProject, openBackend, waitFor, type Backend, type Session } from './harness.js';

let b: Backend;
beforeAll(async () => {
  b = await openBackend();
});
afterAll(async () => {
  await b?.close();
});

const PLAN = {
  title: 'Search',
  tasks: [
    { key: 'spec', title: 'Write the search spec', done_when: 'docs/search.md exists', priority: 'p0' },
    { key: 'index', title: 'Build the index', depends_on: ['spec'], done_when: 'npm test -- index passes', context: { files: ['src/index.ts'] } },
    { key: 'docs', title: 'Document search', depends_on: ['spec'], done_when: 'README has a Search section' },
    { key: 'review', title: 'Review search', depends_on: ['index', 'docs'], done_when: 'approved' },
  ],
};
const FLAT = { title: 'Flat', tasks: ['a', 'b', 'c', 'd'].map((k) => ({ key: k, title: `Task ${k}` })) };

async function taskCount(s: Session): Promise<number> {
  const g = await s.ok('loom_graph', { format: 'json' });
  return (g.graph.nodes as unknown[]).length;
}

/** A client offering sampling whose model answers `reply` (or fails); the requests it got are kept. */
function samplingClient(reply: string | Error, seen: Array<CreateMessageRequest['params']>) {
  return {
    clientCapabilities: { sampling: {} },
    setupClient: (client: Client) => {
      client.setRequestHandler(CreateMessageRequestSchema, async (request): Promise<CreateMessageResult> => {
        seen.push(request.params);
        if (reply instanceof Error) throw reply;
        return { role: 'assistant', model: 'test-model-1', stopReason: 'endTurn', content: { type: 'text', text: reply } };
      });
    },
  };
}

describe('loom_decompose', () => {
  it('is listed in the planning group as a non-destructive write, with a plan argument but not the plan schema inlined', async () => {
    const s = await connect(b, await newProject(b.api, 'dec-list'));
    const tool = (await s.client.listTools()).tools.find((t) => t.name === 'loom_decompose')!;
    expect(tool.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false });
    expect(tool.description).toContain('Nothing is written without apply');
    expect(tool.inputSchema.properties?.plan).toEqual({ type: 'object', description: expect.stringContaining('plan_schema') });
    expect(Object.keys(tool.inputSchema.properties ?? {}).sort()).toEqual(
      ['allow_flat', 'apply', 'auto', 'constraints', 'epic_id', 'goal', 'include_file_tree', 'plan', 'plan_hash', 'spec_path'],
    );
    const core = await connect(b, await newProject(b.api, 'dec-core'), { toolGroups: ['core'] });
    expect((await core.client.listTools()).tools.map((t) => t.name)).not.toContain('loom_decompose');
    await core.close();
    await s.close();
  });

  it('without a plan returns the skill and plan_schema; with one a dry run; apply writes the graph; again writes nothing', async () => {
    const s = await connect(b, await newProject(b.api, 'dec-flow'));
    const prompt = await s.ok('loom_decompose', { goal: 'Add full-text search', constraints: 'No new dependencies' });
    expect(prompt).toMatchObject({ stage: 'plan_needed', skill: { name: 'decompose_project', source: 'builtin' } });
    expect(prompt.skill.text).toContain('Add full-text search');
    expect(prompt.skill.text).toContain('No new dependencies');
    expect(prompt.plan_schema.$id).toBe('urn:loom:schema:decomposition-plan');
    expect(prompt.next).toContain('apply: true');

    const dry = await s.ok('loom_decompose', { goal: 'Add full-text search', plan: PLAN });
    expect(dry).toMatchObject({ stage: 'dry_run', parent: { new_epic: 'Search' }, waves: [['spec'], ['index', 'docs'], ['review']], counts: { tasks: 4, edges: 4 } });
    expect(dry.plan_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(await taskCount(s)).toBe(0);

    const applied = await s.ok('loom_decompose', { goal: 'Add full-text search', plan: PLAN, apply: true, plan_hash: dry.plan_hash });
    expect(applied).toMatchObject({ stage: 'applied', created: true, counts: { tasks: 4, edges: 4 } });
    expect(Object.keys(applied.tasks).sort()).toEqual(['docs', 'index', 'review', 'spec']);
    expect(await taskCount(s)).toBe(5);
    // Only the first wave can be claimed; the epic records this session's agent as its origin.
    expect((await s.ok('loom_ready')).tasks.map((t: { id: string }) => t.id)).toEqual([applied.tasks.spec]);
    const epic = (await s.ok('loom_status', { task_id: applied.epic_id })).task;
    expect(epic).toMatchObject({ status: 'epic', title: 'Search', origin: { kind: 'agent', id: s.mcp.session.agentId } });

    const again = await s.ok('loom_decompose', { goal: 'Add full-text search', plan: PLAN, apply: true, plan_hash: dry.plan_hash });
    expect(again).toMatchObject({ stage: 'applied', created: false, epic_id: applied.epic_id, tasks: applied.tasks });
    expect(await taskCount(s)).toBe(5);
    await s.close();
  });

  it('refuses with coded errors and hints a model can act on; nothing is written', async () => {
    const s = await connect(b, await newProject(b.api, 'dec-errors'));
    const flat = await s.call('loom_decompose', { goal: 'g', plan: FLAT });
    expect(flat.isError).toBe(true);
    expect(flat.data.error).toMatchObject({ code: 'PLAN_FLAT', message: expect.stringContaining('no dependency edges'), hint: expect.stringContaining('allow_flat: true') });
    expect((await s.ok('loom_decompose', { goal: 'g', plan: FLAT, allow_flat: true })).waves).toEqual([['a', 'b', 'c', 'd']]);

    const dry = await s.ok('loom_decompose', { goal: 'g', plan: PLAN });
    const stale = await s.call('loom_decompose', { goal: 'g', plan: { ...PLAN, title: 'Changed' }, apply: true, plan_hash: dry.plan_hash });
    expect(stale.data.error).toMatchObject({ code: 'PLAN_STALE', hint: expect.stringContaining('without apply') });

    const cycle = await s.call('loom_decompose', { goal: 'g', plan: { title: 'c', tasks: [{ key: 'a', title: 'A', depends_on: ['b'] }, { key: 'b', title: 'B', depends_on: ['a'] }] } });
    expect(cycle.data.error.code).toBe('DEPENDENCY_CYCLE');
    const two = await s.call('loom_decompose', { goal: 'g', epic_id: 'loom-1a2b3c4d' });
    expect(two.data.error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('exactly one of goal, spec_path or epic_id') });
    const schema = await s.call('loom_decompose', { goal: 'g', plan: { title: 'x', tasks: [{ key: 'a' }] } });
    expect(schema.data.error).toMatchObject({ code: 'VALIDATION_FAILED', hint: expect.stringContaining('loom_decompose without a plan') });
    const hash = await s.call('loom_decompose', { goal: 'g', plan: PLAN, apply: true, plan_hash: 'abc' });
    expect(hash.data.error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('plan_hash') });
    expect(await taskCount(s)).toBe(0);
    await s.close();
  });
});

describe('loom_decompose auto: true (MCP sampling)', () => {
  it('asks the client\'s model with the skill, takes the JSON from a fenced reply and dry-runs it; the returned plan applies', async () => {
    const seen: Array<CreateMessageRequest['params']> = [];
    const reply = `Here is the plan you asked for:\n\n\`\`\`json\n${JSON.stringify(PLAN, null, 2)}\n\`\`\`\nLet me know if {anything} should change.`;
    const s = await connect(b, await newProject(b.api, 'dec-auto'), samplingClient(reply, seen));
    const r = await s.ok('loom_decompose', { goal: 'Add full-text search', auto: true, constraints: 'Keep it small' });
    expect(r).toMatchObject({ stage: 'dry_run', sampled: true, model: 'test-model-1', waves: [['spec'], ['index', 'docs'], ['review']], plan: PLAN });
    expect(r.next).toContain(r.plan_hash);
    expect(seen).toHaveLength(1);
    const request = seen[0]!;
    expect(request).toMatchObject({ maxTokens: 16_000, includeContext: 'none', systemPrompt: expect.stringContaining('only the JSON plan') });
    expect(request.messages).toHaveLength(1);
    expect(request.messages[0]).toMatchObject({ role: 'user', content: { type: 'text', text: expect.stringContaining('Add full-text search') } });
    expect((request.messages[0]!.content as { text: string }).text).toContain('Keep it small');
    // Nothing was applied; the plan handed back applies with the hash of its dry run.
    expect(await taskCount(s)).toBe(0);
    const applied = await s.ok('loom_decompose', { goal: 'Add full-text search', plan: r.plan, apply: true, plan_hash: r.plan_hash });
    expect(applied).toMatchObject({ stage: 'applied', created: true, counts: { tasks: 4 } });
    await s.close();
  });

  it('a reply without a JSON object is VALIDATION_FAILED quoting it, with a hint to decompose by hand', async () => {
    const seen: Array<CreateMessageRequest['params']> = [];
    const s = await connect(b, await newProject(b.api, 'dec-prose'), samplingClient('I think you should first write a spec, then build the index.', seen));
    const r = await s.call('loom_decompose', { goal: 'Add search', auto: true });
    expect(r.isError).toBe(true);
    expect(r.data.error).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining('"I think you should first write a spec'),
      hint: expect.stringContaining('call loom_decompose without auto'),
    });
    expect(seen).toHaveLength(1);
    expect(await taskCount(s)).toBe(0);
    await s.close();
  });

  it('a sampled plan Loom refuses keeps its code and says the client\'s model wrote it', async () => {
    const s = await connect(b, await newProject(b.api, 'dec-flat'), samplingClient(JSON.stringify(FLAT), []));
    const r = await s.call('loom_decompose', { goal: 'Add search', auto: true });
    expect(r.data.error).toMatchObject({ code: 'PLAN_FLAT', message: expect.stringContaining("the plan your client's model wrote was refused"), hint: expect.stringContaining('without auto') });
    await s.close();
  });

  it('a sampled plan with text that cannot be stored is a coded refusal, not an internal error', async () => {
    const hostile = JSON.stringify({ ...PLAN, title: 'Search\u0000' });
    expect(hostile).toContain('\\u0000');
    const s = await connect(b, await newProject(b.api, 'dec-hostile'), samplingClient(hostile, []));
    const r = await s.call('loom_decompose', { goal: 'Add search', auto: true });
    expect(r.data.error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining("the plan your client's model wrote was refused") });
    expect(await taskCount(s)).toBe(0);
    await s.close();
  });

  it('cancelling the tool call cancels the sampling request it is waiting on', async () => {
    let sampling: AbortSignal | undefined;
    const s = await connect(b, await newProject(b.api, 'dec-cancel'), {
      clientCapabilities: { sampling: {} },
      setupClient: (client: Client) => {
        client.setRequestHandler(CreateMessageRequestSchema, async (_request, extra): Promise<CreateMessageResult> => {
          sampling = extra.signal;
          // A model that takes its time: answers only when told to stop.
          await new Promise((resolve) => extra.signal.addEventListener('abort', resolve));
          return { role: 'assistant', model: 'slow', content: { type: 'text', text: '{}' } };
        });
      },
    });
    // The SDK (1.32) ignores notifications/cancelled for request id 0 (`if (!requestId) return`), and the
    // server's first request to the client gets id 0: a ping takes it, so the sampling request is cancellable.
    await s.mcp.server.ping();
    const call = new AbortController();
    const pending = s.client.callTool({ name: 'loom_decompose', arguments: { goal: 'Add search', auto: true } }, undefined, { signal: call.signal });
    await waitFor(() => sampling, 'the sampling request');
    expect(sampling!.aborted).toBe(false);
    call.abort('the user pressed stop');
    await expect(pending).rejects.toThrow();
    await waitFor(() => sampling!.aborted, 'the sampling request to be cancelled');
    expect(await taskCount(s)).toBe(0);
    await s.close();
  });

  it('a client that declines the sampling request gets SAMPLING_UNSUPPORTED with the way by hand', async () => {
    const s = await connect(b, await newProject(b.api, 'dec-declined'), samplingClient(new McpError(ErrorCode.InvalidRequest, 'User rejected sampling request'), []));
    const r = await s.call('loom_decompose', { goal: 'Add search', auto: true });
    expect(r.data.error).toMatchObject({ code: 'SAMPLING_UNSUPPORTED', message: expect.stringContaining('User rejected sampling request'), hint: expect.stringContaining('without auto') });
    await s.close();
  });

  it('without the sampling capability: SAMPLING_UNSUPPORTED, and the client is never asked', async () => {
    const s = await connect(b, await newProject(b.api, 'dec-nosampling'));
    const r = await s.call('loom_decompose', { goal: 'Add search', auto: true });
    expect(r.data.error).toMatchObject({
      code: 'SAMPLING_UNSUPPORTED',
      hint: expect.stringMatching(/call loom_decompose without auto .*skill and plan_schema.*write the plan.*with that plan/),
    });
    await s.close();
  });

  it('auto with plan, apply or plan_hash is VALIDATION_FAILED before anything is asked', async () => {
    const seen: Array<CreateMessageRequest['params']> = [];
    const s = await connect(b, await newProject(b.api, 'dec-auto-bad'), samplingClient(JSON.stringify(PLAN), seen));
    for (const extra of [{ plan: PLAN }, { apply: true }, { plan: PLAN, apply: true, plan_hash: 'a'.repeat(64) }]) {
      const r = await s.call('loom_decompose', { goal: 'g', auto: true, ...extra });
      expect(r.data.error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('auto: true') });
    }
    expect(seen).toHaveLength(0);
    await s.close();
  });
});

describe('loom_decompose auto: true over Streamable HTTP', () => {
  it('the client\'s model is asked over HTTP and its plan dry-run', async () => {
    const token = 'c'.repeat(64);
    const project = await newProject(b.api, 'dec-http');
    const http = createLoomHttpServer({ api: b.api, events: { subscribe: (p, h) => b.bus.subscribe(p, h) }, project, token, version: '0.0.0-test' });
    const { port } = await http.listen(0, '127.0.0.1');
    const seen: Array<CreateMessageRequest['params']> = [];
    const { clientCapabilities, setupClient } = samplingClient(`\`\`\`json\n${JSON.stringify(PLAN)}\n\`\`\``, seen);
    const client = new Client({ name: 'http-sampler', version: '1.0.0' }, { capabilities: clientCapabilities });
    setupClient(client);
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
      const r = await client.callTool({ name: 'loom_decompose', arguments: { goal: 'Add search over HTTP', auto: true } });
      expect(r.isError).not.toBe(true);
      expect(r.structuredContent).toMatchObject({ stage: 'dry_run', sampled: true, plan: PLAN });
      expect(seen).toHaveLength(1);
    } finally {
      await client.close();
      await http.close();
    }
  });
});

describe('finding the plan in a reply', () => {
  it.each([
    ['bare JSON', '{"title":"t","tasks":[]}', { title: 't', tasks: [] }],
    ['a json fence after prose', 'Sure.\n```json\n{"title":"t","tasks":[]}\n```', { title: 't', tasks: [] }],
    ['an unlabelled fence', '```\n{"a":1}\n```', { a: 1 }],
    ['prose with stray braces first', 'Use {placeholders} like {this. Plan: {"a":"}{","b":{"c":[1]}} done', { a: '}{', b: { c: [1] } }],
    ['escaped quotes in strings', 'x {"a":"say \\"}\\" ok"} y', { a: 'say "}" ok' }],
    ['an array is not an object', '[1, 2] then nothing', undefined],
    ['prose only', 'no plan here', undefined],
    ['an unclosed object', '{"a": 1', undefined],
  ])('%s', (_name, text, expected) => {
    expect(firstJsonObject(text)).toEqual(expected);
  });

  it('unwraps {"plan": {...}}', () => {
    expect(planFromReply('{"plan":{"title":"t","tasks":[]}}')).toEqual({ title: 't', tasks: [] });
    expect(planFromReply('{"title":"t","tasks":[],"plan":{"x":1}}')).toEqual({ title: 't', tasks: [], plan: { x: 1 } });
  });
});
