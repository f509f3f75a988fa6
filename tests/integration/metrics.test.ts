/**
 * Metrics on real Postgres: after a scripted run (create, claim, done, retry,
 * dead letter, escalate, lease expiry) the scraped counts equal what the
 * database holds; the exposition parses strictly; /metrics of the HTTP server
 * wants the bearer token; MCP tool calls are timed by tool and outcome.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLoomHttpServer, type LoomHttpServer } from '../../src/adapters/mcp/http-server.js';
import { PrometheusMetrics } from '../../src/adapters/prometheus/prometheus-metrics.js';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { serviceForPool } from '../../src/app/service-factory.js';
import type { LoomApi } from '../../src/ports/loom-api.js';
import type { EventBus } from '../../src/ports/event-bus.js';
import type { TaskStore } from '../../src/ports/task-store.js';
import { createTestDatabase, eventsSettled, type TestDatabase } from '../support/databases.js';
import { parsePrometheusText, sampleValue } from '../support/prom-text.js';
import { connect } from '../mcp/harness.js';

const origin = { kind: 'test', id: 't' };
let db: TestDatabase;
let pool: pg.Pool;
let api: LoomApi;
let bus: EventBus;
let store: TaskStore;
let projectId: string;

beforeAll(async () => {
  db = await createTestDatabase('metrics');
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  await migrate(pool);
  ({ service: api, bus, store } = serviceForPool(pool, { ownsPool: false, settings: { retry: { base_ms: 60_000, factor: 2, max_ms: 60_000 } } }));
  projectId = (await api.createProject({ name: 'metrics' })).id;
});
afterAll(async () => {
  await api.close();
  await pool.end();
  await db.drop();
});

/** Claims this task (or the next ready one) as `agent`. */
async function claim(agent: string, task_id?: string) {
  const r = await api.claim({ project_id: projectId, agent_id: agent, ...(task_id === undefined ? {} : { task_id }) });
  if (!r.claimed) throw new Error(`nothing claimed: ${r.reason}`);
  return { project_id: projectId, task_id: r.task.id, agent_id: agent, lease_token: r.lease.token };
}

async function scriptedRun(): Promise<void> {
  const create = (title: string, more: Record<string, unknown> = {}) => api.createTask({ project_id: projectId, title, origin, ...more });
  const a = await create('a');
  const b = await create('b', { depends_on: [a.id] });
  const c = await create('c', { max_attempts: 3 });
  const d = await create('d', { max_attempts: 1 });
  const e = await create('e');
  await create('f');
  await api.done(await claim('ann', a.id)); // b becomes ready
  await api.done(await claim('bob', b.id));
  await api.fail({ ...(await claim('ann', c.id)), reason: 'flaky' }); // retrying, backoff of a minute
  await api.fail({ ...(await claim('bob', d.id)), reason: 'broken' }); // dead letter (+ escalation)
  await api.escalate({ project_id: projectId, task_id: e.id, message: 'which way?' });
  // A lease that runs out, then the tick takes it back.
  const lease = await api.claim({ project_id: projectId, agent_id: 'cid', lease_seconds: 1 });
  expect(lease.claimed).toBe(true);
  await new Promise((r) => setTimeout(r, 1100));
  await api.reconcile({ project_id: projectId });
}

/** The same figures counted straight from the tables. */
async function fromDatabase() {
  const q = async (sql: string) => (await pool.query(sql, [projectId])).rows;
  const byType = Object.fromEntries((await q('SELECT type, count(*)::int AS n FROM events WHERE project_id = $1 GROUP BY type')).map((r) => [r.type, r.n]));
  return {
    tasks: Object.fromEntries((await q('SELECT status, count(*)::int AS n FROM tasks WHERE project_id = $1 GROUP BY status')).map((r) => [r.status, r.n])),
    ready: (await q(`SELECT count(*)::int AS n FROM tasks WHERE project_id = $1 AND status = 'pending' AND held_at IS NULL AND unmet_deps = 0 AND (run_after IS NULL OR run_after <= now())`))[0].n,
    open_escalations: (await q(`SELECT count(*)::int AS n FROM escalations WHERE project_id = $1 AND status = 'open'`))[0].n,
    counters: {
      claims: byType['task.claimed'] ?? 0,
      completions: byType['task.done'] ?? 0,
      failures: byType['task.failed'] ?? 0,
      lease_expiries: byType['task.lease_expired'] ?? 0,
      retries: byType['task.retrying'] ?? 0,
      dead_letters: byType['task.dead_lettered'] ?? 0,
    },
  };
}

