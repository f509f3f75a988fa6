/** The server itself: what it lists, how it reports failures, tool groups, and the event forwarding. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLoomMcpServer } from '../../src/adapters/mcp/loom-mcp-server.js';
import { EventForwarder, TASK_EVENT_METHOD, type TaskEventNotification } from '../../src/adapters/mcp/notifications.js';
import { sanitizeClientName } from '../../src/adapters/mcp/session.js';
import { LoomError } from '../../src/domain/errors.js';
import type { LoomEvent } from '../../src/domain/events.js';
import type { LoomApi } from '../../src/ports/loom-api.js';
import type { ProjectContext } from '../../src/ports/loom-connector.js';
import { connect, newProject, openBackend, waitFor, type Backend } from './harness.js';

let b: Backend;
beforeAll(async () => {
  b = await openBackend();
});
afterAll(async () => {
  await b.close();
});

const CORE = [
  'loom_ready', 'loom_claim', 'loom_heartbeat', 'loom_done', 'loom_fail', 'loom_recover', 'loom_create',
  'loom_update', 'loom_status', 'loom_graph', 'loom_escalate', 'loom_message', 'loom_inbox',
];

/** A LoomApi whose every method throws `error`: for failures the real service cannot be made to produce. */
function throwingApi(error: unknown): LoomApi {
  return new Proxy({} as LoomApi, {
    get: (_t, prop) => (prop === 'then' ? undefined : async () => {
      throw error;
    }),
  });
}

describe('tools/list', () => {
  it('lists the core tools under 12,000 characters of JSON', async () => {
    const project = await newProject(b.api);
    const s = await connect(b, project, { toolGroups: ['core'] });
    const listed = await s.client.listTools();
    expect(listed.tools.map((t) => t.name)).toEqual(CORE);
    const size = JSON.stringify(listed).length;
    console.log(`core tools/list: ${size} characters of JSON`);
    expect(size).toBeLessThan(12_000);
    await s.close();
  });

  it('every tool of the default groups (core, planning) has a description, a closed object schema, and readOnlyHint exactly on the reads', async () => {
    const project = await newProject(b.api);
    const s = await connect(b, project);
    const { tools } = await s.client.listTools();
    for (const t of tools) {
      expect(t.description!.length).toBeGreaterThan(20);
      expect(t.inputSchema).toMatchObject({ type: 'object', additionalProperties: false });
      const nested = Object.values(t.inputSchema.properties ?? {}).filter((p) => (p as { type?: string }).type === 'object' && (p as { properties?: object }).properties);
      for (const p of nested) expect(p).toMatchObject({ additionalProperties: false });
    }
    const reads = tools.filter((t) => t.annotations?.readOnlyHint === true).map((t) => t.name);
    expect(reads.sort()).toEqual(['loom_graph', 'loom_inbox', 'loom_ready', 'loom_skills', 'loom_status']);
    expect(tools.find((t) => t.name === 'loom_claim')!.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false });
    await s.close();
  });

  it('identifies itself as loom with tools and logging', async () => {
    const project = await newProject(b.api);
    const s = await connect(b, project);
    expect(s.client.getServerVersion()).toMatchObject({ name: 'loom', version: '0.0.0-test' });
    expect(s.client.getServerCapabilities()).toMatchObject({ tools: {}, logging: {} });
    expect(s.client.getInstructions()).toMatch(/loom_claim/);
    await s.close();
  });
});

describe('tool groups', () => {
  it('an unknown group is a config error', () => {
    const project: ProjectContext = { project_dir: '/x', project_id: 'p', mode: 'server' };
    let thrown: unknown;
    try {
      createLoomMcpServer({ api: b.api, events: { subscribe: () => () => {} }, project, version: '0', toolGroups: ['core', 'wizardry'] });
    } catch (e) {
      thrown = e;
    }
    expect(LoomError.is(thrown) && thrown.code).toBe('CONFIG_INVALID');
    expect((thrown as LoomError).message).toContain('wizardry');
  });

  it('tools of groups not enabled are neither listed nor callable', async () => {
    const project = await newProject(b.api);
    const s = await connect(b, project, { toolGroups: [] });
    expect((await s.client.listTools()).tools).toEqual([]);
    const r = await s.call('loom_create', { title: 'x' });
    expect(r.data.error.code).toBe('VALIDATION_FAILED');
    expect((await b.api.overview({ project_id: project.project_id })).total).toBe(0);
    await s.close();
  });
});

