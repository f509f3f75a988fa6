/**
 * Workflow runs on real Postgres and on the embedded store: the builtin
 * workflows load; ship_feature becomes the expected epic, tasks and edges in
 * one transaction; a false `when` leaves its step out without blocking its
 * dependents; for_each fans out; `uses` includes another workflow; one run
 * per run key, also when two services race; completing every step finishes
 * the run and its epic (workflow.completed); bad inputs write nothing.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglitePool } from '../../src/adapters/embedded/pglite-pool.js';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { serviceForPool } from '../../src/app/service-factory.js';
import type { LoomApi, RunWorkflowInput, WorkflowRunResult } from '../../src/ports/loom-api.js';
import { usePgServices } from '../support/pg-services.js';

type Started = Extract<WorkflowRunResult, { stage: 'started' }>;
type DryRun = Extract<WorkflowRunResult, { stage: 'dry_run' }>;

/** A project directory with two workflows of its own: one that uses another. */
function projectDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'loom-workflows-'));
  mkdirSync(join(dir, '.loom', 'workflows'), { recursive: true });
  writeFileSync(
    join(dir, '.loom', 'workflows', 'lint_and_test.yaml'),
    `name: lint_and_test
description: Lint, then test
version: 1.0.0
inputs:
  target: { type: string, required: true }
steps:
  - id: lint
    title: "Lint {{ inputs.target }}"
  - id: test
    title: "Test {{ inputs.target }}"
    depends_on: [lint]
`,
  );
  writeFileSync(
    join(dir, '.loom', 'workflows', 'release.yaml'),
    `name: release
description: Build, check with another workflow, publish
version: 1.0.0
inputs:
  version: { type: string, required: true }
steps:
  - id: build
    title: "Build {{ inputs.version }}"
  - id: checks
    uses: lint_and_test
    with: { target: "release {{ inputs.version }}" }
    depends_on: [build]
  - id: publish
    title: "Publish {{ inputs.version }}"
    depends_on: [checks]
`,
  );
  return dir;
}

