/**
 * `loom export` / `loom import` on real stores: a project built through the
 * API goes from the embedded PGlite to Postgres and back, losing nothing
 * (counts and a hash of the task and edge lines), keeps working after the
 * move (claims, new events after the imported ones), and a file that does
 * not fit, or names what the store already holds, leaves nothing behind.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { serviceForPool } from '../../src/app/service-factory.js';
import { LoomError } from '../../src/domain/errors.js';
import type { LoomApi } from '../../src/ports/loom-api.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { openEmbeddedService, type EmbeddedService } from '../support/embedded-service.js';
import { poolDrained } from '../support/pools.js';

const ORIGIN = { kind: 'test', id: 'archive' };
const dir = mkdtempSync(join(tmpdir(), 'loom-archive-'));
const file = (name: string): string => join(dir, name);

interface PgTarget {
  api: LoomApi;
  pool: pg.Pool;
  close(): Promise<void>;
}

async function openPostgres(db: TestDatabase): Promise<PgTarget> {
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  await migrate(pool);
  const { service } = serviceForPool(pool, { ownsPool: true });
  return {
    api: service,
    pool,
    async close() {
      const drained = poolDrained(pool);
      await service.close();
      await drained;
    },
  };
}

const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
    return 'no error';
  } catch (e) {
    return LoomError.is(e) ? e.code : `not a LoomError: ${String(e)}`;
  }
};

/** The lines of the given kinds, as written: what must survive a move byte for byte. */
const linesOf = (path: string, kinds: string[]): string[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => kinds.some((k) => l.startsWith(`{"${k}":`)));
const hash = (lines: string[]): string => createHash('sha256').update(lines.join('\n')).digest('hex');