describe('loom_claim with count', () => {
  it('claims several tasks at once; the session keeps every lease, so loom_done needs none', async () => {
    const project = await newProject(b.api, 'claim-count');
    for (let i = 0; i < 3; i++) await b.api.createTask({ project_id: project.project_id, title: `t${i}`, origin: { kind: 'test', id: 'mcp' } });
    const s = await connect(b, project);
    const r = await s.ok('loom_claim', { count: 5 });
    expect(r.claimed).toBe(true);
    expect(r.claims).toHaveLength(3);
    for (const c of r.claims as Array<{ task: { id: string } }>) expect((await s.ok('loom_done', { task_id: c.task.id })).task.status).toBe('done');
    expect(await s.ok('loom_claim', { count: 2 })).toMatchObject({ claimed: false, claims: [] });
    for (const args of [{ count: 0 }, { count: 101 }, { count: 2, task_id: 'loom-00000001' }]) {
      const bad = await s.call('loom_claim', args);
      expect(bad.isError, JSON.stringify(args)).toBe(true);
      expect(bad.data.error.code).toBe('VALIDATION_FAILED');
    }
    await s.close();
  });
});

describe('errors for models', () => {
  const project: ProjectContext = { project_dir: '/x', project_id: 'p', mode: 'server' };

  it('anything that is not a LoomError becomes INTERNAL: no stack, no SQL, and it is logged', async () => {
    const lines: string[] = [];
    const raw = new Error('relation "tasks" does not exist: SELECT * FROM tasks WHERE project_id = $1');
    const s = await connect({ api: throwingApi(raw), bus: b.bus }, project, { log: (l) => lines.push(l) });
    const r = await s.call('loom_ready');
    expect(r.isError).toBe(true);
    expect(r.data.error).toEqual({ code: 'INTERNAL', message: 'internal error', hint: expect.stringMatching(/loom_escalate/) });
    expect(r.text).not.toMatch(/SELECT|relation|at /);
    expect(lines.join('\n')).toContain('relation "tasks" does not exist');
    await s.close();
  });

  it('an INTERNAL LoomError (e.g. relayed by a daemon with driver text) is not shown either', async () => {
    const lines: string[] = [];
    const relayed = new LoomError('INTERNAL', 'internal error in the Loom daemon: duplicate key value violates unique constraint "tasks_pkey"', { hint: 'see .loom/daemon.log' });
    const s = await connect({ api: throwingApi(relayed), bus: b.bus }, project, { log: (l) => lines.push(l) });
    const r = await s.call('loom_status');
    expect(r.data.error).toEqual({ code: 'INTERNAL', message: 'internal error', hint: 'see .loom/daemon.log' });
    expect(lines.join('\n')).toContain('tasks_pkey');
    await s.close();
  });

  it('a removed project answers PROJECT_REMOVED as a coded tool error, with a hint for the model', async () => {
    const removed = await newProject(b.api, 'removed');
    const s = await connect(b, removed);
    await b.api.removeProject({ project_id: removed.project_id });
    for (const [tool, args] of [['loom_create', { title: 'more work' }], ['loom_claim', {}]] as const) {
      const r = await s.call(tool, args);
      expect(r.isError).toBe(true);
      expect(r.data.error).toMatchObject({ code: 'PROJECT_REMOVED', hint: expect.stringContaining('Stop working on it') });
    }
    await s.close();
  });

  it('NO_PROJECT says to run loom init', async () => {
    const s = await connect({ api: throwingApi(new LoomError('NO_PROJECT', 'no Loom project found from /tmp/x')), bus: b.bus }, project);
    const r = await s.call('loom_ready');
    expect(r.data.error.code).toBe('NO_PROJECT');
    expect(r.data.error.hint).toContain('run `loom init` in the project directory');
    await s.close();
  });

  it('a project missing from the database is PROJECT_NOT_FOUND with a loom init hint', async () => {
    const s = await connect(b, { project_dir: '/x', project_id: 'no-such-project', mode: 'server' });
    const r = await s.call('loom_create', { title: 'x' });
    expect(r.data.error.code).toBe('PROJECT_NOT_FOUND');
    expect(r.data.error.hint).toMatch(/loom init/);
    await s.close();
  });
});

