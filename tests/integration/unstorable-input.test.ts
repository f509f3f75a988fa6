/**
 * Text Postgres cannot store (NUL, lone surrogates), JSON nested too deep,
 * prototype-polluting keys and bodies over their limits are refused at the edge with VALIDATION_FAILED
 * naming the field, in every method that writes, and nothing is written: on
 * real Postgres (where the driver would silently turn a lone surrogate into
 * U+FFFD in plain text columns) and on the embedded store alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { LoomError } from '../../src/domain/errors.js';
import { MAX_JSON_DEPTH } from '../../src/domain/text.js';
import type { LoomApi } from '../../src/ports/loom-api.js';
import { usePgServices } from '../support/pg-services.js';
import { openEmbeddedService } from '../support/embedded-service.js';

const ORIGIN = { kind: 'test', id: 'unstorable' };
const NUL = 'a\u0000b';
const HIGH = 'a\ud800b';
const LOW = '\udfffz';
const LIMIT = 2048;

function nested(depth: number): Record<string, unknown> {
  let v: Record<string, unknown> = { leaf: 1 };
  for (let i = 0; i < depth; i++) v = { n: v };
  return v;
}

interface Fixture {
  p: string;
  task: string;
  claimed: { task_id: string; token: string };
  escalation: string;
}

type Case = [string, (api: LoomApi, f: Fixture) => Promise<unknown>, string];

const AGENT = 'agent-1';
const lease = (f: Fixture) => ({ project_id: f.p, task_id: f.claimed.task_id, agent_id: AGENT, lease_token: f.claimed.token });

const CASES: Case[] = [
  ['a project name with NUL', (api) => api.createProject({ name: NUL }), 'name'],
  ['a title with NUL', (api, f) => api.createTask({ project_id: f.p, title: NUL, origin: ORIGIN }), 'title'],
  ['a title with a lone high surrogate', (api, f) => api.createTask({ project_id: f.p, title: HIGH, origin: ORIGIN }), 'title'],
  ['a title with a lone low surrogate', (api, f) => api.createTask({ project_id: f.p, title: LOW, origin: ORIGIN }), 'title'],
  ['a context value with NUL', (api, f) => api.createTask({ project_id: f.p, title: 't', origin: ORIGIN, context: { a: { b: [1, NUL] } } }), 'context.a.b[1]'],
  ['a context value with a lone surrogate', (api, f) => api.createTask({ project_id: f.p, title: 't', origin: ORIGIN, context: { a: HIGH } }), 'context.a'],
  ['a context key with NUL', (api, f) => api.createTask({ project_id: f.p, title: 't', origin: ORIGIN, context: { [NUL]: 1 } }), 'context: the key'],
  ['a context key with a lone surrogate', (api, f) => api.createTask({ project_id: f.p, title: 't', origin: ORIGIN, context: { [LOW]: 1 } }), 'context: the key'],
  ['a context nested too deep', (api, f) => api.createTask({ project_id: f.p, title: 't', origin: ORIGIN, context: nested(MAX_JSON_DEPTH + 5) }), `deeper than ${MAX_JSON_DEPTH}`],
  ['a context over the limit', (api, f) => api.createTask({ project_id: f.p, title: 't', origin: ORIGIN, context: { big: 'x'.repeat(LIMIT) } }), `at most ${LIMIT}`],
  ['done_when with NUL', (api, f) => api.createTask({ project_id: f.p, title: 't', origin: ORIGIN, done_when: NUL }), 'done_when'],
  ['an origin id with a lone surrogate', (api, f) => api.createTask({ project_id: f.p, title: 't', origin: { kind: 'agent', id: HIGH } }), 'origin.id'],
  ['an update of the title with NUL', (api, f) => api.updateTask({ project_id: f.p, task_id: f.task, title: NUL }), 'title'],
  ['an update of the context over the limit', (api, f) => api.updateTask({ project_id: f.p, task_id: f.task, context: { big: 'é'.repeat(LIMIT) } }), `at most ${LIMIT}`],
  ['an update of done_when with a lone surrogate', (api, f) => api.updateTask({ project_id: f.p, task_id: f.task, done_when: LOW }), 'done_when'],
  ['a claim by an agent id with NUL', (api, f) => api.claim({ project_id: f.p, agent_id: NUL }), 'agent_id'],
  ['a heartbeat progress note with NUL', (api, f) => api.heartbeat({ ...lease(f), progress: NUL }), 'progress'],
  ['a done output with NUL', (api, f) => api.done({ ...lease(f), output: { log: NUL } }), 'output.log'],
  ['a done output key with a lone surrogate', (api, f) => api.done({ ...lease(f), output: { [HIGH]: true } }), 'output: the key'],
  ['a done output over the limit', (api, f) => api.done({ ...lease(f), output: { log: 'x'.repeat(LIMIT) } }), `at most ${LIMIT}`],
  ['a done output nested too deep', (api, f) => api.done({ ...lease(f), output: nested(MAX_JSON_DEPTH + 1) }), `deeper than ${MAX_JSON_DEPTH}`],
  ['a failure reason with a lone surrogate', (api, f) => api.fail({ ...lease(f), reason: HIGH }), 'reason'],
  ['a release reason with NUL', (api, f) => api.release({ ...lease(f), reason: NUL }), 'reason'],
  ['an escalation message with NUL', (api, f) => api.escalate({ project_id: f.p, task_id: f.task, message: NUL }), 'message'],
  ['a cancel reason with a lone surrogate', (api, f) => api.cancel({ project_id: f.p, task_id: f.task, reason: LOW }), 'reason'],
  ['a message body with a lone surrogate', (api, f) => api.sendMessage({ project_id: f.p, from_agent: 'a', to_agent: 'b', body: HIGH }), 'body'],
  ['a message body with NUL', (api, f) => api.sendMessage({ project_id: f.p, from_agent: 'a', to_agent: 'b', body: NUL }), 'body'],
  ['a message thread id with NUL', (api, f) => api.sendMessage({ project_id: f.p, from_agent: 'a', to_agent: 'b', body: 'hi', thread_id: NUL }), 'thread_id'],
  ['a message recipient with a lone surrogate', (api, f) => api.sendMessage({ project_id: f.p, from_agent: 'a', to_agent: LOW, body: 'hi' }), 'to_agent'],
  ['an inbox read by an agent id with NUL', (api, f) => api.inbox({ project_id: f.p, agent_id: NUL }), 'agent_id'],
  ['a resolution note with NUL', (api, f) => api.resolveEscalation({ project_id: f.p, escalation_id: f.escalation, action: 'unblock', note: NUL }), 'note'],
  // keys a deep merge in a plugin would turn into prototype pollution (the import refuses them too)
  ['a context with a __proto__ key', (api, f) => api.createTask({ project_id: f.p, title: 't', origin: ORIGIN, context: JSON.parse('{"a": {"__proto__": {"polluted": true}}}') }), 'context.a: the key "__proto__"'],
  ['a done output with constructor.prototype', (api, f) => api.done({ ...lease(f), output: JSON.parse('{"constructor": {"prototype": {"polluted": true}}}') }), 'output.constructor: the key "prototype"'],
  ['an update of the context with a __proto__ key', (api, f) => api.updateTask({ project_id: f.p, task_id: f.task, context: JSON.parse('{"__proto__": {}}') }), 'context: the key "__proto__"'],
  ['a resolution output over the limit', (api, f) => api.resolveEscalation({ project_id: f.p, escalation_id: f.escalation, action: 'done', output: { x: 'y'.repeat(LIMIT) } }), `at most ${LIMIT}`],
];

function suite(name: string, open: () => Promise<{ api: LoomApi; pool: pg.Pool; close(): Promise<void> }>): void {
  describe(`unstorable input: ${name}`, () => {
    let target: { api: LoomApi; pool: pg.Pool; close(): Promise<void> };
    let f: Fixture;
    const footprint = async (): Promise<number[]> => {
      const r = await target.pool.query(
        `SELECT (SELECT count(*)::int FROM projects) AS projects, (SELECT count(*)::int FROM tasks) AS tasks,
                (SELECT count(*)::int FROM events) AS events, (SELECT count(*)::int FROM messages) AS messages,
                (SELECT count(*)::int FROM escalations) AS escalations,
                (SELECT coalesce(sum(revision), 0)::int FROM tasks) AS revisions`,
      );
      return Object.values(r.rows[0] as Record<string, number>);
    };

    beforeAll(async () => {
      target = await open();
      const api = target.api;
      const p = (await api.createProject({ name: name })).id;
      const task = (await api.createTask({ project_id: p, title: 'open task', origin: ORIGIN })).id;
      const held = (await api.createTask({ project_id: p, title: 'held task', origin: ORIGIN, priority: 'p0' })).id;
      const c = await api.claim({ project_id: p, agent_id: AGENT, task_id: held });
      if (!c.claimed) throw new Error('could not claim the fixture task');
      const stuck = (await api.createTask({ project_id: p, title: 'escalated task', origin: ORIGIN })).id;
      const { escalation } = await api.escalate({ project_id: p, task_id: stuck, message: 'help' });
      f = { p, task, claimed: { task_id: held, token: c.lease.token }, escalation: escalation.id };
    });
    afterAll(async () => target?.close());

    it.each(CASES)('refuses %s with VALIDATION_FAILED naming the field, and writes nothing', async (_what, call, where) => {
      const before = await footprint();
      const error = await call(target.api, f).then(
        () => null,
        (e: unknown) => e,
      );
      expect(LoomError.is(error), String(error)).toBe(true);
      expect(error).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect((error as LoomError).message).toContain(where);
      expect((error as LoomError).hint).toBeTruthy();
      expect(await footprint()).toEqual(before);
    });

    it('still stores well-formed text: astral characters, combining marks, right-to-left, escapes', async () => {
      const title = 'Fix 😀 in naïve café — עברית \\u0000 literal';
      const t = await target.api.createTask({ project_id: f.p, title, origin: ORIGIN, context: { '😀': ['\u{1F600}', 'e\u0301'] } });
      const read = (await target.api.status({ project_id: f.p, task_id: t.id })).task;
      expect(read.title).toBe(title);
      expect(read.context).toEqual({ '😀': ['\u{1F600}', 'e\u0301'] });
    });

    it('keeps a session-less claim working after a refused agent id (nothing was adopted)', async () => {
      await expect(target.api.claim({ project_id: f.p, agent_id: NUL })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      const r = await target.api.claim({ project_id: f.p, agent_id: 'agent-2' });
      expect(r.claimed).toBe(true);
    });
  });
}

const SETTINGS = { max_context_bytes: LIMIT, max_output_bytes: LIMIT };

describe('on Postgres', () => {
  const pg = usePgServices('unstorable', SETTINGS);
  let pool: pg.Pool;
  beforeAll(async () => {
    const { default: pgModule } = await import('pg');
    pool = new pgModule.Pool({ connectionString: pg.url(), max: 2 });
  });
  afterAll(async () => pool?.end());
  suite('postgres', async () => ({ api: pg.service(), pool, close: async () => {} }));
});

suite('embedded (PGlite)', () => openEmbeddedService({ settings: SETTINGS }));
