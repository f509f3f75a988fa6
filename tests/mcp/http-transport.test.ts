/**
 * MCP over Streamable HTTP (`loom serve`'s adapter), in-process on a real
 * node:http server and the real LoomService over PGlite, driven by the SDK's
 * StreamableHTTPClientTransport and by raw requests: the bearer token guards
 * every request before anything is read or touched; a session is bound to
 * the project it was opened on and can neither see nor change another
 * project's tasks; notifications stay within the project.
 */
import { request } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Notification } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLoomHttpServer, type LoomHttpServer, type LoomHttpServerOptions } from '../../src/adapters/mcp/http-server.js';
import { TASK_EVENT_METHOD } from '../../src/adapters/mcp/notifications.js';
import { allEvents, newProject, openBackend, waitFor, type Backend } from './harness.js';

const TOKEN = 'a'.repeat(24) + 'b'.repeat(40);
const origin = { kind: 'test', id: 'setup' };
const ACCEPT = 'application/json, text/event-stream';
const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};
const createCall = (title: string) => ({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'loom_create', arguments: { title } } });

let b: Backend;
let http: LoomHttpServer;
let base: string;
let x: string; // the project served at /mcp
let y: string; // another project of the same database
const prepared: string[] = [];
const logLines: string[] = [];
const open: HttpSession[] = [];

beforeAll(async () => {
  b = await openBackend();
  const px = await newProject(b.api, 'x');
  x = px.project_id;
  y = (await newProject(b.api, 'y')).project_id;
  http = createLoomHttpServer({
    api: b.api,
    events: { subscribe: (p, h) => b.bus.subscribe(p, h) },
    project: px,
    token: TOKEN,
    version: '0.0.0-test',
    toolGroups: ['core', 'admin'],
    log: (line) => logLines.push(line),
    prepareProject: async (id) => {
      prepared.push(id);
    },
    maxBodyBytes: 64 * 1024,
  });
  const { port } = await http.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  await Promise.all(open.map((s) => s.close()));
  await http?.close();
  await b?.close();
});

interface ToolCall {
  isError: boolean;
  data: Record<string, any>;
}

interface HttpSession {
  client: Client;
  transport: StreamableHTTPClientTransport;
  sessionId: string;
  notifications: Notification[];
  call(name: string, args?: Record<string, unknown>): Promise<ToolCall>;
  ok(name: string, args?: Record<string, unknown>): Promise<Record<string, any>>;
  close(): Promise<void>;
}

async function connectHttp(path: string, token: string | undefined = TOKEN, name = 'http-test'): Promise<HttpSession> {
  const transport = new StreamableHTTPClientTransport(
    new URL(path, base),
    token === undefined ? {} : { requestInit: { headers: { Authorization: `Bearer ${token}` } } },
  );
  const client = new Client({ name, version: '1.0.0' });
  const notifications: Notification[] = [];
  client.fallbackNotificationHandler = async (n) => {
    notifications.push(n);
  };
  await client.connect(transport);
  const call = async (tool: string, args: Record<string, unknown> = {}): Promise<ToolCall> => {
    const r = await client.callTool({ name: tool, arguments: args });
    return { isError: r.isError === true, data: r.structuredContent as Record<string, any> };
  };
  const s: HttpSession = {
    client,
    transport,
    sessionId: transport.sessionId!,
    notifications,
    call,
    async ok(tool, args) {
      const r = await call(tool, args);
      if (r.isError) throw new Error(`${tool} failed: ${JSON.stringify(r.data)}`);
      return r.data;
    },
    close: () => client.close(),
  };
  open.push(s);
  return s;
}