describe('notifications', () => {
  const event = (id: number): LoomEvent => ({ id, project_id: 'p', type: 'task.created', task_id: 'loom-0000000a', agent_id: 'a', payload: {}, at: new Date(0).toISOString() });

  it('the subscriber never waits: a stuck client loses the oldest events beyond 1,000, logged once', async () => {
    const sent: number[] = [];
    const lines: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const dropped: number[] = [];
    const f = new EventForwarder({
      send: async (n) => {
        await gate;
        sent.push(n.params.event_id);
      },
      log: (l) => lines.push(l),
      onDropped: (c) => dropped.push(c),
    });
    // CPU time, not wall time: on a loaded machine the wall clock also counts other processes' turns.
    const started = process.cpuUsage();
    for (let i = 1; i <= 1500; i++) expect(f.push(event(i))).toBeUndefined();
    const cpu = process.cpuUsage(started);
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(200);
    expect(f.queued).toBe(1000);
    expect(lines).toHaveLength(1);
    await new Promise((r) => setImmediate(r)); // the pump takes the first queued event and waits on the client
    for (let i = 1501; i <= 1510; i++) f.push(event(i));
    release();
    await waitFor(() => sent.length >= 1001, 'the queue to drain');
    await new Promise((r) => setTimeout(r, 50)); // room for a stray one
    // 501 was in flight; the 10 late events pushed 502..510 out of the full queue.
    expect(sent).toEqual([501, ...Array.from({ length: 1000 }, (_, i) => 511 + i)]);
    expect(dropped).toEqual([509]);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/dropped 509/);
  });

  it('a failing send is logged, the next events still go out', async () => {
    const lines: string[] = [];
    const sent: TaskEventNotification[] = [];
    let n = 0;
    const f = new EventForwarder({
      send: async (x) => {
        if (n++ === 0) throw new Error('Not connected');
        sent.push(x);
      },
      log: (l) => lines.push(l),
    });
    f.push(event(1));
    f.push(event(2));
    await waitFor(() => sent.length >= 1, 'the second event');
    expect(lines).toEqual([expect.stringMatching(/could not send task.created event 1: Not connected/)]);
    expect(sent.map((x) => [x.method, x.params.event_id])).toEqual([[TASK_EVENT_METHOD, 2]]);
  });

  it('close() unsubscribes from the event source', async () => {
    const project = await newProject(b.api);
    let subscribed = 0;
    const events = {
      subscribe: (p: string, h: (e: LoomEvent) => void) => {
        subscribed++;
        const off = b.bus.subscribe(p, h);
        return () => {
          subscribed--;
          off();
        };
      },
    };
    const s = await connect({ api: b.api, bus: { ...b.bus, subscribe: events.subscribe } }, project);
    expect(subscribed).toBe(1);
    await s.mcp.close();
    expect(subscribed).toBe(0);
    await s.client.close();
  });
});

describe('agent ids from client names', () => {
  it.each([
    ['Claude Code', 'claude-code'],
    ['  ', 'agent'],
    [undefined, 'agent'],
    ['ÄÖÜ tool/v2!!', 'tool-v2'],
    ['x'.repeat(100), 'x'.repeat(40)],
  ])('%j -> %s', (name, id) => {
    expect(sanitizeClientName(name)).toBe(id);
  });
});
