/**
 * Workflow runs on real Postgres and on the embedded store: the builtin
 * workflows load; ship_feature becomes the expected epic, tasks and edges in
 * one transaction; a false `when` leaves its step out without blocking its
 * dependents; for_each fans out; `uses` includes another workflow; one run
 * per run key, also when two services race; completing every step finishes
 * the run and its epic (workflow.completed); bad inputs write nothing.
 */
import { openTestPglite } from '../support/pglite.js';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

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
    join(dir, '.loom', 'workflows', 'maybe_migrate.yaml'),
    `name: maybe_migrate
description: Migrate only when the check says so
version: 1.0.0
inputs:
  strict: { type: boolean, default: false }
steps:
  - id: check
    title: Check whether a migration is needed
  - id: migrate
    title: Migrate
    depends_on: [check]
    when: "inputs.strict || outputs.check.needs_migration == true"
  - id: release
    title: Release
    depends_on: [migrate]
`,
  );
  writeFileSync(
    join(dir, '.loom', 'workflows', 'per_file.yaml'),
    `name: per_file
description: One task per file an earlier step lists
version: 1.0.0
steps:
  - id: list
    title: List the files to change
  - id: change
    for_each: outputs.list.files
    title: "Change {{ item }}"
    context: { file: "{{ item }}", position: "{{ index }}" }
    depends_on: [list]
  - id: verify
    title: Verify
    depends_on: [change]
`,
  );
  writeFileSync(
    join(dir, '.loom', 'workflows', 'needs_plugin.yaml'),
    `name: needs_plugin
description: Names a skill nobody installed
version: 1.0.0
steps:
  - id: audit
    title: Audit
    skill: security/audit
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
      expect(list.workflows.map((w) => w.name)).toEqual(['change_each_module', 'debug_and_fix', 'lint_and_test', 'maybe_migrate', 'needs_plugin', 'per_file', 'release', 'ship_feature']);
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

    /** Runs ship_feature without docs... with docs, and finishes every step before the review. */
    const upToReview = async (p: string, inputs: Record<string, unknown> = {}) => {
      const r = (await run(p, { name: 'ship_feature', inputs: { feature: 'search', ...inputs } })) as Started;
      for (const key of ['spec', 'criteria', 'implement', 'test_plan', 'tests']) await finish(p, r.tasks[key]!);
      return r;
    };
    const rejected = { approved: false, findings: [{ severity: 'blocker', where: 'src/a.ts:1', what: 'crashes', fix: 'guard it' }] };

    it('a review finishing with approved: false adds one round wired after it; its dependents wait for the new review', async () => {
      const p = await project();
      const r = await upToReview(p);
      const done = await finish(p, r.tasks.review!, rejected);
      expect(done.loop).toMatchObject({ outcome: 'round_added', round: 2 });
      const round = (done.loop as { tasks: Record<string, string> }).tasks;
      expect(Object.keys(round)).toEqual(['implement-r2', 'tests-r2', 'review-r2']);
      const impl2 = (await t.api.status({ project_id: p, task_id: round['implement-r2']! })).task;
      expect(impl2).toMatchObject({ status: 'pending', title: 'Implement: search (round 2)', parent_id: r.epic_id });
      expect(impl2.context).toMatchObject({ round: 2, step: 'implement', review: { task_id: r.tasks.review, round: 1, findings: rejected.findings } });
      expect([...impl2.depends_on].sort()).toEqual([r.tasks.criteria, r.tasks.review].sort());
      const tests2 = (await t.api.status({ project_id: p, task_id: round['tests-r2']! })).task;
      expect([...tests2.depends_on].sort()).toEqual([round['implement-r2'], r.tasks.test_plan].sort());
      const review2 = (await t.api.status({ project_id: p, task_id: round['review-r2']! })).task;
      expect([...review2.depends_on].sort()).toEqual([round['implement-r2'], round['tests-r2'], r.tasks.review].sort());
      const docs = (await t.api.status({ project_id: p, task_id: r.tasks.docs! })).task;
      expect(docs).toMatchObject({ status: 'blocked', depends_on: [round['review-r2']], unmet_deps: 1 });
      expect((await t.api.ready({ project_id: p })).map((x) => x.id)).toEqual([round['implement-r2']]);
      const events = await t.api.events({ project_id: p, limit: 500 });
      expect(events.filter((e) => e.type === 'workflow.round_added').map((e) => e.payload)).toEqual([
        { run_id: r.run_id, step: 'review', round: 2, after: r.tasks.review, tasks: round },
      ]);
      // The second round approved: docs runs, the run is done.
      await finish(p, round['implement-r2']!);
      await finish(p, round['tests-r2']!);
      const approved = await finish(p, round['review-r2']!, { approved: true, findings: [] });
      expect(approved.loop).toBeUndefined();
      expect(approved.unblocked).toEqual([r.tasks.docs]);
      await finish(p, r.tasks.docs!);
      const status = await t.api.workflowRun({ project_id: p, run_id: r.run_id });
      expect(status.status).toBe('done');
      expect(status.steps.find((s) => s.step === 'review')?.tasks.map((x) => x.id)).toEqual([r.tasks.review, round['review-r2']]);
      expect((await t.api.fsck({ project_id: p })).violations).toEqual([]);
    });

    it('after max_rounds a person is asked instead: the last review is escalated with its output kept', async () => {
      const p = await project();
      const r = await upToReview(p, { with_docs: false });
      let review = r.tasks.review!;
      for (const n of [2, 3]) {
        const d = await finish(p, review, rejected);
        expect(d.loop).toMatchObject({ outcome: 'round_added', round: n });
        const tasks = (d.loop as { tasks: Record<string, string> }).tasks;
        await finish(p, tasks[`implement-r${n}`]!);
        await finish(p, tasks[`tests-r${n}`]!);
        review = tasks[`review-r${n}`]!;
      }
      const last = await finish(p, review, rejected);
      expect(last.loop).toMatchObject({ outcome: 'escalated', round: 3 });
      expect(last.task).toMatchObject({ status: 'blocked', blocked_reason: 'escalation', output: rejected });
      const open = await t.api.escalations({ project_id: p, status: 'open' });
      expect(open.map((e) => [e.task_id, e.source])).toEqual([[review, 'policy']]);
      expect(open[0]!.message).toMatch(/round 3 of 3/);
      expect((await t.api.workflowRun({ project_id: p, run_id: r.run_id })).status).toBe('escalated');
      expect((await t.api.fsck({ project_id: p })).violations).toEqual([]);
    });

    it('a rejected review adds exactly one round while two services report it at once', async () => {
      const p = await project();
      const r = await upToReview(p);
      const c = await t.api.claim({ project_id: p, agent_id: 'w1', task_id: r.tasks.review! });
      if (!c.claimed) throw new Error('not claimed');
      const input = { project_id: p, agent_id: 'w1', task_id: r.tasks.review!, lease_token: c.lease.token, output: rejected };
      const results = await Promise.all([t.api.done(input), t.other.done(input)]);
      expect(results.filter((x) => x.loop?.outcome === 'round_added')).toHaveLength(1);
      expect(results.filter((x) => x.already_done)).toHaveLength(1);
      const reviews = (await t.query("SELECT count(*)::int AS n FROM tasks WHERE project_id = $1 AND context->>'step' = 'review'", [p]))[0]!.n;
      expect(reviews).toBe(2);
    });

    it('a condition on an earlier output is decided when the step is released: false skips it and releases what waits for it', async () => {
      const p = await project();
      const r = (await run(p, { name: 'maybe_migrate' })) as Started;
      expect(Object.keys(r.tasks)).toEqual(['check', 'migrate', 'release']);
      const done = await finish(p, r.tasks.check!, { needs_migration: false });
      expect(done.unblocked).toEqual([r.tasks.release]);
      expect((await t.api.status({ project_id: p, task_id: r.tasks.migrate! })).task).toMatchObject({
        status: 'done',
        output: { skipped: true, reason: 'when inputs.strict || outputs.check.needs_migration == true is false' },
      });
      const events = await t.api.events({ project_id: p, limit: 100 });
      expect(events.filter((e) => e.type === 'workflow.step_skipped').map((e) => [e.task_id, e.payload.step])).toEqual([[r.tasks.migrate, 'migrate']]);
      await finish(p, r.tasks.release!);
      expect((await t.api.workflowRun({ project_id: p, run_id: r.run_id })).status).toBe('done');
      expect((await t.api.fsck({ project_id: p })).violations).toEqual([]);
    });

    it('a true condition on an earlier output lets the step run; one that cannot be evaluated asks a person', async () => {
      const p = await project();
      const yes = (await run(p, { name: 'maybe_migrate' })) as Started;
      expect((await finish(p, yes.tasks.check!, { needs_migration: true })).unblocked).toEqual([yes.tasks.migrate]);
      const migrate = (await t.api.status({ project_id: p, task_id: yes.tasks.migrate! })).task;
      expect(migrate.status).toBe('pending');
      expect(migrate.context).toMatchObject({ workflow_when_held: 'inputs.strict || outputs.check.needs_migration == true' });
      expect(migrate.context.workflow_when).toBeUndefined();
      expect((await t.api.reconcile({ project_id: p })).workflow_steps_decided).toBeUndefined();
      const broken = (await run(p, { name: 'maybe_migrate', run_key: 'no-output' })) as Started;
      expect((await finish(p, broken.tasks.check!, { unrelated: 1 })).unblocked).toEqual([]);
      expect((await t.api.status({ project_id: p, task_id: broken.tasks.migrate! })).task).toMatchObject({ status: 'blocked', blocked_reason: 'escalation' });
      const open = await t.api.escalations({ project_id: p, status: 'open' });
      expect(open.map((e) => e.task_id)).toEqual([broken.tasks.migrate]);
      expect(open[0]!.message).toMatch(/could not be evaluated \(No such key: needs_migration\)/);
      expect((await t.api.fsck({ project_id: p })).violations).toEqual([]);
    });

    it('the tick decides a step released outside a completion (here by fsck --repair after a done written by hand)', async () => {
      const p = await project();
      const r = (await run(p, { name: 'maybe_migrate' })) as Started;
      // Not through loom_done: the row alone, as a restore or a hand edit would leave it.
      await t.query(`UPDATE tasks SET status = 'done', output = '{"needs_migration": false}' WHERE id = $1`, [r.tasks.check]);
      await t.api.fsck({ project_id: p, repair: true });
      const released = (await t.api.status({ project_id: p, task_id: r.tasks.migrate! })).task;
      expect(released.status).toBe('pending');
      expect(released.context.workflow_when).toBeDefined();
      const tick = await t.api.reconcile({ project_id: p });
      expect(tick.workflow_steps_decided).toEqual([r.tasks.migrate]);
      expect((await t.api.status({ project_id: p, task_id: r.tasks.migrate! })).task).toMatchObject({ status: 'done', output: { skipped: true } });
      expect((await t.api.status({ project_id: p, task_id: r.tasks.release! })).task.status).toBe('pending');
      expect((await t.api.reconcile({ project_id: p })).workflow_steps_decided).toBeUndefined();
    });

    it('for_each over an earlier output fans out when that output exists; what waited for the step waits for every task', async () => {
      const p = await project();
      const r = (await run(p, { name: 'per_file' })) as Started;
      expect(Object.keys(r.tasks)).toEqual(['list', 'change', 'verify']);
      const done = await finish(p, r.tasks.list!, { files: ['a.ts', 'b.ts'] });
      expect(done.unblocked).toHaveLength(2);
      const [a, b] = done.unblocked.map(async (id) => (await t.api.status({ project_id: p, task_id: id })).task);
      const made = (await Promise.all([a!, b!])).sort((x, y) => x.title.localeCompare(y.title));
      expect(made.map((x) => [x.title, x.status, x.context.file, x.context.position])).toEqual([
        ['Change a.ts', 'pending', 'a.ts', '0'],
        ['Change b.ts', 'pending', 'b.ts', '1'],
      ]);
      expect((await t.api.status({ project_id: p, task_id: r.tasks.change! })).task).toMatchObject({ status: 'done', output: { fanned_out: 2 } });
      const verify = (await t.api.status({ project_id: p, task_id: r.tasks.verify! })).task;
      expect(verify).toMatchObject({ status: 'blocked', unmet_deps: 2 });
      expect([...verify.depends_on].sort()).toEqual(made.map((x) => x.id).sort());
      expect((await t.api.fsck({ project_id: p })).violations).toEqual([]);
      await finish(p, made[0]!.id);
      expect((await finish(p, made[1]!.id)).unblocked).toEqual([r.tasks.verify]);
      await finish(p, r.tasks.verify!);
      const status = await t.api.workflowRun({ project_id: p, run_id: r.run_id });
      expect(status.status).toBe('done');
      expect(status.steps.find((s) => s.step === 'change')?.tasks).toHaveLength(3);
      const events = await t.api.events({ project_id: p, limit: 200 });
      expect(events.find((e) => e.type === 'workflow.fanned_out')?.payload).toMatchObject({ run_id: r.run_id, step: 'change', items: 2 });
      expect((await t.api.fsck({ project_id: p })).violations).toEqual([]);
    });

    it('for_each over an empty earlier output skips the step', async () => {
      const p = await project();
      const r = (await run(p, { name: 'per_file' })) as Started;
      expect((await finish(p, r.tasks.list!, { files: [] })).unblocked).toEqual([r.tasks.verify]);
      expect((await t.api.status({ project_id: p, task_id: r.tasks.change! })).task).toMatchObject({ status: 'done', output: { skipped: true } });
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
        [{ name: 'ship_feature', inputs: { feature: 'x'.repeat(70_000) } }, 'VALIDATION_FAILED', /context is \d+ bytes of JSON; at most 65536/],
        [{ name: 'needs_plugin' }, 'SKILL_NOT_FOUND', /step audit \(.*needs_plugin.yaml:5\): no skill named security\/audit/],
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
  const lite = await openTestPglite();
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
