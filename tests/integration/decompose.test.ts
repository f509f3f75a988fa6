/**
 * loom_decompose on real Postgres and on the embedded store: a plan's dry
 * run writes nothing; apply writes every task and edge in one transaction
 * (a failure injected at its end leaves nothing); dependents start blocked
 * and the ready order follows the plan; the same plan again writes nothing;
 * two services applying one plan at once create it once.
 */
import { openTestPglite } from '../support/pglite.js';
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { migrate } from '../../src/adapters/postgres/migrator.js';
import { serviceForPool } from '../../src/app/service-factory.js';
import type { DecomposeApplied, DecomposeDryRun, DecomposeInput, DecomposePrompt, LoomApi } from '../../src/ports/loom-api.js';
import type { JsonObject } from '../../src/domain/task.js';
import { usePgServices } from '../support/pg-services.js';

const ORIGIN = { kind: 'test', id: 'decompose' };

/** A wired plan of n tasks: a spec, n-2 parts that each need the spec and the part before the one before, and a review of all parts. */
export function layeredPlan(n: number, title = `Plan of ${n}`): JsonObject {
  const tasks: JsonObject[] = [{ key: 'spec', title: 'Write the spec', done_when: 'spec.md exists', priority: 'p0' }];
  for (let i = 1; i < n - 1; i++) {
    const deps = ['spec'];
    if (i > 2) deps.push(`part-${i - 2}`);
    tasks.push({ key: `part-${i}`, title: `Build part ${i}`, done_when: `part ${i} tests pass`, depends_on: deps });
  }
  tasks.push({ key: 'review', title: 'Review everything', done_when: 'approved', depends_on: tasks.slice(1).map((t) => t.key as string).slice(-2) });
  return { title, tasks };
}

