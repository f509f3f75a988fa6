/**
 * `loom serve` end to end: the built binary as a subprocess, reached with the
 * SDK's StreamableHTTPClientTransport and raw HTTP. Server mode with two
 * projects in one Postgres database (what a team server holds): requests
 * without or with a wrong token get 401 and write nothing; a session of
 * project X cannot see or change project Y's tasks; a session id does not
 * cross projects; SIGTERM stops it cleanly. Embedded mode serves too, and
 * without a token `loom serve` refuses to start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { LOOM_BIN, loom, loomJson } from '../support/loom-cli.js';
import { parsePrometheusText, sampleValue } from '../support/prom-text.js';
import { until } from '../support/until.js';

const TOKEN = 'e2e-token-0123456789abcdef0123456789abcdef';
const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};
const HEADERS = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };

/** One `loom serve` process; `ready` is its --json start-up document. */
class ServeProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (c: Buffer) => (this.stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (this.stderr += c.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static async start(cwd: string, env: Record<string, string>): Promise<{ proc: ServeProcess; ready: any }> {
    const child = spawn(process.execPath, [LOOM_BIN, 'serve', '--port', '0', '--json'], {
      cwd,
      env: { ...process.env, LOOM_DATABASE_URL: '', LOOM_PROJECT_DIR: '', LOOM_TOKEN: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = new ServeProcess(child);
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        return { proc, ready: JSON.parse(proc.stdout) };
      } catch {
        // not complete yet
      }
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`loom serve did not start:\n${proc.stdout}\n${proc.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

interface Session {
  client: Client;
  sessionId: string;
  call(name: string, args?: Record<string, unknown>): Promise<{ isError: boolean; data: Record<string, any> }>;
  ok(name: string, args?: Record<string, unknown>): Promise<Record<string, any>>;
}

async function session(url: string, name: string): Promise<Session> {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } } });
  const client = new Client({ name, version: '1.0.0' });
  client.onerror = () => {};
  await client.connect(transport);
  const call = async (tool: string, args: Record<string, unknown> = {}) => {
    const r = await client.callTool({ name: tool, arguments: args });
    return { isError: r.isError === true, data: r.structuredContent as Record<string, any> };
  };
  return {
    client,
    sessionId: transport.sessionId!,
    call,
    async ok(tool, args) {
      const r = await call(tool, args);
      if (r.isError) throw new Error(`${tool} failed: ${JSON.stringify(r.data)}`);
      return r.data;
    },
  };
}

async function post(url: string, headers: Record<string, string>, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url, { method: 'POST', headers: { ...HEADERS, ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    // an SSE answer
  }
  return { status: res.status, json };
}

describe('loom serve (server mode: two projects in one Postgres database)', () => {
  let db: TestDatabase;
  let dirX: string;
  let dirY: string;
  let env: Record<string, string>;
  let x: string;
  let y: string;
  let serve: ServeProcess;
  let ready: any;
  const clients: Client[] = [];
  const rows = async (): Promise<{ tasks: number; events: number }> => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const t = await c.query<{ n: string }>('SELECT count(*) AS n FROM tasks');
      const e = await c.query<{ n: string }>('SELECT count(*) AS n FROM events');
      return { tasks: Number(t.rows[0]!.n), events: Number(e.rows[0]!.n) };
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    db = await createTestDatabase('serve_e2e');
    env = { LOOM_DATABASE_URL: db.url };
    dirX = mkdtempSync(join(tmpdir(), 'loom-serve-x-'));
    dirY = mkdtempSync(join(tmpdir(), 'loom-serve-y-'));
    x = (await loomJson(dirX, ['init', '--name', 'team-x'], env)).project.id;
    y = (await loomJson(dirY, ['init', '--name', 'team-y'], env)).project.id;
    ({ proc: serve, ready } = await ServeProcess.start(dirX, { ...env, LOOM_TOKEN: TOKEN }));
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    if (serve !== undefined && serve.child.exitCode === null) {
      serve.child.kill('SIGKILL');
      await serve.exited;
    }
    rmSync(dirX, { recursive: true, force: true });
    rmSync(dirY, { recursive: true, force: true });
    await db?.drop();
  });

  it('prints the URL, the project and a Claude Code snippet', () => {
    expect(ready).toMatchObject({ host: '127.0.0.1', project: { id: x, name: 'team-x' }, mode: 'server', token_source: 'LOOM_TOKEN' });
    expect(ready.url).toBe(`http://127.0.0.1:${ready.port}/mcp`);
    expect(ready.claude_code.command).toBe(`claude mcp add --transport http loom ${ready.url} --header "Authorization: Bearer $LOOM_TOKEN"`);
    expect(ready.claude_code.mcp_json.mcpServers.loom).toEqual({ type: 'http', url: ready.url, headers: { Authorization: 'Bearer ${LOOM_TOKEN}' } });
    expect(ready.claude_code.command).not.toContain(TOKEN);
  });

  it('without a token or with a wrong one: 401, and nothing is written', async () => {
    const before = await rows();
    const urls = [ready.url, `http://127.0.0.1:${ready.port}/projects/${y}/mcp`];
    const create = { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'loom_create', arguments: { title: 'nope' } } };
    for (const url of urls) {
      const tries: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong-token-wrong-token-wrong' }, { authorization: `Bearer ${TOKEN.slice(0, -1)}` }];
      for (const headers of tries) {
        for (const body of [INIT, create]) {
          const r = await post(url, headers, body);
          expect(r.status).toBe(401);
          expect(r.json.code).toBe('UNAUTHORIZED');
        }
      }
    }
    expect(await rows()).toEqual(before);
  });

  it('/metrics: 401 without the token; with it, each project its own exposition', async () => {
    const base = `http://127.0.0.1:${ready.port}`;
    for (const headers of [{}, { authorization: 'Bearer wrong-token-wrong-token-wrong' }] as Array<Record<string, string>>) {
      const r = await fetch(`${base}/metrics`, { headers });
      expect(r.status).toBe(401);
      expect(await r.text()).not.toContain('loom_');
    }
    const counted = await loomJson(dirY, ['create', 'counted'], env);
    const auth = { authorization: `Bearer ${TOKEN}` };
    const own = parsePrometheusText(await (await fetch(`${base}/metrics`, { headers: auth })).text());
    expect(sampleValue(own.samples, 'loom_ready_tasks', { project: x })).toBeTypeOf('number');
    expect(own.samples.some((s) => s.labels.project === y)).toBe(false);
    const other = await fetch(`${base}/projects/${y}/metrics`, { headers: auth });
    expect(other.status).toBe(200);
    const { samples } = parsePrometheusText(await other.text());
    expect(sampleValue(samples, 'loom_tasks', { project: y, status: 'pending' })).toBe((await loomJson(dirY, ['metrics', '--json'], env)).tasks.pending);
    await loomJson(dirY, ['cancel', counted.id], env); // out of the way of the claims below
  });

  it("a session of X cannot read, claim or complete Y's tasks, nor see them; Y's session can", async () => {
    const sx = await session(ready.url, 'agent-x');
    const sy = await session(`http://127.0.0.1:${ready.port}/projects/${y}/mcp`, 'agent-y');
    clients.push(sx.client, sy.client);
    const ty = (await sy.ok('loom_create', { title: 'Y only' })).task;
    expect(ty.project_id).toBe(y);
    const tx = (await sx.ok('loom_create', { title: 'X only' })).task;
    expect(tx.project_id).toBe(x);

    for (const [tool, args] of [
      ['loom_status', { task_id: ty.id }],
      ['loom_claim', { task_id: ty.id }],
      ['loom_done', { task_id: ty.id }],
      ['loom_done', { task_id: ty.id, lease_token: 'any-token' }],
    ] as const) {
      const r = await sx.call(tool, args);
      expect(r.isError, tool).toBe(true);
      expect(r.data.error.code, tool).toBe('TASK_NOT_FOUND');
    }
    const readyX = (await sx.ok('loom_ready', { limit: 1000 })).tasks.map((t: any) => t.id);
    expect(readyX).toEqual([tx.id]);
    expect(JSON.stringify(await sx.ok('loom_status'))).not.toContain(ty.id);
    // The best ready task for X is X's; Y's task is still Y's to claim.
    expect((await sx.ok('loom_claim')).task.id).toBe(tx.id);
    expect((await sx.ok('loom_claim')).claimed).toBe(false);
    expect((await sy.ok('loom_claim')).task.id).toBe(ty.id);
    expect((await sy.ok('loom_done', { task_id: ty.id })).task.status).toBe('done');
    // And the CLI of project Y agrees.
    expect((await loomJson(dirY, ['status', ty.id], env)).task.status).toBe('done');

    // X's session id on Y's path is refused and writes nothing.
    const before = await rows();
    const cross = await post(
      `http://127.0.0.1:${ready.port}/projects/${y}/mcp`,
      { authorization: `Bearer ${TOKEN}`, 'mcp-session-id': sx.sessionId, 'mcp-protocol-version': '2025-06-18' },
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'loom_create', arguments: { title: 'crossing' } } },
    );
    expect(cross.status).toBe(404);
    expect(cross.json.code).toBe('SESSION_NOT_FOUND');
    expect(await rows()).toEqual(before);
    // An unknown project is a 404 with a code.
    const missing = await post(`http://127.0.0.1:${ready.port}/projects/no-such-project/mcp`, { authorization: `Bearer ${TOKEN}` }, INIT);
    expect(missing.status).toBe(404);
    expect(missing.json.code).toBe('PROJECT_NOT_FOUND');
  });

  it('stops within 5 s on SIGTERM with sessions open, exit 0', async () => {
    const s = await session(ready.url, 'left-open');
    clients.push(s.client);
    await s.ok('loom_ready');
    const t0 = performance.now();
    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(serve.stderr).toContain('stopping (SIGTERM)');
  });
});

