/**
 * The eight builtin skills Loom ships load without a problem and render,
 * both for a task (with upstream outputs, an epic and a failure) and without
 * one, naming the Loom tool the agent calls next.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedService, type EmbeddedService } from '../support/embedded-service.js';

const ORIGIN = { kind: 'test', id: 'builtin-skills' };
const AGENT = 'agent-1';
const BUILTIN = ['debug_failure', 'decompose_project', 'define_done', 'estimate_complexity', 'generate_test_plan', 'review_output', 'write_spec', 'write_task_context'];

describe('builtin skills', () => {
  let s: EmbeddedService;
  let p: string;
  let task: string;
  beforeAll(async () => {
    s = await openEmbeddedService();
    p = (await s.api.createProject({ name: 'builtins' })).id;
    const epic = await s.api.createTask({ project_id: p, title: 'Invoices', origin: ORIGIN, epic: true, done_when: 'customers get invoices' });
    const up1 = await s.api.createTask({ project_id: p, title: 'Design the API', origin: ORIGIN, parent_id: epic.id });
    const up2 = await s.api.createTask({ project_id: p, title: 'Write the schema', origin: ORIGIN, parent_id: epic.id });
    task = (await s.api.createTask({ project_id: p, title: 'Build the endpoint', origin: ORIGIN, parent_id: epic.id, depends_on: [up1.id, up2.id], done_when: 'tests pass', context: { tags: ['review'] } })).id;
    for (const [id, output] of [[up1.id, { summary: 'POST /invoices returns 201' }], [up2.id, { files: ['db/invoices.sql'] }]] as const) {
      const c = await s.api.claim({ project_id: p, agent_id: AGENT, task_id: id });
      if (!c.claimed) throw new Error('fixture claim failed');
      await s.api.done({ project_id: p, task_id: id, agent_id: AGENT, lease_token: c.lease.token, output });
    }
  });
  afterAll(async () => s?.close());

  it('all eight load, none broken', async () => {
    const list = await s.api.skills({ project_id: p });
    expect(list.problems).toEqual([]);
    expect(list.skills.filter((k) => k.source === 'builtin').map((k) => k.name).sort()).toEqual(BUILTIN);
  });

  it.each(BUILTIN)('%s renders for a task (upstream outputs included) and without one, and names a loom tool', async (name) => {
    const { skills } = await s.api.skills({ project_id: p });
    const skill = skills.find((k) => k.name === name)!;
    const args = Object.fromEntries(skill.arguments.filter((a) => a.required).map((a) => [a.name, 'the invoices feature']));
    const withTask = await s.api.renderSkill({ project_id: p, name, task_id: task, arguments: args, agent_id: AGENT });
    expect(withTask.text).toContain('Build the endpoint');
    expect(withTask.text).toMatch(/loom_[a-z]+/);
    expect(withTask.run_id).toEqual(expect.any(Number));
    const bare = await s.api.renderSkill({ project_id: p, name, arguments: args });
    expect(bare.text.trim().length).toBeGreaterThan(100);
    expect(bare.text).not.toContain('Build the endpoint');
    // An optional argument left out prints no section of its own (in liquid '' is truthy: it must be absent).
    for (const text of [bare.text, withTask.text]) expect(text).not.toMatch(/^## [^\n]+\n\s*\n## /m);
  });

  it('review_output hands the reviewer what the upstream tasks produced', async () => {
    const r = await s.api.renderSkill({ project_id: p, name: 'review_output', task_id: task });
    expect(r.text).toContain('POST /invoices returns 201');
    expect(r.text).toContain('db/invoices.sql');
  });
});