async function raw(path: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}) {
  const res = await fetch(new URL(path, base), {
    method: init.method ?? 'POST',
    headers: { accept: ACCEPT, 'content-type': 'application/json', ...init.headers },
    ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    // an SSE answer
  }
  return { status: res.status, headers: res.headers, text, json };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const taskCount = async (project_id: string): Promise<number> => Object.values((await b.api.overview({ project_id })).counts as Record<string, number>).reduce((a, n) => a + n, 0);

describe('the bearer token', () => {
  it('a request without a token gets 401 with WWW-Authenticate and a coded body, and touches nothing', async () => {
    const s = await connectHttp('/mcp');
    const tasksBefore = await taskCount(x);
    const eventsBefore = (await allEvents(b.api, x)).length;
    const sessionsBefore = http.sessions().length;

    const init = await raw('/mcp', { body: INIT });
    expect(init.status).toBe(401);
    expect(init.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
    expect(init.json).toMatchObject({ code: 'UNAUTHORIZED', message: expect.any(String), hint: expect.stringContaining('Authorization: Bearer') });
    expect(init.headers.get('mcp-session-id')).toBeNull();

    // Even carrying a live session id, a tool call without the token does nothing.
    const create = await raw('/mcp', { headers: { 'mcp-session-id': s.sessionId, 'mcp-protocol-version': '2025-06-18' }, body: createCall('sneaky') });
    expect(create.status).toBe(401);
    expect(create.json.code).toBe('UNAUTHORIZED');
    const del = await raw('/mcp', { method: 'DELETE', headers: { 'mcp-session-id': s.sessionId } });
    expect(del.status).toBe(401);

    // Every path and method: the token is checked before routing.
    for (const [method, path] of [['GET', '/mcp'], ['POST', `/projects/${y}/mcp`], ['GET', '/nowhere'], ['PUT', '/mcp'], ['OPTIONS', '/mcp']] as const) {
      const r = await raw(path, { method, ...(method === 'POST' ? { body: INIT } : {}) });
      expect(r.status, `${method} ${path}`).toBe(401);
      expect(r.json.code).toBe('UNAUTHORIZED');
    }

    // The SDK client without a token cannot connect.
    const bare = new Client({ name: 'no-token', version: '1' });
    await expect(bare.connect(new StreamableHTTPClientTransport(new URL('/mcp', base)))).rejects.toMatchObject({ code: 401 });

    expect(await taskCount(x)).toBe(tasksBefore);
    expect((await allEvents(b.api, x)).length).toBe(eventsBefore);
    expect(http.sessions().length).toBe(sessionsBefore);
    expect((await s.ok('loom_ready')).tasks.map((t: any) => t.title)).not.toContain('sneaky'); // the session lives on
  });

  it('a wrong token gets 401: another token, a prefix, a longer one, another scheme, an empty one', async () => {
    const wrong = [
      bearer('c'.repeat(64)),
      bearer(TOKEN.slice(0, -1)),
      bearer(`${TOKEN}x`),
      bearer(TOKEN.toUpperCase()),
      { authorization: `Basic ${Buffer.from(`loom:${TOKEN}`).toString('base64')}` },
      { authorization: TOKEN },
      { authorization: 'Bearer ' },
      { authorization: `Bearer ${TOKEN} extra` },
    ];
    for (const headers of wrong) {
      const r = await raw('/mcp', { headers, body: INIT });
      expect(r.status, headers.authorization).toBe(401);
      expect(r.json.code).toBe('UNAUTHORIZED');
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
    }
    const client = new Client({ name: 'wrong-token', version: '1' });
    const transport = new StreamableHTTPClientTransport(new URL('/mcp', base), { requestInit: { headers: { Authorization: 'Bearer nope-nope-nope-nope' } } });
    await expect(client.connect(transport)).rejects.toMatchObject({ code: 401 });
  });

  it('answers 401 before reading the body: a request that declares 10 MB and sends 10 bytes is refused at once', async () => {
    const { port } = new URL(base);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/mcp', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(10 * 1024 * 1024) } });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', reject);
      req.write('{"jsonrpc"');
      // never ended: only an answer that does not wait for the body can arrive
    });
    expect(status).toBe(401);
  });

  it('with the right token: initialize, tools/list, loom_create and loom_ready work', async () => {
    const s = await connectHttp('/mcp', TOKEN, 'claude-code');
    expect(s.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(s.client.getServerVersion()).toMatchObject({ name: 'loom', version: '0.0.0-test' });
    const { tools } = await s.client.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['loom_ready', 'loom_claim', 'loom_done', 'loom_create', 'loom_tick']));
    const made = (await s.ok('loom_create', { title: 'over http', priority: 'p0' })).task;
    expect(made.project_id).toBe(x);
    expect((await s.ok('loom_ready')).tasks.map((t: any) => t.id)).toContain(made.id);
    expect(http.sessions()).toContainEqual(expect.objectContaining({ session_id: s.sessionId, project_id: x, agent_id: expect.stringMatching(/^claude-code-[0-9a-f]{6}$/) }));
    // A lower-case scheme is the same scheme (RFC 9110).
    const r = await raw('/mcp', { headers: { authorization: `bearer ${TOKEN}` }, body: { ...INIT, id: 9 } });
    expect(r.status).toBe(200);
    expect(r.headers.get('mcp-session-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('sessions are scoped to one project', () => {
  it("a session of X can neither read, claim, report on nor change Y's task (TASK_NOT_FOUND), and never lists it", async () => {
    const sx = await connectHttp('/mcp', TOKEN, 'agent-x');
    const sy = await connectHttp(`/projects/${y}/mcp`, TOKEN, 'agent-y');
    expect(prepared).toEqual([y]); // Y's start-up tick ran before its first session
    const ty = (await sy.ok('loom_create', { title: 'secret of Y' })).task;
    expect(ty.project_id).toBe(y);
    const tyOther = (await sy.ok('loom_create', { title: 'another of Y' })).task;
    const claim = await sy.ok('loom_claim', { task_id: ty.id });
    expect(claim.claimed).toBe(true);
    const yToken = claim.lease.token as string;
    const before = await b.api.status({ project_id: y, task_id: ty.id });
    const yEvents = (await allEvents(b.api, y)).length;

    const notFound = async (tool: string, args: Record<string, unknown>): Promise<void> => {
      const r = await sx.call(tool, args);
      expect(r.isError, `${tool} ${JSON.stringify(args)}`).toBe(true);
      expect(r.data.error.code, `${tool}`).toBe('TASK_NOT_FOUND');
    };
    await notFound('loom_status', { task_id: ty.id });
    await notFound('loom_claim', { task_id: tyOther.id });
    await notFound('loom_done', { task_id: ty.id });
    await notFound('loom_done', { task_id: ty.id, lease_token: yToken }); // even with Y's real lease
    await notFound('loom_heartbeat', { task_id: ty.id, lease_token: yToken });
    await notFound('loom_fail', { task_id: ty.id, lease_token: yToken, reason: 'x' });
    await notFound('loom_update', { task_id: ty.id, title: 'renamed by X' });
    await notFound('loom_escalate', { task_id: ty.id, message: 'help' });
    const dep = await sx.call('loom_create', { title: 'needs Y', depends_on: [ty.id] });
    expect(dep.data.error.code).toBe('DEPENDENCY_NOT_FOUND');
    // No tool takes a project from its arguments.
    const smuggled = await sx.call('loom_ready', { project_id: y });
    expect(smuggled.isError).toBe(true);
    expect(smuggled.data.error.code).toBe('VALIDATION_FAILED');

    // X's own views never show Y's tasks.
    const xTask = (await sx.ok('loom_create', { title: 'of X' })).task;
    const ready = (await sx.ok('loom_ready', { limit: 1000 })).tasks.map((t: any) => t.id);
    expect(ready).toContain(xTask.id);
    expect(ready).not.toContain(tyOther.id);
    const overview = JSON.stringify(await sx.ok('loom_status'));
    expect(overview).not.toContain(ty.id);
    expect(overview).not.toContain(tyOther.id);
    expect(overview).not.toContain('secret of Y');
    expect(JSON.stringify(await sx.ok('loom_graph'))).not.toContain(ty.id);
    const claimed = await sx.ok('loom_claim'); // the best ready task: X's, never Y's
    expect(claimed.task.project_id).toBe(x);

    // Y's task is exactly as it was; Y's log has nothing new.
    const after = await b.api.status({ project_id: y, task_id: ty.id });
    expect(after.task).toEqual(before.task);
    expect((await allEvents(b.api, y)).length).toBe(yEvents);
    expect((await sy.ok('loom_done', { task_id: ty.id })).task.status).toBe('done');
  });

  it("a session id used on another project's path is refused (404) and touches nothing; the session lives on", async () => {
    const sx = await connectHttp('/mcp');
    const counts = [await taskCount(x), await taskCount(y)];
    const headers = { ...bearer(TOKEN), 'mcp-session-id': sx.sessionId, 'mcp-protocol-version': '2025-06-18' };
    const post = await raw(`/projects/${y}/mcp`, { headers, body: createCall('cross-project') });
    expect(post.status).toBe(404);
    expect(post.json).toMatchObject({ code: 'SESSION_NOT_FOUND', hint: expect.any(String) });
    expect((await raw(`/projects/${y}/mcp`, { method: 'GET', headers })).status).toBe(404);
    expect((await raw(`/projects/${y}/mcp`, { method: 'DELETE', headers })).status).toBe(404);
    expect([await taskCount(x), await taskCount(y)]).toEqual(counts);
    // A Y session's id on /mcp likewise.
    const sy = await connectHttp(`/projects/${y}/mcp`);
    const back = await raw('/mcp', { headers: { ...headers, 'mcp-session-id': sy.sessionId }, body: createCall('cross-project') });
    expect(back.status).toBe(404);
    expect([await taskCount(x), await taskCount(y)]).toEqual(counts);
    // Both sessions still work where they belong (the refused DELETE closed nothing).
    expect((await sx.ok('loom_create', { title: 'still x' })).task.project_id).toBe(x);
    expect((await sy.ok('loom_create', { title: 'still y' })).task.project_id).toBe(y);
    // X's project is also reachable by id, and then the same session fits both paths.
    const viaId = await raw(`/projects/${x}/mcp`, { headers: { ...headers, accept: ACCEPT }, body: { jsonrpc: '2.0', id: 5, method: 'tools/list' } });
    expect(viaId.status).toBe(200);
  });

  it("notifications carry the session's own project's events only", async () => {
    const sx = await connectHttp('/mcp', TOKEN, 'listener-x');
    const sy = await connectHttp(`/projects/${y}/mcp`, TOKEN, 'writer-y');
    const ty = (await sy.ok('loom_create', { title: 'Y event' })).task;
    const tx = (await b.api.createTask({ project_id: x, title: 'X event', origin })).id;
    await waitFor(() => sx.notifications.some((n) => n.method === TASK_EVENT_METHOD && (n.params as any).task_id === tx), 'X task event over HTTP');
    await waitFor(() => sy.notifications.some((n) => (n.params as any)?.task_id === ty.id), 'Y task event over HTTP');
    expect(sx.notifications.some((n) => (n.params as any)?.task_id === ty.id)).toBe(false);
    expect(sy.notifications.some((n) => (n.params as any)?.task_id === tx)).toBe(false);
  });
});

describe('everything else is refused plainly', () => {
  const auth = bearer(TOKEN);

  it('unknown project 404 PROJECT_NOT_FOUND, unknown path 404, other methods 405, no session 400', async () => {
    const missing = await raw('/projects/no-such-project/mcp', { headers: auth, body: INIT });
    expect(missing.status).toBe(404);
    expect(missing.json.code).toBe('PROJECT_NOT_FOUND');
    for (const path of ['/', '/mcp/extra', '/projects/Bad..Id/mcp', '/projects//mcp', '/.well-known/oauth-protected-resource']) {
      const r = await raw(path, { headers: auth, body: INIT });
      expect(r.status, path).toBe(404);
      expect(r.json.code, path).toBe('NOT_FOUND');
    }
    const put = await raw('/mcp', { method: 'PUT', headers: auth, body: INIT });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST, DELETE');
    const noSession = await raw('/mcp', { headers: auth, body: createCall('no session') });
    expect(noSession.status).toBe(400);
    expect(noSession.json.code).toBe('SESSION_REQUIRED');
    expect((await raw('/mcp', { method: 'GET', headers: auth })).status).toBe(400);
    const stale = await raw('/mcp', { headers: { ...auth, 'mcp-session-id': '00000000-0000-4000-8000-000000000000' }, body: createCall('stale') });
    expect(stale.status).toBe(404);
    expect(stale.json.code).toBe('SESSION_NOT_FOUND');
    const bad = await raw('/mcp', { headers: auth, body: '{"jsonrpc": ' });
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('INVALID_JSON');
  });

  it('a body over the limit gets 413, with or without a session', async () => {
    const big = JSON.stringify({ ...createCall('x'.repeat(70 * 1024)) });
    const r = await raw('/mcp', { headers: auth, body: big });
    expect(r.status).toBe(413);
    expect(r.json.code).toBe('PAYLOAD_TOO_LARGE');
    const s = await connectHttp('/mcp');
    const withSession = await raw('/mcp', { headers: { ...auth, 'mcp-session-id': s.sessionId, 'mcp-protocol-version': '2025-06-18' }, body: big });
    expect(withSession.status).toBe(413);
    expect((await s.ok('loom_ready')).tasks.some((t: any) => t.title.startsWith('xxxx'))).toBe(false);
  });

  it('DELETE ends a session: it is gone from the server and its id is refused afterwards', async () => {
    const s = await connectHttp('/mcp');
    const id = s.sessionId;
    expect(http.sessions().map((x) => x.session_id)).toContain(id);
    await s.transport.terminateSession();
    await waitFor(() => !http.sessions().some((x) => x.session_id === id), 'the session to close');
    const r = await raw('/mcp', { headers: { ...auth, 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' }, body: createCall('after delete') });
    expect(r.status).toBe(404);
    expect(logLines.some((l) => l.includes(id.slice(0, 8)) && l.includes('closed'))).toBe(true);
  });
});

/** A server of the test's own on project X (for tests that stop it or tune it). */
function localServer(extra: Partial<LoomHttpServerOptions> = {}): LoomHttpServer {
  return createLoomHttpServer({
    api: b.api,
    events: { subscribe: (p, h) => b.bus.subscribe(p, h) },
    project: { project_dir: '/nonexistent', project_id: x, mode: 'embedded' },
    token: TOKEN,
    version: '0.0.0-test',
    ...extra,
  });
}

describe('shutdown', () => {
  it('close() ends every session and its streams promptly; the port is free again', async () => {
    const local = localServer();
    const { port } = await local.listen(0, '127.0.0.1');
    const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), { requestInit: { headers: bearer(TOKEN) } });
    const client = new Client({ name: 'closing', version: '1' });
    let closed = false;
    client.onclose = () => {
      closed = true;
    };
    client.onerror = () => {};
    await client.connect(transport);
    await client.listTools();
    expect(local.sessions()).toHaveLength(1);
    const t0 = performance.now();
    await local.close();
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(local.sessions()).toEqual([]);
    expect(local.opened).toBe(1);
    await expect(client.listTools()).rejects.toThrow();
    await client.close();
    expect(closed).toBe(true);
    // The port can be bound again.
    const again = createLoomHttpServer({ api: b.api, events: { subscribe: () => () => {} }, project: { project_dir: '/x', project_id: x, mode: 'embedded' }, token: TOKEN, version: '0' });
    await again.listen(port, '127.0.0.1');
    await again.close();
  });

  it('a session with no request and no open stream for sessionIdleMs is closed; one with an open stream is kept', async () => {
    const local = localServer({ sessionIdleMs: 300 });
    const { port } = await local.listen(0, '127.0.0.1');
    try {
      // A raw client that initializes and walks away (no GET stream).
      const init = await fetch(`http://127.0.0.1:${port}/mcp`, {
        method: 'POST',
        headers: { ...bearer(TOKEN), accept: ACCEPT, 'content-type': 'application/json' },
        body: JSON.stringify(INIT),
      });
      await init.text();
      const gone = init.headers.get('mcp-session-id')!;
      // The SDK client keeps its GET stream open.
      const client = new Client({ name: 'stays', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), { requestInit: { headers: bearer(TOKEN) } }));
      await waitFor(() => !local.sessions().some((s) => s.session_id === gone), 'the idle session to close');
      await new Promise((r) => setTimeout(r, 600));
      expect(local.sessions()).toHaveLength(1);
      expect((await client.listTools()).tools.length).toBeGreaterThan(0);
      await client.close();
    } finally {
      await local.close();
    }
  });
});