describe('loom serve (embedded mode)', () => {
  let dir: string;
  const env = { LOOM_DAEMON_IDLE_SECONDS: '60', LOOM_HOME: '' };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loom-serve-embedded-'));
    env.LOOM_HOME = join(dir, 'home'); // no user config: the token comes from the environment or nowhere
    await loomJson(dir, ['init', '--name', 'solo'], env);
  });
  afterAll(async () => {
    await loom(dir, ['daemon', 'stop'], env);
    rmSync(dir, { recursive: true, force: true });
  });

  it('without a token it refuses to start: exit 1, TOKEN_REQUIRED, and a hint on how to get one', async () => {
    const r = await loom(dir, ['serve', '--port', '0'], { ...env, LOOM_TOKEN: '' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('TOKEN_REQUIRED');
    expect(r.stderr).toContain('loom serve --new-token');
    expect(r.stderr).toContain('LOOM_TOKEN');
    const json = await loom(dir, ['serve', '--json'], { ...env, LOOM_TOKEN: '' });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).error.code).toBe('TOKEN_REQUIRED');

    const fresh = await loomJson(dir, ['serve', '--new-token'], env);
    expect(fresh.token).toMatch(/^[0-9a-f]{64}$/);
    const text = await loom(dir, ['serve', '--new-token'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^[0-9a-f]{64}\n/);
    expect(text.stdout).toContain('export LOOM_TOKEN=');
    expect(text.stdout).toContain('~/.loom/config.yaml');
    expect(text.stdout.split('\n')[0]).not.toBe(fresh.token);
  });

  it('serves the project through its daemon, and stops on SIGTERM', async () => {
    const { proc, ready } = await ServeProcess.start(dir, { ...env, LOOM_TOKEN: TOKEN });
    try {
      expect(ready.mode).toBe('embedded');
      const s = await session(ready.url, 'embedded-agent');
      const t = (await s.ok('loom_create', { title: 'over http, embedded' })).task;
      expect((await s.ok('loom_ready')).tasks.map((x: any) => x.id)).toEqual([t.id]);
      expect((await post(ready.url, {}, INIT)).status).toBe(401);
      await s.client.close();
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
      // Written through the daemon: the CLI sees it.
      expect((await loomJson(dir, ['ready'], env)).map((x: any) => x.id)).toEqual([t.id]);
    } finally {
      if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
    }
  });
});