interface Target {
  api: LoomApi;
  other: LoomApi;
  query(sql: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

function suite(name: string, open: (dir: string) => Promise<Target>): void {
  describe(`workflows: ${name}`, () => {
    let t: Target;
    beforeAll(async () => {
      t = await open(projectDir());
    });
    afterAll(async () => t?.close());

    let n = 0;
    const project = async () => (await t.api.createProject({ name: `${name} ${++n}` })).id;
    const run = (p: string, input: Omit<RunWorkflowInput, 'project_id'>) => t.api.runWorkflow({ project_id: p, ...input });
    const count = async (p: string) => Number((await t.query('SELECT count(*)::int AS n FROM tasks WHERE project_id = $1', [p]))[0]!.n);
    const finish = async (p: string, id: string, output: Record<string, unknown> = {}) => {
      const c = await t.api.claim({ project_id: p, agent_id: 'w1', task_id: id });
      if (!c.claimed) throw new Error(`could not claim ${id}: ${c.reason}`);
      return t.api.done({ project_id: p, agent_id: 'w1', task_id: id, lease_token: c.lease.token, output });
    };

    it('lists the builtin and project workflows, none broken', async () => {
      const p = await project();
      const list = await t.api.workflows({ project_id: p });
      expect(list.problems).toEqual([]);
      expect(list.workflows.map((w) => w.name)).toEqual(['change_each_module', 'debug_and_fix', 'lint_and_test', 'release', 'ship_feature']);
      const ship = list.workflows.find((w) => w.name === 'ship_feature')!;
      expect(ship.inputs.map((i) => [i.name, i.type, i.required])).toEqual([
        ['feature', 'string', true],
        ['acceptance', 'string', false],
        ['with_docs', 'boolean', false],
      ]);
    });

    it('ship_feature makes its epic, tasks and edges in one run; completing the steps finishes the run', async () => {
      const p = await project();
      const dry = (await run(p, { name: 'ship_feature', inputs: { feature: 'CSV export' }, dry_run: true })) as DryRun;
      expect(dry.waves).toEqual([['spec'], ['criteria'], ['implement', 'test_plan'], ['tests'], ['review'], ['docs']]);
      expect(await count(p)).toBe(0);
      const r = (await run(p, { name: 'ship_feature', inputs: { feature: 'CSV export' } })) as Started;
      expect(r).toMatchObject({ stage: 'started', created: true, skipped: [] });
      expect(Object.keys(r.tasks)).toEqual(['spec', 'criteria', 'implement', 'test_plan', 'tests', 'review', 'docs']);
      const epic = (await t.api.status({ project_id: p, task_id: r.epic_id })).task;
      expect(epic).toMatchObject({ status: 'epic', title: 'Ship: CSV export' });
      expect(epic.context).toMatchObject({ workflow: 'ship_feature', workflow_run: r.run_id, inputs: { feature: 'CSV export', with_docs: true } });
      const spec = (await t.api.status({ project_id: p, task_id: r.tasks.spec! })).task;
      expect(spec).toMatchObject({ title: 'Write the spec: CSV export', status: 'pending', priority: 'p0', parent_id: r.epic_id });
      expect(spec.context).toMatchObject({ skill: 'write_spec', workflow: 'ship_feature', step: 'spec', feature: 'CSV export' });
      const tests = (await t.api.status({ project_id: p, task_id: r.tasks.tests! })).task;
      expect([...tests.depends_on].sort()).toEqual([r.tasks.implement, r.tasks.test_plan].sort());
      expect((await t.api.status({ project_id: p, task_id: r.tasks.implement! })).task.max_attempts).toBe(3);
      expect((await t.api.ready({ project_id: p })).map((x) => x.id)).toEqual([r.tasks.spec]);
      const events = await t.api.events({ project_id: p, limit: 100 });
      expect(events.find((e) => e.type === 'workflow.started')?.payload).toMatchObject({ run_id: r.run_id, workflow: 'ship_feature', tasks: 7 });

      for (const key of ['spec', 'criteria', 'implement', 'test_plan', 'tests', 'review', 'docs']) await finish(p, r.tasks[key]!, key === 'review' ? { approved: true, findings: [] } : {});
      const detail = await t.api.workflowRun({ project_id: p, run_id: r.run_id });
      expect(detail.status).toBe('done');
      expect(detail.steps.map((s) => [s.step, s.tasks.map((x) => x.status)])).toEqual([
        ['spec', ['done']],
        ['criteria', ['done']],
        ['implement', ['done']],
        ['test_plan', ['done']],
        ['tests', ['done']],
        ['review', ['done']],
        ['docs', ['done']],
      ]);
      const after = await t.api.events({ project_id: p, limit: 500 });
      expect(after.filter((e) => e.type === 'workflow.completed').map((e) => e.payload)).toEqual([{ run_id: r.run_id, workflow: 'ship_feature', epic_id: r.epic_id }]);
      expect((await t.api.workflowRuns({ project_id: p }))[0]).toMatchObject({ run_id: r.run_id, status: 'done', counts: { done: 7 } });
    });

    it('a false when leaves its step out, and its dependents wait for what it waited for', async () => {
      const p = await project();
      const r = (await run(p, { name: 'ship_feature', inputs: { feature: 'no docs', with_docs: 'false' } })) as Started;
      expect(r.skipped).toEqual([{ step: 'docs', reason: 'when inputs.with_docs is false' }]);
      expect(r.tasks.docs).toBeUndefined();
      expect(await count(p)).toBe(7);
      const events = await t.api.events({ project_id: p, limit: 100 });
      expect(events.filter((e) => e.type === 'workflow.step_skipped').map((e) => e.payload.step)).toEqual(['docs']);
    });

    it('for_each fans out one task per item; the step after waits for all of them', async () => {
      const p = await project();
      const r = (await run(p, { name: 'change_each_module', inputs: { change: 'use pino', modules: 'src/api, src/cli,src/db' } })) as Started;
      expect(Object.keys(r.tasks)).toEqual(['approach', 'module-1', 'module-2', 'module-3', 'integrate']);
      expect((await t.api.status({ project_id: p, task_id: r.tasks['module-2']! })).task).toMatchObject({ title: 'use pino: src/cli', depends_on: [r.tasks.approach] });
      const integrate = (await t.api.status({ project_id: p, task_id: r.tasks.integrate! })).task;
      expect([...integrate.depends_on].sort()).toEqual([r.tasks['module-1'], r.tasks['module-2'], r.tasks['module-3']].sort());
      expect(integrate.done_when).toBe('`npm test` passes on the whole project; the output lists anything left over');
      const epic = (await t.api.status({ project_id: p, task_id: r.epic_id })).task;
      expect(epic.title).toBe('use pino across 3 modules');
    });

    it('uses includes another workflow as a sub-graph between its neighbours', async () => {
      const p = await project();
      const r = (await run(p, { name: 'release', inputs: { version: '1.2.0' } })) as Started;
      expect(Object.keys(r.tasks)).toEqual(['build', 'checks-lint', 'checks-test', 'publish']);
      const lint = (await t.api.status({ project_id: p, task_id: r.tasks['checks-lint']! })).task;
      expect(lint).toMatchObject({ title: 'Lint release 1.2.0', depends_on: [r.tasks.build] });
      expect((await t.api.status({ project_id: p, task_id: r.tasks.publish! })).task.depends_on).toEqual([r.tasks['checks-test']]);
      expect(r.steps.checks).toEqual([r.tasks['checks-lint'], r.tasks['checks-test']]);
    });

    it('one run per run key, also when two services start it at once', async () => {
      const p = await project();
      const input = { project_id: p, name: 'debug_and_fix', inputs: { symptom: 'export crashes' }, run_key: 'bug-42' };
      const [a, b] = (await Promise.all([t.api.runWorkflow(input), t.other.runWorkflow(input)])) as Started[];
      expect([a!.created, b!.created].sort()).toEqual([false, true]);
      expect(a!.run_id).toBe(b!.run_id);
      expect(a!.tasks).toEqual(b!.tasks);
      expect(await count(p)).toBe(6);
    });

    it('a run goes under a given epic', async () => {
      const p = await project();
      const parent = await t.api.createTask({ project_id: p, title: 'Q3', origin: { kind: 'test', id: 'wf' }, epic: true });
      const r = (await run(p, { name: 'debug_and_fix', inputs: { symptom: 'x' }, parent_id: parent.id })) as Started;
      expect((await t.api.status({ project_id: p, task_id: r.epic_id })).task.parent_id).toBe(parent.id);
    });

    it('refuses bad inputs with coded errors and writes nothing', async () => {
      const p = await project();
      const cases: Array<[Omit<RunWorkflowInput, 'project_id'>, string, RegExp]> = [
        [{ name: 'ship_feature', inputs: {} }, 'VALIDATION_FAILED', /input "feature" is required/],
        [{ name: 'ship_feature', inputs: { feature: 'x', colour: 'red' } }, 'VALIDATION_FAILED', /no input "colour"/],
        [{ name: 'ship_feature', inputs: { feature: 'x', with_docs: 'maybe' } }, 'VALIDATION_FAILED', /with_docs" must be a boolean/],
        [{ name: 'ship_feature', inputs: { feature: 42 } }, 'VALIDATION_FAILED', /feature" must be a string/],
        [{ name: 'no_such_workflow' }, 'WORKFLOW_NOT_FOUND', /no workflow named no_such_workflow/],
        [{ name: '../../etc/passwd' }, 'VALIDATION_FAILED', /name/],
        [{ name: 'change_each_module', inputs: { change: 'x', modules: JSON.stringify(Array.from({ length: 1001 }, (_, i) => `m${i}`)) } }, 'VALIDATION_FAILED', /at most 1000/],
      ];
      for (const [input, code, message] of cases) {
        await expect(run(p, input), JSON.stringify(input).slice(0, 80)).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
      }
      expect(await count(p)).toBe(0);
    });
  });
}

describe('postgres', () => {
  const services = usePgServices('workflows');
  const pools: pg.Pool[] = [];
  suite('postgres', async (dir) => {
    const make = () => {
      const pool = new pg.Pool({ connectionString: services.url(), max: 4 });
      pool.on('error', () => {});
      pools.push(pool);
      return serviceForPool(pool, { ownsPool: false, skills: { projectDir: dir } }).service;
    };
    const api = make();
    const other = make();
    return {
      api,
      other,
      query: async (sql, params = []) => (await pools[0]!.query(sql, params)).rows,
      close: async () => {
        await Promise.all(pools.map((x) => x.end()));
      },
    };
  });
});

suite('embedded (PGlite)', async (dir) => {
  const lite = await openPglitePool(undefined);
  await migrate(lite.pool);
  const { service } = serviceForPool(lite.pool, { ownsPool: false, skills: { projectDir: dir } });
  const { service: other } = serviceForPool(lite.pool, { ownsPool: false, skills: { projectDir: dir } });
  return {
    api: service,
    other,
    query: async (sql, params = []) => (await lite.pool.query(sql, params)).rows,
    async close() {
      await service.close();
      await lite.close();
    },
  };
});