describe('metrics after a scripted run', () => {
  it('the scraped counts equal the database, and the exposition parses', async () => {
    await scriptedRun();
    await eventsSettled(pool); // a scrape stops where the outbox relay would: see eventsSettled
    const m = await api.metrics({ project_id: projectId });
    const want = await fromDatabase();
    expect(Object.fromEntries(Object.entries(m.tasks).filter(([, n]) => n > 0))).toEqual(want.tasks);
    expect(m.ready).toBe(want.ready);
    expect(m.open_escalations).toBe(want.open_escalations);
    expect(m.counters).toEqual(want.counters);
    // Each counter moved in this run: a zero here would mean the script missed a path.
    for (const n of Object.values(m.counters)) expect(n).toBeGreaterThan(0);
    expect(m.claim_to_done_seconds.count).toBe(2);
    expect(m.claim_to_done_seconds.buckets.at(-1)!.count).toBe(2);
    expect(m.agents.active + m.agents.idle + m.agents.gone).toBe(3);
    expect(m.events_behind).toBe(0);

    const text = await new PrometheusMetrics().render([m]);
    const { types, samples } = parsePrometheusText(text);
    expect(types.get('loom_claims_total')).toBe('counter');
    expect(types.get('loom_claim_to_done_seconds')).toBe('histogram');
    const project = projectId;
    for (const [status, n] of Object.entries(want.tasks)) expect(sampleValue(samples, 'loom_tasks', { project, status })).toBe(n);
    expect(sampleValue(samples, 'loom_ready_tasks', { project })).toBe(want.ready);
    expect(sampleValue(samples, 'loom_open_escalations', { project })).toBe(want.open_escalations);
    expect(sampleValue(samples, 'loom_claims_total', { project })).toBe(want.counters.claims);
    expect(sampleValue(samples, 'loom_completions_total', { project })).toBe(want.counters.completions);
    expect(sampleValue(samples, 'loom_failures_total', { project })).toBe(want.counters.failures);
    expect(sampleValue(samples, 'loom_lease_expiries_total', { project })).toBe(want.counters.lease_expiries);
    expect(sampleValue(samples, 'loom_retries_total', { project })).toBe(want.counters.retries);
    expect(sampleValue(samples, 'loom_dead_letters_total', { project })).toBe(want.counters.dead_letters);
    expect(sampleValue(samples, 'loom_claim_to_done_seconds_count', { project })).toBe(2);
  });

  it('a second scrape counts only what happened since, once', async () => {
    await eventsSettled(pool);
    const before = await api.metrics({ project_id: projectId });
    const again = await api.metrics({ project_id: projectId });
    expect(again.counters).toEqual(before.counters);
    const t = await api.createTask({ project_id: projectId, title: 'one more', origin, priority: 'p0' });
    await api.done(await claim('ann', t.id));
    await eventsSettled(pool);
    const after = await api.metrics({ project_id: projectId });
    expect(after.counters.claims).toBe(before.counters.claims + 1);
    expect(after.counters.completions).toBe(before.counters.completions + 1);
    expect(after.claim_to_done_seconds.count).toBe(before.claim_to_done_seconds.count + 1);
    expect(after.counters).toEqual((await fromDatabase()).counters);
  });
});

describe('relay lag', () => {
  it('is read only when asked (a relay runs), from the first event the relay has not published', async () => {
    expect((await api.metrics({ project_id: projectId })).relays).toEqual([]); // no Redis here: no relay
    // No relay ever moved this database's cursor: its first unpublished event is the oldest.
    const first = (await pool.query(`SELECT min(at) AS at FROM events`)).rows[0].at as Date;
    const m = await store.metrics(projectId, { relays: true });
    expect(m.relays).toEqual([{ name: 'redis', oldest_at: first.toISOString() }]);
  });
});

describe('scrapers at once', () => {
  it('several scrapes in parallel, from two processes, count each event once', async () => {
    const other = new pg.Pool({ connectionString: db.url, max: 4 });
    const { service: second } = serviceForPool(other, { ownsPool: false });
    try {
      for (let i = 0; i < 10; i++) {
        const t = await api.createTask({ project_id: projectId, title: `parallel ${i}`, origin, priority: 'p0' });
        await api.done(await claim(`p${i % 3}`, t.id));
      }
      await eventsSettled(pool);
      await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? api : second).metrics({ project_id: projectId })));
      const m = await second.metrics({ project_id: projectId });
      expect(m.counters).toEqual((await fromDatabase()).counters);
    } finally {
      await second.close();
      await other.end();
    }
  });
});

describe('/metrics of the HTTP server', () => {
  let http: LoomHttpServer;
  let url: string;
  const token = 'metrics-test-token-0123456789';
  const prometheus = new PrometheusMetrics();
  beforeAll(async () => {
    http = createLoomHttpServer({
      api,
      events: { subscribe: (p, h) => bus.subscribe(p, h) },
      project: { project_dir: '/nonexistent', project_id: projectId, mode: 'server' },
      token,
      version: '0.0.0-test',
      toolLatency: prometheus,
      metrics: async (id) => ({ contentType: prometheus.contentType, body: await prometheus.render([await api.metrics({ project_id: id })]) }),
    });
    const a = await http.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${a.port}`;
  });
  afterAll(async () => {
    await http.close();
  });

  it('refuses a scrape without the token, or with another', async () => {
    const none = await fetch(`${url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await none.text()).not.toContain('loom_tasks');
    expect((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
  });

  it('serves the exposition with the token, and 404 for an unknown project', async () => {
    await eventsSettled(pool);
    const r = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const { samples } = parsePrometheusText(await r.text());
    expect(sampleValue(samples, 'loom_claims_total', { project: projectId })).toBe((await fromDatabase()).counters.claims);
    expect((await fetch(`${url}/projects/nope/metrics`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
  });

  it('times MCP tool calls by tool and outcome', async () => {
    const s = await connect({ api, bus }, { project_dir: '/nonexistent', project_id: projectId, mode: 'server' }, { toolLatency: prometheus });
    await s.ok('loom_ready', {});
    const bad = await s.call('loom_status', { task_id: 'loom-00000000' });
    expect(bad.isError).toBe(true);
    await s.close();
    const { samples } = parsePrometheusText(await prometheus.render([]));
    expect(sampleValue(samples, 'loom_mcp_tool_duration_seconds_count', { project: projectId, tool: 'loom_ready', code: 'ok' })).toBe(1);
    expect(sampleValue(samples, 'loom_mcp_tool_duration_seconds_count', { project: projectId, tool: 'loom_status', code: 'TASK_NOT_FOUND' })).toBe(1);
  });
});