interface Target {
  api: LoomApi;
  /** A second service over the same database (another process's pool; the embedded store has one). */
  other: LoomApi;
  query(sql: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  projectDir: string;
  close(): Promise<void>;
}

function suite(name: string, open: (projectDir: string) => Promise<Target>): void {
  describe(`decompose: ${name}`, () => {
    let t: Target;
    const projectDir = mkdtempSync(join(tmpdir(), 'loom-decompose-'));
    beforeAll(async () => {
      mkdirSync(join(projectDir, 'docs'));
      writeFileSync(join(projectDir, 'docs', 'search.md'), '# Search\nUsers search titles and bodies.\n');
      t = await open(projectDir);
    });
    afterAll(async () => t?.close());

    let n = 0;
    const project = async () => (await t.api.createProject({ name: `${name} ${++n}` })).id;
    const dec = (p: string, input: Omit<DecomposeInput, 'project_id'>) => t.api.decompose({ project_id: p, ...input });
    const count = async (p: string) => Number((await t.query('SELECT count(*)::int AS n FROM tasks WHERE project_id = $1', [p]))[0]!.n);
    const edges = async (p: string) =>
      Number((await t.query('SELECT count(*)::int AS n FROM task_deps d JOIN tasks t ON t.id = d.task_id WHERE t.project_id = $1', [p]))[0]!.n);
    const apply = async (p: string, input: Omit<DecomposeInput, 'project_id'>) => {
      const dry = (await dec(p, input)) as DecomposeDryRun;
      expect(dry.stage).toBe('dry_run');
      return (await dec(p, { ...input, apply: true, plan_hash: dry.plan_hash })) as DecomposeApplied;
    };

    it('without a plan returns the decompose skill with the goal and the open tasks, and the plan schema', async () => {
      const p = await project();
      const existing = await t.api.createTask({ project_id: p, title: 'Existing schema work', origin: ORIGIN });
      const r = (await dec(p, { goal: 'Add full-text search', include_file_tree: true })) as DecomposePrompt;
      expect(r.stage).toBe('plan_needed');
      expect(r.skill.name).toBe('decompose_project');
      expect(r.skill.text).toContain('Add full-text search');
      expect(r.skill.text).toContain(`${existing.id} [pending] Existing schema work`);
      expect(r.skill.text).toContain('docs/ (1 file)');
      expect((r.plan_schema as { $id: string }).$id).toBe('urn:loom:schema:decomposition-plan');
      expect(r.next).toContain('plan_hash');
      expect(await count(p)).toBe(1);
    });

    it('reads a spec inside the project and refuses one outside it', async () => {
      const p = await project();
      const r = (await dec(p, { spec_path: 'docs/search.md' })) as DecomposePrompt;
      expect(r.skill.text).toContain('Users search titles and bodies.');
      for (const bad of ['../etc/passwd', '/etc/passwd', 'docs/../../x.md']) {
        await expect(dec(p, { spec_path: bad })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/outside the project|contains "\.\."/) });
      }
      const outside = mkdtempSync(join(tmpdir(), 'loom-outside-'));
      writeFileSync(join(outside, 'secret.md'), 'secret');
      symlinkSync(join(outside, 'secret.md'), join(t.projectDir, 'docs', `link-${name.replace(/\W/g, '')}.md`));
      await expect(dec(p, { spec_path: `docs/link-${name.replace(/\W/g, '')}.md` })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(dec(p, { spec_path: 'docs/./../docs/search.md' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(dec(p, { spec_path: 'docs/missing.md' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('does not exist') });
    });

    it('dry-runs a plan: waves, critical path, warnings and a hash; nothing is written', async () => {
      const p = await project();
      const plan = {
        title: 'Search',
        tasks: [
          { key: 'spec', title: 'Spec', done_when: 'written' },
          { key: 'index', title: 'Index', depends_on: ['spec'], done_when: 'tests pass' },
          { key: 'api', title: 'API', depends_on: ['index'] },
          { key: 'docs', title: 'Docs', depends_on: ['spec'], done_when: 'README' },
          { key: 'lonely', title: 'Lonely', done_when: 'x' },
        ],
      };
      const r = (await dec(p, { goal: 'search', plan })) as DecomposeDryRun;
      expect(r.waves).toEqual([['spec', 'lonely'], ['index', 'docs'], ['api']]);
      expect(r.critical_path).toEqual(['spec', 'index', 'api']);
      expect(r.critical_path_length).toBe(3);
      expect(r.warnings.map((w) => [w.code, w.keys])).toEqual([
        ['no_done_when', ['api']],
        ['isolated', ['lonely']],
      ]);
      expect(r.plan_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(await count(p)).toBe(0);
      // The same plan, written differently (defaults spelled out), hashes alike.
      const spelled = { ...plan, tasks: plan.tasks.map((x) => ({ priority: 'p1', depends_on: [], context: {}, ...x })) };
      expect(((await dec(p, { goal: 'search', plan: spelled })) as DecomposeDryRun).plan_hash).toBe(r.plan_hash);
    });

    it('refuses bad plans with coded errors and writes nothing', async () => {
      const p = await project();
      const cases: Array<[JsonObject, string, RegExp]> = [
        [{ title: 'c', tasks: [{ key: 'a', title: 'A', depends_on: ['b'] }, { key: 'b', title: 'B', depends_on: ['a'] }] }, 'DEPENDENCY_CYCLE', /a -> b -> a|b -> a -> b/],
        [{ title: 'u', tasks: [{ key: 'a', title: 'A', depends_on: ['nope'] }] }, 'DEPENDENCY_NOT_FOUND', /a -> nope/],
        [{ title: 'u', tasks: [{ key: 'a', title: 'A', depends_on: ['loom-00000000'] }] }, 'DEPENDENCY_NOT_FOUND', /loom-00000000/],
        [{ title: 'd', tasks: [{ key: 'a', title: 'A' }, { key: 'a', title: 'B' }] }, 'VALIDATION_FAILED', /duplicate plan keys: a/],
        [{ title: 'm', tasks: [{ key: 'a' }] }, 'VALIDATION_FAILED', /title/],
        [{ title: 'f', tasks: ['a', 'b', 'c', 'd'].map((k) => ({ key: k, title: k })) }, 'PLAN_FLAT', /no dependency edges/],
        [{ title: 'big', tasks: Array.from({ length: 10_000 }, (_, i) => ({ key: `k${i}`, title: `t${i}` })) }, 'VALIDATION_FAILED', /at most 2000/],
        [{ title: 'id-key', tasks: [{ key: 'loom-1234abcd', title: 'A' }] }, 'VALIDATION_FAILED', /key/],
        [{ title: 'proto', tasks: [{ key: 'a', title: 'A', __proto__x: 1 }] }, 'VALIDATION_FAILED', /unknown field/],
        // A plan's contexts have the limit a single create's has (tasks.max_context_bytes, 64 KiB by default).
        [{ title: 'big', tasks: [{ key: 'a', title: 'A', context: { notes: 'x'.repeat(70_000) } }] }, 'VALIDATION_FAILED', /plan\.tasks\[0\] \(a\)\.context is \d+ bytes/],
      ];
      for (const [plan, code, message] of cases) {
        await expect(dec(p, { goal: 'g', plan }), code).rejects.toMatchObject({ code, message: expect.stringMatching(message), hint: expect.stringContaining('Nothing was written') });
      }
      // A flat plan is allowed when said so.
      const flat = (await dec(p, { goal: 'g', plan: cases[5]![0], allow_flat: true })) as DecomposeDryRun;
      expect(flat.waves).toEqual([['a', 'b', 'c', 'd']]);
      expect(await count(p)).toBe(0);
    });

    it('applies: tasks blocked behind their dependencies, ready in plan order, the same plan again writes nothing', async () => {
      const p = await project();
      const plan = {
        title: 'Search',
        tasks: [
          { key: 'spec', title: 'Spec', done_when: 'written', priority: 'p0', skill: 'write_spec' },
          { key: 'index', title: 'Index', depends_on: ['spec'], done_when: 'tests pass' },
          { key: 'api', title: 'API', depends_on: ['index'], done_when: 'curl works' },
          { key: 'docs', title: 'Docs', depends_on: ['spec'], done_when: 'README' },
        ],
      };
      const applied = await apply(p, { goal: 'search', plan });
      expect(applied).toMatchObject({ stage: 'applied', created: true, counts: { tasks: 4, edges: 3 } });
      const ids = applied.tasks;
      expect(Object.keys(ids).sort()).toEqual(['api', 'docs', 'index', 'spec']);
      const epic = await t.api.status({ project_id: p, task_id: applied.epic_id });
      expect(epic.task).toMatchObject({ status: 'epic', title: 'Search' });
      const spec = (await t.api.status({ project_id: p, task_id: ids.spec! })).task;
      expect(spec).toMatchObject({ status: 'pending', parent_id: applied.epic_id, priority: 'p0', done_when: 'written' });
      expect(spec.context).toMatchObject({ skill: 'write_spec', plan_key: 'spec' });
      expect(spec.weight).toBe(3);
      expect((await t.api.status({ project_id: p, task_id: ids.index! })).task).toMatchObject({ status: 'blocked', unmet_deps: 1, depends_on: [ids.spec] });
      expect((await t.api.ready({ project_id: p })).map((x) => x.id)).toEqual([ids.spec]);
      const events = await t.api.events({ project_id: p, limit: 100 });
      expect(events.filter((e) => e.type === 'task.created')).toHaveLength(5);
      expect(events.find((e) => e.type === 'project.decomposed')?.payload).toMatchObject({ epic_id: applied.epic_id, tasks: 4, edges: 3, source: 'goal', waves: 3 });
      // Finishing the spec releases index and docs.
      const c = await t.api.claim({ project_id: p, agent_id: 'a1', task_id: ids.spec! });
      if (!c.claimed) throw new Error('not claimed');
      const done = await t.api.done({ project_id: p, agent_id: 'a1', task_id: ids.spec!, lease_token: c.lease.token });
      expect(done.unblocked.sort()).toEqual([ids.index, ids.docs].sort());
      // Again: the same ids, nothing new.
      const again = await apply(p, { goal: 'search', plan });
      expect(again).toMatchObject({ created: false, epic_id: applied.epic_id, tasks: ids });
      expect(await count(p)).toBe(5);
      // A stale hash is refused.
      await expect(dec(p, { goal: 'search', plan: { ...plan, title: 'Search 2' }, apply: true, plan_hash: again.plan_hash })).rejects.toMatchObject({ code: 'PLAN_STALE' });
      await expect(dec(p, { goal: 'search', plan, apply: true })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('plan_hash') });
      expect(await count(p)).toBe(5);
    });

    it('under an existing epic: children inherit its blockers, may depend on existing tasks, and may not wait for the epic', async () => {
      const p = await project();
      const blocker = await t.api.createTask({ project_id: p, title: 'Blocker', origin: ORIGIN });
      const schema = await t.api.createTask({ project_id: p, title: 'Schema', origin: ORIGIN });
      const epic = await t.api.createTask({ project_id: p, title: 'Epic', origin: ORIGIN, epic: true, depends_on: [blocker.id] });
      const waitsForEpic = await t.api.createTask({ project_id: p, title: 'After the epic', origin: ORIGIN, depends_on: [epic.id] });
      const plan = { title: 'Break it down', tasks: [{ key: 'a', title: 'A', depends_on: [schema.id], done_when: 'x' }, { key: 'b', title: 'B', depends_on: ['a'], done_when: 'y' }] };
      const applied = await apply(p, { epic_id: epic.id, plan });
      expect(applied.epic_id).toBe(epic.id);
      const a = (await t.api.status({ project_id: p, task_id: applied.tasks.a! })).task;
      expect(a).toMatchObject({ status: 'blocked', parent_id: epic.id, unmet_deps: 2 });
      expect([...a.depends_on].sort()).toEqual([blocker.id, schema.id].sort());
      expect((await t.api.status({ project_id: p, task_id: schema.id })).task.weight).toBe(2);
      // Under the same epic a plan may not depend on what waits for the epic.
      const cyclic = { title: 'Cyclic', tasks: [{ key: 'c', title: 'C', depends_on: [waitsForEpic.id] }] };
      await expect(dec(p, { epic_id: epic.id, plan: cyclic })).rejects.toMatchObject({ code: 'DEPENDENCY_CYCLE' });
      await expect(dec(p, { epic_id: epic.id, plan: { title: 'Self', tasks: [{ key: 'c', title: 'C', depends_on: [epic.id] }] } })).rejects.toMatchObject({ code: 'DEPENDENCY_CYCLE' });
      await expect(dec(p, { epic_id: schema.id, plan })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('not an epic') });
      // The same plan under another parent is another decomposition.
      const fresh = await apply(p, { goal: 'g', plan });
      expect(fresh.created).toBe(true);
      expect(fresh.epic_id).not.toBe(epic.id);
    });

    it('applies a 500-task, 1,000-edge plan in one transaction: a failure injected at its end leaves nothing', async () => {
      const p = await project();
      const plan = layeredPlan(500);
      const dry = (await dec(p, { goal: 'big', plan })) as DecomposeDryRun;
      expect(dry.counts.tasks).toBe(500);
      expect(dry.counts.edges).toBeGreaterThanOrEqual(990);
      // The last statement of the write (the project.decomposed event) fails: every task and edge before it must go.
      await t.query(`CREATE OR REPLACE FUNCTION loom_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`);
      await t.query(`CREATE TRIGGER loom_test_fail BEFORE INSERT ON events FOR EACH ROW WHEN (NEW.type = 'project.decomposed') EXECUTE FUNCTION loom_test_fail()`);
      try {
        await expect(dec(p, { goal: 'big', plan, apply: true, plan_hash: dry.plan_hash })).rejects.toThrow();
      } finally {
        await t.query('DROP TRIGGER loom_test_fail ON events');
      }
      expect(await count(p)).toBe(0);
      expect(await edges(p)).toBe(0);
      expect((await t.query('SELECT count(*)::int AS n FROM decompositions WHERE project_id = $1', [p]))[0]!.n).toBe(0);
      const applied = (await dec(p, { goal: 'big', plan, apply: true, plan_hash: dry.plan_hash })) as DecomposeApplied;
      expect(applied.counts).toEqual({ tasks: 500, edges: dry.counts.edges });
      expect(await count(p)).toBe(501);
      expect(await edges(p)).toBe(dry.counts.edges);
      const report = await t.api.fsck({ project_id: p });
      expect(report.violations).toEqual([]);
      expect(report.ok).toBe(true);
    });

    it('two services applying the same plan at once create it once', async () => {
      const p = await project();
      const plan = layeredPlan(60, 'Raced');
      const dry = (await dec(p, { goal: 'race', plan })) as DecomposeDryRun;
      const input = { project_id: p, goal: 'race', plan, apply: true, plan_hash: dry.plan_hash };
      const [x, y] = (await Promise.all([t.api.decompose(input), t.other.decompose(input)])) as DecomposeApplied[];
      expect([x!.created, y!.created].sort()).toEqual([false, true]);
      expect(x!.tasks).toEqual(y!.tasks);
      expect(await count(p)).toBe(61);
    });
  });
}

describe('postgres', () => {
  const services = usePgServices('decompose');
  const pools: pg.Pool[] = [];
  suite('postgres', async (projectDir) => {
    const make = () => {
      const pool = new pg.Pool({ connectionString: services.url(), max: 4 });
      pool.on('error', () => {});
      pools.push(pool);
      return serviceForPool(pool, { ownsPool: false, projectDir }).service;
    };
    const api = make();
    const other = make();
    return {
      api,
      other,
      projectDir,
      query: async (sql, params = []) => (await pools[0]!.query(sql, params)).rows,
      close: async () => {
        await Promise.all(pools.map((x) => x.end()));
      },
    };
  });
});

describe('a server holding another project\'s directory', () => {
  it('reads no spec file and no file tree for this project', async () => {
    const lite = await openTestPglite();
    await migrate(lite.pool);
    const projectDir = mkdtempSync(join(tmpdir(), 'loom-decompose-other-'));
    writeFileSync(join(projectDir, 'spec.md'), 'the other project\'s spec');
    const { service } = serviceForPool(lite.pool, { ownsPool: false, projectDir, projectDirOf: 'someone-else' });
    try {
      const p = (await service.createProject({ name: 'served' })).id;
      await expect(service.decompose({ project_id: p, spec_path: 'spec.md' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('someone-else') });
      await expect(service.decompose({ project_id: p, goal: 'g', include_file_tree: true })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(((await service.decompose({ project_id: p, goal: 'g' })) as DecomposePrompt).stage).toBe('plan_needed');
    } finally {
      await service.close();
      await lite.close();
    }
  });
});

suite('embedded (PGlite)', async (projectDir) => {
  const lite = await openTestPglite();
  await migrate(lite.pool);
  const { service } = serviceForPool(lite.pool, { ownsPool: false, projectDir });
  const { service: other } = serviceForPool(lite.pool, { ownsPool: false, projectDir });
  return {
    api: service,
    other,
    projectDir,
    query: async (sql, params = []) => (await lite.pool.query(sql, params)).rows,
    async close() {
      await service.close();
      await lite.close();
    },
  };
});
