/**
 * Rendering a skill for a task hands over the upstream outputs, records the
 * run (a skill_runs row and its skill.used event, together), and stats read
 * how the tasks ended. On real Postgres and on the embedded store.
 */
import { openTestPglite } from '../support/pglite.js';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DirectorySkillSource } from '../../src/adapters/skills/directory-skill-source.js';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { serviceForPool, type ServiceOptions } from '../../src/app/service-factory.js';
import type { CreateTaskInput, LoomApi } from '../../src/ports/loom-api.js';
import { usePgServices } from '../support/pg-services.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/skills/', import.meta.url));
const ORIGIN = { kind: 'test', id: 'skill-runs' };
const AGENT = 'agent-1';
const skills: ServiceOptions['skills'] = {
  sources: [new DirectorySkillSource('builtin', join(FIXTURES, 'builtin'), 0), new DirectorySkillSource('project', join(FIXTURES, 'project'), 300)],
};

interface Target {
  api: LoomApi;
  query(sql: string, params: unknown[]): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

function suite(name: string, open: () => Promise<Target>): void {
  describe(`skill runs: ${name}`, () => {
    let t: Target;
    beforeAll(async () => {
      t = await open();
    });
    afterAll(async () => t?.close());

    let n = 0;
    const project = async () => (await t.api.createProject({ name: `${name} ${++n}` })).id;
    const create = (p: string, title: string, extra: Partial<CreateTaskInput> = {}) => t.api.createTask({ project_id: p, title, origin: ORIGIN, ...extra });
    const claim = async (p: string, id: string) => {
      const r = await t.api.claim({ project_id: p, agent_id: AGENT, task_id: id });
      if (!r.claimed) throw new Error(`could not claim ${id}: ${r.reason}`);
      return r.lease.token;
    };
    const runs = (p: string) => t.query('SELECT skill, version, source, content_hash, task_id, agent_id, event_id FROM skill_runs WHERE project_id = $1 ORDER BY id', [p]);
    const used = async (p: string) => (await t.api.events({ project_id: p, limit: 1000 })).filter((e) => e.type === 'skill.used');

    it('renders a task with its upstream outputs and epic, and records the run and its event together', async () => {
      const p = await project();
      const epic = await create(p, 'Billing', { epic: true });
      const api = await create(p, 'Design the API', { parent_id: epic.id });
      const spec = await create(p, 'Write the spec', { depends_on: [api.id], done_when: 'the spec is reviewed', parent_id: epic.id });
      await t.api.done({ project_id: p, task_id: api.id, agent_id: AGENT, lease_token: await claim(p, api.id), output: { summary: 'POST /invoices returns 201' } });

      const r = await t.api.renderSkill({ project_id: p, name: 'write_spec', task_id: spec.id, arguments: { feature: 'invoices' }, agent_id: AGENT });
      expect(r).toMatchObject({ name: 'write_spec', source: 'builtin', version: '1.0.0', content_hash: expect.stringMatching(/^[0-9a-f]{64}$/), run_id: expect.any(Number) });
      expect(r.text).toContain('# Spec for invoices (for developers)');
      expect(r.text).toContain(`Task ${spec.id}: Write the spec`);
      expect(r.text).toContain('Done when: the spec is reviewed');
      expect(r.text).toContain('upstream Design the API: {"summary":"POST /invoices returns 201"}');
      expect(r.text).toContain('3 tasks');

      const events = await used(p);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ task_id: spec.id, agent_id: AGENT, payload: { skill: 'write_spec', version: '1.0.0', source: 'builtin', content_hash: r.content_hash } });
      expect(await runs(p)).toEqual([
        { skill: 'write_spec', version: '1.0.0', source: 'builtin', content_hash: r.content_hash, task_id: spec.id, agent_id: AGENT, event_id: expect.anything() },
      ]);
      expect(Number((await runs(p))[0]!.event_id)).toBe(events[0]!.id);
    });

    it('bad input writes nothing: a missing argument, an unknown skill, a path for a name, an unknown task', async () => {
      const p = await project();
      const task = await create(p, 'x');
      await expect(t.api.renderSkill({ project_id: p, name: 'write_spec', task_id: task.id })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        message: expect.stringMatching(/needs the argument "feature"/),
      });
      await expect(t.api.renderSkill({ project_id: p, name: 'nope', task_id: task.id })).rejects.toMatchObject({ code: 'SKILL_NOT_FOUND' });
      await expect(t.api.renderSkill({ project_id: p, name: 'broken', task_id: task.id })).rejects.toMatchObject({ code: 'SKILL_NOT_FOUND', hint: expect.stringMatching(/broken\.md:7/) });
      await expect(t.api.renderSkill({ project_id: p, name: '../../etc/passwd', task_id: task.id })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(t.api.renderSkill({ project_id: p, name: 'review_output', task_id: 'loom-00000000' })).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
      await expect(
        t.api.renderSkill({ project_id: p, name: 'write_spec', task_id: task.id, arguments: { feature: 'a\u0000b' } }),
      ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(await used(p)).toEqual([]);
      expect(await runs(p)).toEqual([]);
      // Without a task nothing is recorded either, but the text comes back.
      const r = await t.api.renderSkill({ project_id: p, name: 'write_spec', arguments: { feature: 'f', audience: 'ops' } });
      expect(r.run_id).toBeUndefined();
      expect(r.text).toContain('# Spec for f (for ops)');
      expect(await runs(p)).toEqual([]);
    });

    it('lists skills with their problems, those suggested for the task first; the project overrides builtin', async () => {
      const p = await project();
      const task = await create(p, 'r', { context: { tags: ['review'] } });
      await claim(p, task.id); // write_spec is suggested for pending tasks: no longer for this one
      const list = await t.api.skills({ project_id: p, task_id: task.id });
      expect(list.skills.map((s) => [s.name, s.source, s.suggested])).toEqual([
        ['review_output', 'project', true],
        ['write_spec', 'builtin', false],
      ]);
      expect(list.problems).toEqual([{ file: join(FIXTURES, 'project', 'broken.md'), line: 7, reason: expect.stringMatching(/nobody/) }]);
    });

    it('stats: per skill and version, uses and how the tasks ended', async () => {
      const p = await project();
      const done = await create(p, 'done');
      const dead = await create(p, 'dead', { max_attempts: 1 });
      const open = await create(p, 'open');
      const cancelled = await create(p, 'cancelled');
      for (const task of [done, dead, open, cancelled]) await t.api.renderSkill({ project_id: p, name: 'review_output', task_id: task.id });
      await t.api.renderSkill({ project_id: p, name: 'write_spec', task_id: done.id, arguments: { feature: 'f' } });
      await t.api.done({ project_id: p, task_id: done.id, agent_id: AGENT, lease_token: await claim(p, done.id) });
      await t.api.fail({ project_id: p, task_id: dead.id, agent_id: AGENT, lease_token: await claim(p, dead.id), reason: 'broken build' });
      await t.api.cancel({ project_id: p, task_id: cancelled.id });
      expect(await t.api.skillStats({ project_id: p })).toEqual([
        { skill: 'review_output', version: '2.0.0', uses: 4, done: 1, dead_lettered: 1, escalated: 0, cancelled: 1, open: 1 },
        { skill: 'write_spec', version: '1.0.0', uses: 1, done: 1, dead_lettered: 0, escalated: 0, cancelled: 0, open: 0 },
      ]);
      // An escalation ends a run too.
      await t.api.renderSkill({ project_id: p, name: 'review_output', task_id: open.id });
      await t.api.escalate({ project_id: p, task_id: open.id, message: 'need a human' });
      const [review] = await t.api.skillStats({ project_id: p });
      expect(review).toMatchObject({ uses: 5, escalated: 2, open: 0 });
    });
  });
}

describe('on Postgres', () => {
  const services = usePgServices('skill_runs');
  let pool: pg.Pool;
  suite('postgres', async () => {
    pool = new pg.Pool({ connectionString: services.url(), max: 4 });
    pool.on('error', () => {});
    const { service } = serviceForPool(pool, { ownsPool: false, skills });
    return {
      api: service,
      query: async (sql, params) => (await pool.query(sql, params)).rows,
      close: async () => pool.end(),
    };
  });
});

suite('embedded (PGlite)', async () => {
  const lite = await openTestPglite();
  await migrate(lite.pool);
  const { service } = serviceForPool(lite.pool, { ownsPool: false, skills });
  return {
    api: service,
    query: async (sql, params) => (await lite.pool.query(sql, params)).rows,
    async close() {
      await service.close();
      await lite.close();
    },
  };
});
