/** Skills over MCP: every skill is a prompt, and the planning tools render them for clients without prompts. */
import { openTestPglite } from '../support/pglite.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PglitePool } from '../../src/adapters/embedded/pglite-pool.js';
import { DirectorySkillSource } from '../../src/adapters/skills/directory-skill-source.js';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { serviceForPool } from '../../src/app/service-factory.js';
import type { EventBus } from '../../src/ports/event-bus.js';
import type { LoomApi } from '../../src/ports/loom-api.js';
import { allEvents, connect, newProject, waitFor } from './harness.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/skills/', import.meta.url));
let b: { api: LoomApi; bus: EventBus };
let pglite: PglitePool;

beforeAll(async () => {
  pglite = await openTestPglite();
  await migrate(pglite.pool);
  const { service, bus } = serviceForPool(pglite.pool, {
    ownsPool: false,
    skills: { sources: [new DirectorySkillSource('builtin', join(FIXTURES, 'builtin'), 0), new DirectorySkillSource('project', join(FIXTURES, 'project'), 300)] },
  });
  b = { api: service, bus };
});
afterAll(async () => {
  await b?.api.close();
  await pglite?.close();
});

describe('MCP prompts', () => {
  it('advertises prompts with listChanged, and lists every skill with a task_id argument', async () => {
    const s = await connect(b, await newProject(b.api, 'prompts'));
    expect(s.client.getServerCapabilities()?.prompts).toEqual({ listChanged: true });
    const { prompts } = await s.client.listPrompts();
    expect(prompts.map((p) => p.name)).toEqual(['review_output', 'write_spec']);
    const spec = prompts.find((p) => p.name === 'write_spec')!;
    expect(spec.description).toBe('Write a short specification for a feature');
    expect(spec.arguments).toEqual([
      { name: 'feature', description: 'What to specify', required: true },
      { name: 'audience', description: 'Who reads it', required: false },
      expect.objectContaining({ name: 'task_id', required: false }),
    ]);
    await s.close();
  });

  it('prompts/get with a task renders its upstream outputs and records the run', async () => {
    const project = await newProject(b.api, 'prompts-get');
    const s = await connect(b, project);
    const up = (await s.ok('loom_create', { title: 'Sketch the API' })).task;
    const task = (await s.ok('loom_create', { title: 'Write the spec', depends_on: [up.id] })).task;
    const claimed = await s.ok('loom_claim', { task_id: up.id });
    await s.ok('loom_done', { task_id: up.id, lease_token: claimed.lease.token, output: { endpoints: ['POST /invoices'] } });

    const r = await s.client.getPrompt({ name: 'write_spec', arguments: { feature: 'invoices', task_id: task.id } });
    expect(r.messages).toHaveLength(1);
    expect(r.messages[0]!.role).toBe('user');
    const text = (r.messages[0]!.content as { text: string }).text;
    expect(text).toContain(`Task ${task.id}: Write the spec`);
    expect(text).toContain('upstream Sketch the API: {"endpoints":["POST /invoices"]}');
    const used = (await allEvents(b.api, project.project_id)).filter((e) => e.type === 'skill.used');
    expect(used).toEqual([expect.objectContaining({ task_id: task.id, agent_id: s.mcp.session.agentId, payload: expect.objectContaining({ skill: 'write_spec' }) })]);
    await s.close();
  });

  it.each([
    ['an unknown prompt', { name: 'nope' }, /SKILL_NOT_FOUND: no skill named nope/],
    ['a path for a name', { name: '../../etc/passwd' }, /not a skill name/],
    ['a missing required argument', { name: 'write_spec', arguments: {} }, /needs the argument "feature"/],
    ['an unknown argument', { name: 'review_output', arguments: { colour: 'red' } }, /has no argument "colour"/],
    ['an argument named __proto__', { name: 'review_output', arguments: { ['__proto__']: 'x' } }, /arguments/],
    ['a bad task id', { name: 'review_output', arguments: { task_id: 'task-1' } }, /task_id must be a task id/],
    ['an unknown task', { name: 'review_output', arguments: { task_id: 'loom-00000000' } }, /TASK_NOT_FOUND/],
  ])('prompts/get refuses %s with InvalidParams in words', async (_what, params, message) => {
    const s = await connect(b, await newProject(b.api, 'prompts-bad'));
    const error = await s.client.getPrompt(params as { name: string }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(-32602);
    expect((error as McpError).message).toMatch(message);
    await s.close();
  });

  it('a raw prompts/get with arguments that are not strings gets InvalidParams, not a schema dump', async () => {
    const s = await connect(b, await newProject(b.api, 'prompts-raw'));
    const { z } = await import('zod');
    const error = await s.client
      .request({ method: 'prompts/get', params: { name: 'write_spec', arguments: { feature: 3 } } } as never, z.object({}).passthrough())
      .then(
        () => null,
        (e: unknown) => e as McpError,
      );
    expect(error?.code).toBe(-32602);
    expect(error?.message).toMatch(/argument feature must be a string, got number/);
    await s.close();
  });

  it('sends prompts/list_changed when told a skill changed', async () => {
    const s = await connect(b, await newProject(b.api, 'prompts-changed'));
    s.mcp.promptsChanged();
    await waitFor(() => s.notifications.find((n) => n.method === 'notifications/prompts/list_changed'), 'prompts/list_changed');
    await s.close();
  });
});

describe('planning tools', () => {
  it('loom_skills puts the skills suggested for a task first and shows broken files', async () => {
    const s = await connect(b, await newProject(b.api, 'planning'));
    const task = (await s.ok('loom_create', { title: 'Review it', context: { tags: ['review'] } })).task;
    await s.ok('loom_claim', { task_id: task.id });
    const r = await s.ok('loom_skills', { task_id: task.id });
    expect(r.skills.map((x: { name: string; suggested: boolean }) => [x.name, x.suggested])).toEqual([
      ['review_output', true],
      ['write_spec', false],
    ]);
    expect(r.problems).toEqual([expect.objectContaining({ line: 7, reason: expect.stringMatching(/nobody/) })]);
    await s.close();
  });

  it('loom_skill renders for a task; bad input is a coded error', async () => {
    const s = await connect(b, await newProject(b.api, 'planning-render'));
    const task = (await s.ok('loom_create', { title: 'Check the output' })).task;
    const r = await s.ok('loom_skill', { name: 'review_output', task_id: task.id });
    expect(r).toMatchObject({ name: 'review_output', source: 'project', version: '2.0.0', run_id: expect.any(Number) });
    expect(r.text).toContain('Team review of Check the output.');
    const bad = await s.call('loom_skill', { name: 'write_spec' });
    expect(bad.isError).toBe(true);
    expect(bad.data.error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/feature/) });
    const path = await s.call('loom_skill', { name: '../x' });
    expect(path.data.error.code).toBe('VALIDATION_FAILED');
    await s.close();
  });

  it('tools/list: core and the default core+planning both stay under 12,000 characters', async () => {
    const project = await newProject(b.api, 'sizes');
    const core = await connect(b, project, { toolGroups: ['core'] });
    const coreSize = JSON.stringify(await core.client.listTools()).length;
    await core.close();
    const both = await connect(b, project);
    const listed = await both.client.listTools();
    const bothSize = JSON.stringify(listed).length;
    expect(listed.tools.map((t) => t.name)).toEqual(expect.arrayContaining(['loom_claim', 'loom_skills', 'loom_skill', 'loom_decompose']));
    await both.close();
    console.log(`tools/list: core ${coreSize} characters of JSON; core+planning ${bothSize}`);
    expect(coreSize).toBeLessThan(12_000);
    // The planning tools (loom_decompose among them) must not push a default session's list past that either.
    expect(bothSize).toBeLessThan(12_000);
  });
});