describe('export and import between the embedded store and Postgres', () => {
  let lite: EmbeddedService;
  let db: TestDatabase;
  let server: PgTarget;
  let projectId: string;
  let ids: Record<string, string>;
  let costlyIds: { epic: string; h: string };

  beforeAll(async () => {
    lite = await openEmbeddedService();
    db = await createTestDatabase('archive');
    server = await openPostgres(db);
    // A project with a bit of everything: an epic and its children, edges, labels, a claim, a
    // done task with output, a dead letter, an escalation, messages and an agent's inbox cursor.
    const api = lite.api;
    projectId = (await api.createProject({ name: 'moving house' })).id;
    const p = projectId;
    const epic = await api.createTask({ project_id: p, title: 'the epic', origin: ORIGIN, priority: 'p1', epic: true });
    const a = await api.createTask({ project_id: p, title: 'design', origin: ORIGIN, parent_id: epic.id, labels: ['area:db'], context: { notes: 'ünïcode ✓', n: 1, constructor: 'Parser', prototype: 'figma.com/file/1' } }); // words as keys round-trip
    const b = await api.createTask({ project_id: p, title: 'build', origin: ORIGIN, parent_id: epic.id, depends_on: [a.id] });
    const c = await api.createTask({ project_id: p, title: 'ship', origin: ORIGIN, depends_on: [b.id, a.id] });
    const d = await api.createTask({ project_id: p, title: 'flaky', origin: ORIGIN, max_attempts: 1 });
    const e = await api.createTask({ project_id: p, title: 'question', origin: ORIGIN });
    const f = await api.createTask({ project_id: p, title: 'in flight', origin: ORIGIN, priority: 'p2' });
    const ca = await api.claim({ project_id: p, agent_id: 'alice', task_id: a.id });
    if (!ca.claimed) throw new Error('claim a');
    await api.done({ project_id: p, agent_id: 'alice', task_id: a.id, lease_token: ca.task.lease_token!, output: { pr: 12 } });
    // Another epic whose budget its first task's cost exceeded (its open work held by it, with an escalation), and the project's budget.
    const costly = await api.createTask({ project_id: p, title: 'the costly epic', origin: ORIGIN, epic: true });
    const g = await api.createTask({ project_id: p, title: 'spend', origin: ORIGIN, parent_id: costly.id });
    const h = await api.createTask({ project_id: p, title: 'spend more', origin: ORIGIN, parent_id: costly.id, priority: 'p2' });
    const cg = await api.claim({ project_id: p, agent_id: 'alice', task_id: g.id });
    if (!cg.claimed) throw new Error('claim g');
    await api.done({ project_id: p, agent_id: 'alice', task_id: g.id, lease_token: cg.task.lease_token!, usage: { input_tokens: 120, output_tokens: 30, cost_usd: 0.5 } });
    await api.setBudget({ project_id: p, epic_id: costly.id, budget_usd: 0.25 });
    await api.setBudget({ project_id: p, budget_usd: 40 });
    costlyIds = { epic: costly.id, h: h.id };
    const cd = await api.claim({ project_id: p, agent_id: 'bob', task_id: d.id });
    if (!cd.claimed) throw new Error('claim d');
    await api.fail({ project_id: p, agent_id: 'bob', task_id: d.id, lease_token: cd.task.lease_token!, reason: 'it broke' });
    await api.escalate({ project_id: p, task_id: e.id, message: 'which way?', agent_id: 'alice' });
    const cf = await api.claim({ project_id: p, agent_id: 'carol', task_id: f.id, lease_seconds: 3600 });
    if (!cf.claimed) throw new Error('claim f');
    await api.sendMessage({ project_id: p, from_agent: 'alice', to_agent: 'bob', body: 'design is done' });
    await api.sendMessage({ project_id: p, from_agent: 'bob', to_agent: '*', body: 'thanks' });
    await api.inbox({ project_id: p, agent_id: 'bob' });
    // A workflow run (its epic's context names the run's id) and a skill run.
    await api.runWorkflow({ project_id: p, name: 'debug_and_fix', inputs: { symptom: 'crash on start' } });
    await api.renderSkill({ project_id: p, name: 'write_task_context', task_id: c.id, agent_id: 'alice' });
    // The server already holds another project with runs of its own, numbered from 1 too.
    const other = (await server.api.createProject({ name: 'neighbour' })).id;
    await server.api.runWorkflow({ project_id: other, name: 'debug_and_fix', inputs: { symptom: 'slow' } });
    ids = { epic: epic.id, a: a.id, b: b.id, c: c.id, d: d.id, e: e.id, f: f.id, f_token: cf.task.lease_token! };
  });

  afterAll(async () => {
    await lite?.close();
    await server?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('moves the project to Postgres and back with nothing lost, and exporting again gives the same bytes', async () => {
    const first = await lite.api.exportProject({ project_id: projectId, path: file('lite.jsonl'), events: true });
    // The dead letter raised an escalation of its own (policy), besides the agent's.
    expect(first.counts).toMatchObject({ escalation: 2, message: 2, workflow_run: 1, skill_run: 1, usage_report: 1, usage_total: 3, budget: 2 });
    expect(first.counts.task).toBeGreaterThan(8); // 7 and the workflow's epic and steps
    expect(first.counts.agent).toBeGreaterThanOrEqual(2);
    expect(first.counts.event).toBeGreaterThan(15);
    const again = await lite.api.exportProject({ project_id: projectId, path: file('lite-again.jsonl'), events: true });
    expect(again.sha256).toBe(first.sha256);

    const imported = await server.api.importProject({ path: file('lite.jsonl') });
    expect(imported).toMatchObject({ project_id: projectId, project_name: 'moving house', events: true, counts: first.counts, events_written: 1 });

    const back = await server.api.exportProject({ project_id: projectId, path: file('pg.jsonl'), events: true });
    expect(back.counts).toEqual({ ...first.counts, event: first.counts.event + 1 });
    const kinds = ['task', 'dep', 'escalation', 'agent', 'message', 'skill_run', 'decomposition', 'workflow_run', 'usage_report', 'usage_total', 'budget'];
    // Costs and budgets came along: the same sums, the epic's budget still spent and holding its work.
    expect((await server.api.costs({ project_id: projectId })).total).toMatchObject({ cost_micros: 500_000, input_tokens: 120, reports: 1 });
    const budgets = (await server.api.budgets({ project_id: projectId })).budgets;
    expect(budgets.map((b) => [b.scope, b.budget_usd, b.spent_usd, b.state])).toEqual([['', 40, 0.5, 'ok'], [costlyIds.epic, 0.25, 0.5, 'exceeded']]);
    expect(await server.api.claim({ project_id: projectId, agent_id: 'x', task_id: costlyIds.h }).catch((e: { code?: string }) => e.code)).toBe('BUDGET_EXCEEDED');
    expect(hash(linesOf(file('pg.jsonl'), kinds))).toBe(hash(linesOf(file('lite.jsonl'), kinds)));
    // The log is the same, plus the import's own event at the end.
    const events = linesOf(file('pg.jsonl'), ['event']);
    expect(events.slice(0, -1)).toEqual(linesOf(file('lite.jsonl'), ['event']));
    expect(events.at(-1)).toContain('"type": "project.imported"'.replace(': ', ':'));

    const fsck = await server.api.fsck({ project_id: projectId });
    expect(fsck.violations).toEqual([]);
    expect(fsck.ok).toBe(true);
  });

  it('keeps working after the move: the lease in flight, the ready list, new events after the imported ones', async () => {
    const p = projectId;
    const before = await server.api.events({ project_id: p, limit: 10000 });
    const last = before.at(-1)!.id;
    // carol's claim moved with its token: she finishes it on the server.
    const done = await server.api.done({ project_id: p, agent_id: 'carol', task_id: ids.f!, lease_token: ids.f_token!, output: { ok: true } });
    expect(done.task.status).toBe('done');
    const ready = await server.api.ready({ project_id: p, limit: 100 });
    expect(ready.map((t) => t.id)).toContain(ids.b);
    const claim = await server.api.claim({ project_id: p, agent_id: 'dave', task_id: ids.b! });
    expect(claim.claimed && claim.task.id).toBe(ids.b);
    // The run kept its id and its tasks.
    const runs = await server.api.workflowRuns({ project_id: p });
    expect(runs).toHaveLength(1);
    const run = await server.api.workflowRun({ project_id: p, run_id: runs[0]!.run_id });
    expect(run.steps.flatMap((s) => s.tasks).length).toBeGreaterThan(0);
    const after = await server.api.events({ project_id: p, since: last, limit: 100 });
    expect(after.length).toBeGreaterThanOrEqual(2);
    expect(after.every((e) => e.id > last)).toBe(true);
    // bob read alice's message before the move; a new one is all his inbox holds.
    await server.api.sendMessage({ project_id: p, from_agent: 'alice', to_agent: 'bob', body: 'new' });
    expect((await server.api.inbox({ project_id: p, agent_id: 'bob' })).map((m) => m.body)).toEqual(['new']);
  });

  it('without the event log: one task.imported per task, and fsck still finds every status explained', async () => {
    const r = await server.api.exportProject({ project_id: projectId, path: file('no-events.jsonl') });
    expect(r.counts.event).toBe(0);
    const other = await openEmbeddedService();
    try {
      const imported = await other.api.importProject({ path: file('no-events.jsonl') });
      expect(imported.events_written).toBe(r.counts.task + 1);
      expect((await other.api.fsck({ project_id: projectId })).violations).toEqual([]);
      const copy = await other.api.exportProject({ project_id: projectId, path: file('no-events-copy.jsonl') });
      expect(hash(linesOf(file('no-events-copy.jsonl'), ['task', 'dep', 'escalation', 'message']))).toBe(hash(linesOf(file('no-events.jsonl'), ['task', 'dep', 'escalation', 'message'])));
      expect(copy.counts).toEqual(r.counts);
    } finally {
      await other.close();
    }
  });

  it('refuses to import a project twice into one store, and one whose ids are taken', async () => {
    expect(await codeOf(server.api.importProject({ path: file('lite.jsonl') }))).toBe('IMPORT_CONFLICT');
    // The same tasks under another project id: the task ids are still taken.
    const text = readFileSync(file('lite.jsonl'), 'utf8').replace(`"id":"${projectId}"`, '"id":"someone-else"');
    writeFileSync(file('renamed.jsonl'), text);
    expect(await codeOf(server.api.importProject({ path: file('renamed.jsonl') }))).toBe('IMPORT_CONFLICT');
    expect((await server.api.projects({})).map((p) => p.id)).not.toContain('someone-else');
  });

  it('imports into an empty project of the same id (what `loom init` made)', async () => {
    const other = await openEmbeddedService();
    try {
      await other.api.createProject({ id: projectId, name: 'placeholder' });
      const imported = await other.api.importProject({ path: file('lite.jsonl') });
      expect(imported.counts.task).toBeGreaterThan(8);
      expect((await other.api.getProject({ project_id: projectId })).name).toBe('moving house');
      expect((await other.api.fsck({ project_id: projectId })).ok).toBe(true);
      // Not empty any more: a second import is refused.
      expect(await codeOf(other.api.importProject({ path: file('lite.jsonl') }))).toBe('IMPORT_CONFLICT');
    } finally {
      await other.close();
    }
  });

  describe('a file that does not fit is refused with nothing written', () => {
    let target: PgTarget;
    let db2: TestDatabase;
    beforeAll(async () => {
      db2 = await createTestDatabase('archive-bad');
      target = await openPostgres(db2);
    });
    afterAll(async () => {
      await target?.close();
      await db2?.drop();
    });

    const source = (): string[] => readFileSync(file('lite.jsonl'), 'utf8').trimEnd().split('\n');
    const taskLine = (lines: string[], id: string): number => lines.findIndex((l) => l.startsWith(`{"task":{`) && l.includes(`"id":"${id}"`));
    const variants: Array<[string, (lines: string[]) => string[] | string, string]> = [
      ['an empty file', () => '', 'IMPORT_INVALID'],
      ['a line that is not JSON', (l) => [...l.slice(0, 3), '{"task": nope', ...l.slice(3)], 'IMPORT_INVALID'],
      ['a first line that is not a header', (l) => l.slice(1), 'IMPORT_INVALID'],
      ['a newer export format', (l) => [l[0]!.replace('"loom_export":1', '"loom_export":99'), ...l.slice(1)], 'IMPORT_INVALID'],
      ['a newer schema', (l) => [l[0]!.replace(/"schema":\d+/, '"schema":9999'), ...l.slice(1)], 'IMPORT_INVALID'],
      ['an unknown kind of row', (l) => [...l, '{"bogus":{"id":1}}'], 'IMPORT_INVALID'],
      ['a NUL in a title', (l) => l.map((x, i) => (i === taskLine(l, ids.a!) ? x.replace('"title":"design"', '"title":"de\\u0000sign"') : x)), 'IMPORT_INVALID'],
      ['a lone surrogate', (l) => l.map((x, i) => (i === taskLine(l, ids.a!) ? x.replace('"title":"design"', '"title":"\\ud800"') : x)), 'IMPORT_INVALID'],
      ['a __proto__ key in a context', (l) => l.map((x, i) => (i === taskLine(l, ids.a!) ? x.replace('"context":{', '"context":{"__proto__":{"x":1},') : x)), 'IMPORT_INVALID'],
      ['a constructor.prototype path in a context', (l) => l.map((x, i) => (i === taskLine(l, ids.a!) ? x.replace('"context":{', '"context":{"more":{"constructor":{"prototype":{"x":1}}},') : x)), 'IMPORT_INVALID'],
      ['a status the schema does not allow', (l) => l.map((x, i) => (i === taskLine(l, ids.c!) ? x.replace(/"status":"\w+"/, '"status":"bogus"') : x)), 'IMPORT_INVALID'],
      ['a field this store does not know', (l) => l.map((x, i) => (i === taskLine(l, ids.c!) ? x.replace('{"task":{', '{"task":{"sneaky":1,') : x)), 'IMPORT_INVALID'],
      ['an edge to a task that is not in the file', (l) => [...l.filter((x) => !x.startsWith('{"escalation"') && !x.startsWith('{"agent"') && !x.startsWith('{"message"') && !x.startsWith('{"event"')), `{"dep":{"task_id":"${ids.c}","depends_on":"loom-00000000","inherited":false}}`], 'IMPORT_INVALID'],
      ['an edge that closes a cycle', (l) => [...l.filter((x) => !x.startsWith('{"escalation"') && !x.startsWith('{"agent"') && !x.startsWith('{"message"') && !x.startsWith('{"event"')), `{"dep":{"task_id":"${ids.a}","depends_on":"${ids.c}","inherited":false}}`], 'IMPORT_INVALID'],
      ['a row twice', (l) => [...l.slice(0, taskLine(l, ids.c!) + 1), l[taskLine(l, ids.c!)]!, ...l.slice(taskLine(l, ids.c!) + 1)], 'IMPORT_INVALID'],
      ['kinds out of order', (l) => [l[0]!, ...l.slice(1).reverse()], 'IMPORT_INVALID'],
      ['a task id of the wrong shape', (l) => l.map((x, i) => (i === taskLine(l, ids.e!) ? x.replace(`"id":"${ids.e}"`, '"id":"../../etc"') : x)), 'IMPORT_INVALID'],
      ['deep nesting', (l) => l.map((x, i) => (i === taskLine(l, ids.a!) ? x.replace('"context":{', `"context":{"deep":${'['.repeat(100)}${']'.repeat(100)},`) : x)), 'IMPORT_INVALID'],
    ];

    it.each(variants)('%s', async (_name, edit, code) => {
      const edited = edit(source());
      const name = file(`bad-${Math.random().toString(16).slice(2)}.jsonl`);
      writeFileSync(name, typeof edited === 'string' ? edited : `${edited.join('\n')}\n`);
      expect(await codeOf(target.api.importProject({ path: name }))).toBe(code);
      expect(await target.api.projects({})).toEqual([]);
    });

    it('paths: relative, missing, a directory, not UTF-8', async () => {
      expect(await codeOf(target.api.importProject({ path: 'lite.jsonl' }))).toBe('VALIDATION_FAILED');
      expect(await codeOf(target.api.importProject({ path: file('missing.jsonl') }))).toBe('VALIDATION_FAILED');
      expect(await codeOf(target.api.importProject({ path: dir }))).toBe('VALIDATION_FAILED');
      writeFileSync(file('latin1.jsonl'), Buffer.from([0x7b, 0xe9, 0x7d, 0x0a]));
      expect(await codeOf(target.api.importProject({ path: file('latin1.jsonl') }))).toBe('IMPORT_INVALID');
      expect(await codeOf(server.api.exportProject({ project_id: projectId, path: join(dir, 'no-such-dir', 'x.jsonl') }))).toBe('VALIDATION_FAILED');
      expect(await target.api.projects({})).toEqual([]);
    });
  });
});