describe('loom serve while a newer Loom migrates its database', () => {
  let db: TestDatabase;
  let dir: string;
  let serve: ServeProcess | undefined;
  beforeAll(async () => {
    db = await createTestDatabase('serve_upgrade');
    dir = mkdtempSync(join(tmpdir(), 'loom-serve-upgrade-'));
    await loomJson(dir, ['init', '--name', 'upgraded'], { LOOM_DATABASE_URL: db.url });
  });
  afterAll(async () => {
    if (serve !== undefined && serve.child.exitCode === null) serve.child.kill('SIGKILL');
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers the call that meets the newer schema with MIGRATION_AHEAD, then stops, exit 1, for its supervisor to restart it with the newer Loom', async () => {
    let ready: any;
    ({ proc: serve, ready } = await ServeProcess.start(dir, { LOOM_DATABASE_URL: db.url, LOOM_TOKEN: TOKEN }));
    const s = await session(ready.url, 'upgrade-client');
    const t = await s.ok('loom_create', { title: 'before the upgrade' });
    // What a newer Loom's migration might do: a new version, and a column the old code names renamed.
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      await admin.query(`INSERT INTO loom_migrations (version, name) VALUES (9000, '9000_from_a_newer_loom')`);
      await admin.query('ALTER TABLE escalations RENAME COLUMN message TO message_text');
    } finally {
      await admin.end();
    }
    const r = await s.call('loom_escalate', { task_id: t.task.id, message: 'help' });
    expect(r.isError).toBe(true);
    expect(r.data.error).toMatchObject({ code: 'MIGRATION_AHEAD', hint: expect.stringContaining('restart this process') });
    await s.client.close().catch(() => undefined);
    const code = await Promise.race([serve.exited, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 30_000))]);
    expect(code).toBe(1);
    expect(serve.stderr).toContain('MIGRATION_AHEAD');
    expect(serve.stderr).toMatch(/stopping/);
  });
});

describe('loom serve with named tokens (serve.tokens: one per person, by hash)', () => {
  let db: TestDatabase;
  let dir: string;
  let serve: ServeProcess | undefined;
  const made: Record<string, { token: string; sha256: string }> = {};
  beforeAll(async () => {
    db = await createTestDatabase('serve_named');
    dir = mkdtempSync(join(tmpdir(), 'loom-serve-named-'));
    await loomJson(dir, ['init', '--name', 'named'], { LOOM_DATABASE_URL: db.url });
    for (const name of ['alice', 'bob']) {
      const t = await loomJson(dir, ['serve', '--new-token', '--name', name]);
      expect(t).toMatchObject({ name, token: expect.stringMatching(/^[0-9a-f]{64}$/), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
      made[name] = t;
    }
    // The hashes go in the project's committed config; no token itself is stored anywhere.
    appendFileSync(join(dir, '.loom', 'config.yaml'), `serve:\n  tokens:\n${Object.entries(made).map(([name, t]) => `    - { name: ${name}, sha256: ${t.sha256} }`).join('\n')}\n`);
  });
  afterAll(async () => {
    if (serve !== undefined && serve.child.exitCode === null) serve.child.kill('SIGKILL');
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts each named token and only those; a session stays with the token that opened it', async () => {
    let ready: any;
    ({ proc: serve, ready } = await ServeProcess.start(dir, { LOOM_DATABASE_URL: db.url }));
    expect(ready).toMatchObject({ token_source: null, token_names: ['alice', 'bob'] });
    const as = (name: string) => ({ authorization: `Bearer ${made[name]!.token}` });
    const alice = await post(ready.url, as('alice'), INIT);
    expect(alice.status).toBe(200);
    expect((await post(ready.url, as('bob'), INIT)).status).toBe(200);
    for (const wrong of [`Bearer ${made.alice!.sha256}`, `Bearer ${TOKEN}`, 'Bearer ']) expect((await post(ready.url, { authorization: wrong }, INIT)).status).toBe(401);
    // alice's session, asked with bob's token: not found (a session is bound to its token)
    const opened = await fetch(ready.url, { method: 'POST', headers: { ...HEADERS, ...as('alice') }, body: JSON.stringify(INIT) });
    const sid = opened.headers.get('mcp-session-id')!;
    await opened.text();
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} };
    const withSession = (name: string) => ({ ...as(name), 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' });
    expect((await post(ready.url, withSession('bob'), list)).status).toBe(404);
    expect((await post(ready.url, withSession('alice'), list)).status).toBe(200);
    // The server log says whose token opened it.
    await post(ready.url, withSession('alice'), { jsonrpc: '2.0', method: 'notifications/initialized' });
    await until(() => /opened \(project .*, token alice\)/.test(serve!.stderr), 'the session-opened log line', 30_000);
    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
  });

  it('a config edit revokes a named token without a restart: its requests get 401, its sessions close; the others keep working', async () => {
    let ready: any;
    ({ proc: serve, ready } = await ServeProcess.start(dir, { LOOM_DATABASE_URL: db.url }));
    const as = (name: string) => ({ authorization: `Bearer ${made[name]!.token}` });
    // alice's own session, over the SDK, with her token
    const transport = new StreamableHTTPClientTransport(new URL(ready.url), { requestInit: { headers: as('alice') } });
    const client = new Client({ name: 'alice', version: '1.0.0' });
    client.onerror = () => {};
    await client.connect(transport);
    await client.callTool({ name: 'loom_ready', arguments: {} });
    const config = join(dir, '.loom', 'config.yaml');
    writeFileSync(config, readFileSync(config, 'utf8').replace(/ {4}- \{ name: alice, [^\n]*\n/, ''));
    await until(() => /tokens reloaded from the config: bob; 1 session\(s\) of tokens no longer accepted closed/.test(serve!.stderr), 'the reload', 60_000, 50);
    expect(serve.stderr).toMatch(/closed: its token \(alice\) is no longer accepted/);
    expect((await post(ready.url, as('alice'), INIT)).status).toBe(401);
    expect((await post(ready.url, as('bob'), INIT)).status).toBe(200);
    await client.close().catch(() => undefined);
    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
  });
});
